namespace WebRepl.Repl;

/// <summary>
/// Maps board paths to local ones, for everything that writes a board's files to this computer (a folder copy,
/// several files into a folder). A board's listing is untrusted: a name such as <c>dir/../../x</c>,
/// <c>dir//tmp/x</c> or <c>..\x</c> would otherwise place a file outside the destination. Such names are
/// refused, never rewritten, so that what lands on disk is always what the board called it.
/// </summary>
public static class LocalPaths
{
    /// <summary>
    /// The local path of <paramref name="boardRelativePath"/> (board separators <c>/</c>) below
    /// <paramref name="localRoot"/>.
    /// </summary>
    /// <exception cref="UnsafeBoardPathException">
    /// The name is empty or absolute, has an empty, <c>.</c> or <c>..</c> part, holds a <c>\</c>, a control
    /// character or a character this system does not allow in a file name, or would resolve outside the root.
    /// </exception>
    public static string Resolve(string localRoot, string boardRelativePath)
    {
        ArgumentNullException.ThrowIfNull(localRoot);
        ArgumentNullException.ThrowIfNull(boardRelativePath);
        if (Problem(boardRelativePath) is string problem)
        {
            throw new UnsafeBoardPathException(boardRelativePath, localRoot, problem);
        }

        string root = Path.GetFullPath(localRoot);
        string full = Path.GetFullPath(Path.Combine(root, boardRelativePath.Replace('/', Path.DirectorySeparatorChar)));
        // The checks above leave nothing that climbs; this is the last word, whatever the system's path rules.
        if (!full.StartsWith(Path.TrimEndingDirectorySeparator(root) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new UnsafeBoardPathException(boardRelativePath, localRoot, "it resolves outside the destination");
        }

        return full;
    }

    /// <summary>Why <paramref name="boardRelativePath"/> cannot be a path below a local folder; null when it can.</summary>
    public static string? Problem(string boardRelativePath)
    {
        ArgumentNullException.ThrowIfNull(boardRelativePath);
        if (boardRelativePath.Length == 0)
        {
            return "it is empty";
        }

        if (boardRelativePath.StartsWith('/') || Path.IsPathRooted(boardRelativePath))
        {
            return "it is absolute";
        }

        if (boardRelativePath.Contains('\\', StringComparison.Ordinal))
        {
            return "it contains '\\'";
        }

        foreach (string part in boardRelativePath.Split('/'))
        {
            if (part is "..")
            {
                return "it contains '..'";
            }

            if (part is "" or ".")
            {
                return "it has an empty or '.' part";
            }

            if (part.Any(char.IsControl))
            {
                return "it contains a control character";
            }

            if (part.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || (OperatingSystem.IsWindows() && part.Contains(':', StringComparison.Ordinal)))
            {
                return "it contains a character this system does not allow in file names";
            }
        }

        return null;
    }
}

/// <summary>A board gave a name that cannot be copied to this computer safely (see <see cref="LocalPaths"/>).</summary>
public sealed class UnsafeBoardPathException : WebReplRemoteException
{
    /// <summary>Creates the exception.</summary>
    public UnsafeBoardPathException(string boardPath, string localRoot, string reason)
        : base($"Refused the board name '{boardPath}': {reason}, so it could be written outside '{localRoot}'. Not copied; rename it on the board.")
    {
        BoardPath = boardPath;
        Reason = reason;
    }

    /// <inheritdoc/>
    public UnsafeBoardPathException()
        : this(string.Empty, string.Empty, "it is empty")
    {
    }

    /// <inheritdoc/>
    public UnsafeBoardPathException(string message)
        : base(message)
    {
        BoardPath = string.Empty;
        Reason = message;
    }

    /// <inheritdoc/>
    public UnsafeBoardPathException(string message, Exception? innerException)
        : base(message, innerException)
    {
        BoardPath = string.Empty;
        Reason = message;
    }

    /// <summary>The name as the board gave it (relative to the folder copied).</summary>
    public string BoardPath { get; }

    /// <summary>What is wrong with it.</summary>
    public string Reason { get; }
}
