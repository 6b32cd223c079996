using WebRepl.Transport;

namespace WebRepl.Repl;

/// <summary>
/// What <see cref="BoardFiles"/> needs of a connection: the client's own programs in the raw REPL, and WebREPL's
/// file transfers. The client implements it; the file code knows nothing else of the client.
/// </summary>
internal interface IBoardOperations
{
    /// <summary>The board, for messages.</summary>
    WebReplTarget Target { get; }

    /// <summary>
    /// Runs one of the client's own programs (listing, stat, hash...): its output is bounded by
    /// <see cref="WebReplClientOptions.MaxOperationReplyBytes"/>, and the board may stay silent for at most
    /// <see cref="WebReplClientOptions.ReplyTimeout"/> at a time.
    /// </summary>
    /// <exception cref="WebReplExecutionException">The program raised an exception (an OSError, say).</exception>
    Task<string> ExecOperationAsync(string code, CancellationToken cancellationToken);

    /// <summary>GET_FILE into a stream; with a known size (<see cref="WebReplGetOptions.ExpectedSize"/>) no more than that many bytes.</summary>
    Task<long> GetFileAsync(string remotePath, Stream destination, IProgress<long>? progress, WebReplGetOptions? options, CancellationToken cancellationToken);

    /// <summary>GET_FILE into a local file, atomically (a temporary file beside it, renamed at the end).</summary>
    Task<long> GetFileAsync(string remotePath, string localPath, IProgress<long>? progress, WebReplGetOptions? options, CancellationToken cancellationToken);

    /// <summary>PUT_FILE of the rest of a stream.</summary>
    Task PutFileAsync(Stream source, string remotePath, IProgress<long>? progress, CancellationToken cancellationToken);
}
