namespace WebRepl.Device;

/// <summary>
/// Board files kept in a host folder. No request reaches outside it: <c>..</c> above the root, host
/// absolute paths (<c>C:\</c>, backslashes) and symbolic links are refused as a missing file is on a board.
/// A board path's leading <c>/</c> is the root. Writes are atomic: a temporary file, renamed on commit.
/// </summary>
public sealed class DirectoryFileStore : IWebReplFileStore
{
    private const string TemporarySuffix = ".webrepl-upload";

    /// <summary>Creates the store; the folder is created when missing.</summary>
    public DirectoryFileStore(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        var info = Directory.CreateDirectory(Path.GetFullPath(root));
        // Resolve a linked root once, so that the containment check compares real paths.
        Root = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName;
    }

    /// <summary>The host folder that is the board's <c>/</c>.</summary>
    public string Root { get; }

    /// <inheritdoc/>
    public ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken)
    {
        string full = Resolve(path);
        if (Directory.Exists(full))
        {
            throw new UnauthorizedAccessException($"'{path}' is a folder.");
        }

        return ValueTask.FromResult<Stream>(new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, useAsync: true));
    }

    /// <inheritdoc/>
    public ValueTask<IWebReplFileUpload> CreateAsync(string path, CancellationToken cancellationToken)
    {
        string full = Resolve(path);
        if (Directory.Exists(full))
        {
            throw new UnauthorizedAccessException($"'{path}' is a folder.");
        }

        string folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"The folder of '{path}' does not exist.");
        }

        string temporary = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}{TemporarySuffix}");
        var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, useAsync: true);
        return ValueTask.FromResult<IWebReplFileUpload>(new Upload(stream, temporary, full));
    }

    /// <summary>Maps a board path to a host path inside <see cref="Root"/>.</summary>
    /// <exception cref="FileNotFoundException">The path leaves the root, or goes through a link.</exception>
    public string Resolve(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0 || path.Contains('\\', StringComparison.Ordinal) || path.Contains('\0', StringComparison.Ordinal) ||
            path.Contains(':', StringComparison.Ordinal))
        {
            throw Missing(path);
        }

        var parts = new List<string>();
        foreach (string part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (parts.Count == 0)
                {
                    throw Missing(path);
                }

                parts.RemoveAt(parts.Count - 1);
                continue;
            }

            parts.Add(part);
        }

        if (parts.Count == 0)
        {
            throw Missing(path);
        }

        string current = Root;
        foreach (string part in parts)
        {
            current = Path.Combine(current, part);
            var info = new FileInfo(current);
            if (info.Exists || Directory.Exists(current))
            {
                if ((File.GetAttributes(current) & FileAttributes.ReparsePoint) != 0)
                {
                    throw Missing(path);
                }
            }
        }

        string full = Path.GetFullPath(current);
        string rootWithSeparator = Root.EndsWith(Path.DirectorySeparatorChar) ? Root : Root + Path.DirectorySeparatorChar;
        if (!full.StartsWith(rootWithSeparator, StringComparison.Ordinal))
        {
            throw Missing(path);
        }

        return full;
    }

    private static FileNotFoundException Missing(string path) => new($"No such file: '{path}'.", path);

    private sealed class Upload(FileStream stream, string temporary, string destination) : IWebReplFileUpload
    {
        private bool _committed;

        public Stream Stream => stream;

        public async ValueTask CommitAsync(CancellationToken cancellationToken)
        {
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            await stream.DisposeAsync().ConfigureAwait(false);
            File.Move(temporary, destination, overwrite: true);
            _committed = true;
        }

        public async ValueTask DisposeAsync()
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            if (!_committed)
            {
                File.Delete(temporary);
            }
        }
    }
}
