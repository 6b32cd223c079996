namespace WebRepl.Mount;

/// <summary>
/// What <see cref="WebReplMount"/> needs of a client beyond its public API: replies to the board's requests written
/// straight to the terminal, with or without the operation lock, and the raw REPL left at once. The client implements
/// it; the mount knows nothing else of the client's internals.
/// </summary>
internal interface IMountChannel
{
    /// <summary>How long the board may stay silent while it owes an answer.</summary>
    TimeSpan ReplyTimeout { get; }

    /// <summary>
    /// Writes <paramref name="bytes"/> to the board's input as they are. With <paramref name="lockHeld"/> the caller runs
    /// inside an operation of the client (an exec) that holds the operation lock; otherwise the lock is taken, so that
    /// no keys typed at the REPL come between the bytes.
    /// </summary>
    Task SendToBoardAsync(ReadOnlyMemory<byte> bytes, bool lockHeld, CancellationToken cancellationToken);

    /// <summary>Under the operation lock: back to the friendly REPL now if an operation left the board at the raw prompt.</summary>
    Task LeaveRawReplIfIdleAsync(CancellationToken cancellationToken);
}
