using WebRepl.Transport;

namespace WebRepl.Repl;

/// <summary>
/// The terminal side of a connection, as the raw REPL needs it: the board's output to read, input to send. The
/// client's connection implements it; the REPL code knows nothing else of the client.
/// </summary>
internal interface IReplTerminal
{
    /// <summary>The board, for messages.</summary>
    WebReplTarget Target { get; }

    /// <summary>The board's terminal output.</summary>
    TerminalOutput Output { get; }

    /// <summary>Sends terminal bytes as one WebSocket message (the caller holds the client's operation lock).</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken);
}
