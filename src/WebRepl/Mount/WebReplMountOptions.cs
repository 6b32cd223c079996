namespace WebRepl.Mount;

/// <summary>How a local folder is mounted on a board (<see cref="WebReplMount"/>).</summary>
public sealed record WebReplMountOptions
{
    /// <summary>The defaults.</summary>
    public static WebReplMountOptions Default { get; } = new();

    /// <summary>Where the folder appears on the board (mpremote's place too); it becomes the board's current folder.</summary>
    public string MountPoint { get; init; } = "/remote";

    /// <summary>
    /// Follow symbolic links that lead outside the folder. Off: the board's request for such a path gets
    /// <c>OSError(EACCES)</c>, as mpremote's <c>--unsafe-links</c> is off by default.
    /// </summary>
    public bool UnsafeLinks { get; init; }

    /// <summary>
    /// The most bytes one reply puts into the board's input. A board keeps its terminal input in a buffer of about
    /// 256 bytes and drops what does not fit (docs/protocol.md), so a reply stays below that: file data comes in
    /// pieces of about 115 bytes. Raise it only for a board known to take more.
    /// </summary>
    public int ReplyWindow { get; init; } = 240;

    /// <summary>The most bytes the board sends in one write request (its output has no such limit; this bounds a request).</summary>
    public int WriteChunk { get; init; } = 1024;

    /// <summary>The largest file the board may make or grow in the folder; beyond it a write gets <c>OSError(EFBIG)</c>.</summary>
    public long MaxFileSize { get; init; } = 64L * 1024 * 1024;

    /// <summary>The longest path (bytes of UTF-8) the board may ask for.</summary>
    public int MaxPathBytes { get; init; } = 1024;

    /// <summary>
    /// How long the board waits for each reply before its file operation fails with <c>OSError(ETIMEDOUT)</c>
    /// (when this computer has gone away), on a board whose stdin can be polled.
    /// </summary>
    public TimeSpan BoardTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Called with a line for the user: a path refused, a remount after a soft reset.</summary>
    public Action<string>? Notice { get; init; }

    private static readonly System.Buffers.SearchValues<char> PlainName = System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

    internal void Validate()
    {
        if (MountPoint is null || MountPoint.Length < 2 || MountPoint[0] != '/' || MountPoint.AsSpan(1).ContainsAnyExcept(PlainName))
        {
            throw new ArgumentException($"The mount point must be / and a plain name (letters, digits, _ or -), such as /remote; '{MountPoint}' is not.", nameof(MountPoint));
        }

        if (ReplyWindow is < 64 or > 0xFFFF)
        {
            throw new ArgumentException("ReplyWindow must be between 64 and 65535 bytes.", nameof(ReplyWindow));
        }

        if (WriteChunk is < 16 or > 4096)
        {
            throw new ArgumentException("WriteChunk must be between 16 and 4096 bytes.", nameof(WriteChunk));
        }
    }
}
