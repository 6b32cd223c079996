namespace WebRepl.Cli;

/// <summary>Board paths on the command line: <c>:path</c> as in mpremote, and webrepl_cli.py's <c>HOST[:PORT]:PATH</c>.</summary>
internal static class Paths
{
    /// <summary>True for <c>:path</c> (and <c>:</c> alone, the board's current folder).</summary>
    public static bool IsRemote(string argument) => argument.StartsWith(':');

    /// <summary>The board path of a <c>:path</c> argument.</summary>
    public static string Remote(string argument) => argument[1..];

    /// <summary>
    /// Splits webrepl_cli.py's <c>HOST[:PORT]:PATH</c> at the last colon; an empty path is <c>/</c>.
    /// False when there is no colon, or the part before it is not a board address.
    /// </summary>
    public static bool TrySplitLegacyRemote(string argument, out string target, out string path)
    {
        target = string.Empty;
        path = string.Empty;
        if (argument.Contains("://", StringComparison.Ordinal))
        {
            return false;
        }

        int colon = argument.LastIndexOf(':');
        if (colon <= 0 || (argument.StartsWith('[') && colon < argument.IndexOf(']', StringComparison.Ordinal)))
        {
            return false;
        }

        target = argument[..colon];
        path = argument[(colon + 1)..];
        if (path.Length == 0)
        {
            path = "/";
        }

        return Transport.WebReplTarget.TryParse(target, out _, out _);
    }

    /// <summary>A board destination for a local file: a folder (ending in <c>/</c>, or empty) keeps the local name.</summary>
    public static string RemoteDestination(string remote, string localPath, bool isFolder)
    {
        string name = Path.GetFileName(localPath);
        if (remote.Length == 0)
        {
            return name;
        }

        return remote.EndsWith('/') ? remote + name : isFolder ? remote + "/" + name : remote;
    }

    /// <summary>True when a local destination is meant as a folder: it is one, it ends in a separator, or several files go there.</summary>
    public static bool IsLocalFolder(string local, int sources) =>
        sources > 1 || Directory.Exists(local) || local.EndsWith(Path.DirectorySeparatorChar) || local.EndsWith('/');

    /// <summary>
    /// A local destination for a board file: an existing folder (or one ending in a separator) keeps the board name,
    /// which must then be a plain name (no <c>..</c>: see <see cref="Repl.LocalPaths"/>).
    /// </summary>
    public static string LocalDestination(string local, string remotePath, bool forceFolder)
    {
        string name = remotePath.TrimEnd('/');
        name = name[(name.LastIndexOf('/') + 1)..];
        bool folder = forceFolder || Directory.Exists(local) || local.EndsWith(Path.DirectorySeparatorChar) || local.EndsWith('/');
        return folder ? Repl.LocalPaths.Resolve(local, name) : local;
    }
}
