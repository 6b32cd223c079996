namespace WebRepl;

/// <summary>How a GET asks the board for its chunks (docs/protocol.md, "GET pipelining").</summary>
public sealed record WebReplGetOptions
{
    /// <summary>No size known, the session goes on: at most three chunk requests in flight.</summary>
    public static WebReplGetOptions Default { get; } = new();

    /// <summary>
    /// The file's size, from a listing made just before (<see cref="Repl.BoardFiles.StatAsync"/>). The GET then
    /// keeps up to <see cref="WebReplClientOptions.GetWindow"/> chunk requests in flight but never one more than
    /// the file's chunks, and stops at this size: a file that grew or shrank on the board meanwhile is reported
    /// as changed (<see cref="WebReplFileChangedException"/>), never returned cut or padded.
    /// </summary>
    public long? ExpectedSize { get; init; }

    /// <summary>
    /// The connection is closed right after this GET, and the size is unknown: up to 82 chunk requests may be in
    /// flight, since the partial request record that the unneeded ones leave on the board ends with the session.
    /// Afterwards the client refuses further transfers when that happened (the terminal still works).
    /// </summary>
    public bool SessionEndsAfter { get; init; }
}
