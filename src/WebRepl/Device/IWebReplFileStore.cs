namespace WebRepl.Device;

/// <summary>
/// The board's files, as <see cref="WebReplServer"/> reaches them for PUT and GET. Paths are the board's
/// (<c>main.py</c>, <c>/lib/x.py</c>). A path that cannot be opened throws an <see cref="IOException"/>
/// (or <see cref="UnauthorizedAccessException"/>); the server then behaves as the firmware does.
/// </summary>
public interface IWebReplFileStore
{
    /// <summary>Opens an existing file for reading.</summary>
    ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken);

    /// <summary>Starts writing a file; it takes the new content only when committed.</summary>
    ValueTask<IWebReplFileUpload> CreateAsync(string path, CancellationToken cancellationToken);
}

/// <summary>A file being written by PUT.</summary>
public interface IWebReplFileUpload : IAsyncDisposable
{
    /// <summary>Where the bytes go.</summary>
    Stream Stream { get; }

    /// <summary>Makes the content the file's. Disposing without committing discards it.</summary>
    ValueTask CommitAsync(CancellationToken cancellationToken);
}
