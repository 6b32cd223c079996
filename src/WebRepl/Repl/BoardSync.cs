using System.Security.Cryptography;
using System.Text;
using WebRepl.Protocol;

namespace WebRepl.Repl;

/// <summary>What a sync does to one board path.</summary>
public enum SyncActionKind
{
    /// <summary>Make a folder that is missing on the board.</summary>
    CreateFolder,

    /// <summary>Send a file the board does not have.</summary>
    Create,

    /// <summary>Send a file whose size or SHA-256 differs.</summary>
    Update,

    /// <summary>Remove a board file or folder that is not in the local tree (with delete).</summary>
    Delete,
}

/// <summary>One step of a sync.</summary>
/// <param name="Kind">What is done.</param>
/// <param name="RemotePath">The board path.</param>
/// <param name="LocalPath">The local file, for a create or an update.</param>
/// <param name="Size">The bytes to send.</param>
public sealed record SyncAction(SyncActionKind Kind, string RemotePath, string? LocalPath, long Size);

/// <summary>A sync's plan: the steps, and how many files were already the same.</summary>
/// <param name="Actions">Folders first, then files, then deletions (deepest first).</param>
/// <param name="Unchanged">Files already on the board with the same content.</param>
public sealed record SyncPlan(IReadOnlyList<SyncAction> Actions, int Unchanged)
{
    /// <summary>True when the board already matches.</summary>
    public bool IsEmpty => Actions.Count == 0;

    /// <summary>The bytes the plan sends.</summary>
    public long BytesToSend => Actions.Sum(a => a.Kind is SyncActionKind.Create or SyncActionKind.Update ? a.Size : 0);
}

/// <summary>
/// Makes a board folder match a local folder: sends only what differs (size first, then SHA-256, computed on
/// the board in one go), makes missing folders, and with delete removes what the local tree does not have.
/// Sent files are checked by SHA-256 afterwards (one board program for all of them); a mismatch is sent once
/// more, and a second mismatch is an error.
/// </summary>
public static class BoardSync
{
    /// <summary>Works out what to do, without changing anything.</summary>
    public static Task<SyncPlan> PlanAsync(WebReplClient client, string localFolder, string remoteFolder, bool delete, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        return PlanAsync(client.Files, localFolder, remoteFolder, delete, cancellationToken);
    }

    /// <summary>Works out what to do on the board whose files <paramref name="files"/> are, without changing anything.</summary>
    internal static async Task<SyncPlan> PlanAsync(BoardFiles files, string localFolder, string remoteFolder, bool delete, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(localFolder))
        {
            throw new DirectoryNotFoundException($"No such local folder: '{localFolder}'.");
        }

        string remoteRoot = remoteFolder.Length > 1 ? remoteFolder.TrimEnd('/') : remoteFolder;
        var local = LocalTree(localFolder, remoteRoot);
        var tooLong = local.Keys.Where(p => Encoding.UTF8.GetByteCount(p) > WebReplRequest.MaxFileNameBytes).ToList();
        if (tooLong.Count > 0)
        {
            throw new ArgumentException(
                $"{tooLong.Count} board path(s) would be longer than WebREPL's {WebReplRequest.MaxFileNameBytes} bytes, e.g. '{tooLong[0]}'. Use shorter names or a shorter board folder.");
        }

        var actions = new List<SyncAction>();
        var remote = await BoardTreeAsync(files, remoteRoot, actions, cancellationToken).ConfigureAwait(false);
        // Same size: compare SHA-256, all in one board program.
        var sameSize = local.Where(l => l.Value is { } file && remote.TryGetValue(l.Key, out var r) && !r.IsDirectory && r.Size == file.Length).Select(l => l.Key).ToList();
        var boardHashes = await files.HashManyAsync(sameSize, cancellationToken).ConfigureAwait(false);
        var deletions = new List<SyncAction>();
        int unchanged = await CompareAsync(local, remote, boardHashes, actions, deletions, cancellationToken).ConfigureAwait(false);
        if (delete)
        {
            // Deepest first, and nothing below a folder that is removed anyway.
            var removed = remote.Keys.Where(p => !local.ContainsKey(p)).OrderBy(p => p, StringComparer.Ordinal).ToList();
            foreach (string path in removed.Where(p => !removed.Any(other => p.StartsWith(other + "/", StringComparison.Ordinal))))
            {
                deletions.Add(new SyncAction(SyncActionKind.Delete, path, null, 0));
            }
        }

        // A type clash (file where a folder goes, or the reverse) is removed first.
        var clashes = deletions.Where(d => local.ContainsKey(d.RemotePath)).ToList();
        var ordered = clashes.Concat(actions.Where(a => a.Kind == SyncActionKind.CreateFolder))
            .Concat(actions.Where(a => a.Kind != SyncActionKind.CreateFolder))
            .Concat(deletions.Except(clashes).OrderByDescending(d => d.RemotePath.Count(c => c == '/')))
            .ToList();
        return new SyncPlan(ordered, unchanged);
    }

    /// <summary>
    /// The board's tree below <paramref name="remoteRoot"/>, by path; empty when the folder does not exist yet, and
    /// then making it is the first action.
    /// </summary>
    private static async Task<Dictionary<string, BoardEntry>> BoardTreeAsync(BoardFiles files, string remoteRoot, List<SyncAction> actions, CancellationToken cancellationToken)
    {
        var remote = new Dictionary<string, BoardEntry>(StringComparer.Ordinal);
        var rootEntry = remoteRoot.Length == 0 || remoteRoot == "/" ? new BoardEntry(remoteRoot, true, 0) : await files.StatAsync(remoteRoot, cancellationToken).ConfigureAwait(false);
        if (rootEntry is { IsDirectory: false })
        {
            throw new BoardFileException($"':{remoteRoot}' is a file on the board, not a folder.", remoteRoot, 20);
        }

        if (rootEntry is null)
        {
            actions.Add(new SyncAction(SyncActionKind.CreateFolder, remoteRoot, null, 0));
            return remote;
        }

        foreach (var entry in await files.ListAsync(remoteRoot, recursive: true, cancellationToken).ConfigureAwait(false))
        {
            remote[entry.Path] = entry;
        }

        return remote;
    }

    /// <summary>
    /// Each local path against the board's: folders to make, files to send (missing, or a different size or hash),
    /// and what stands in the way (a file where a folder goes, or the reverse) to remove.
    /// </summary>
    /// <returns>How many files are already the same.</returns>
    private static async Task<int> CompareAsync(
        Dictionary<string, FileInfo?> local, Dictionary<string, BoardEntry> remote, IReadOnlyDictionary<string, string?> boardHashes,
        List<SyncAction> actions, List<SyncAction> deletions, CancellationToken cancellationToken)
    {
        int unchanged = 0;
        foreach (var (path, file) in local.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            remote.TryGetValue(path, out var existing);
            if (file is null)
            {
                if (existing is { IsDirectory: false })
                {
                    deletions.Add(new SyncAction(SyncActionKind.Delete, path, null, 0));
                    existing = null;
                }

                if (existing is null)
                {
                    actions.Add(new SyncAction(SyncActionKind.CreateFolder, path, null, 0));
                }

                continue;
            }

            if (existing is { IsDirectory: true })
            {
                deletions.Add(new SyncAction(SyncActionKind.Delete, path, null, 0));
                existing = null;
            }

            if (existing is null)
            {
                actions.Add(new SyncAction(SyncActionKind.Create, path, file.FullName, file.Length));
            }
            else if (existing.Size != file.Length || boardHashes.GetValueOrDefault(path) != await LocalHashAsync(file.FullName, cancellationToken).ConfigureAwait(false))
            {
                actions.Add(new SyncAction(SyncActionKind.Update, path, file.FullName, file.Length));
            }
            else
            {
                unchanged++;
            }
        }

        return unchanged;
    }

    /// <summary>Carries out a plan. <paramref name="onAction"/> is told of each step before it is done.</summary>
    /// <returns>The files that had to be sent a second time after a failed check.</returns>
    public static async Task<IReadOnlyList<string>> ApplyAsync(
        WebReplClient client, SyncPlan plan, bool verify, Action<SyncAction>? onAction = null, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(plan);
        var files = client.Files;
        var sent = new List<SyncAction>();
        foreach (var action in plan.Actions)
        {
            onAction?.Invoke(action);
            switch (action.Kind)
            {
                case SyncActionKind.CreateFolder:
                    await files.MakeDirectoryAsync(action.RemotePath, parents: true, cancellationToken).ConfigureAwait(false);
                    break;
                case SyncActionKind.Delete:
                    await files.RemoveAsync(action.RemotePath, recursive: true, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    await files.UploadAsync(action.LocalPath!, action.RemotePath, verify: false, progress, cancellationToken).ConfigureAwait(false);
                    sent.Add(action);
                    break;
            }
        }

        return verify ? await VerifyAsync(files, sent, progress, cancellationToken).ConfigureAwait(false) : [];
    }

    /// <summary>Checks sent files by SHA-256 in one board program; sends mismatches once more and checks again.</summary>
    internal static async Task<IReadOnlyList<string>> VerifyAsync(BoardFiles files, IReadOnlyList<SyncAction> sent, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var resent = new List<string>();
        var toCheck = sent;
        for (int round = 1; toCheck.Count > 0; round++)
        {
            var hashes = await files.HashManyAsync([.. toCheck.Select(a => a.RemotePath)], cancellationToken).ConfigureAwait(false);
            var bad = new List<SyncAction>();
            foreach (var action in toCheck)
            {
                if (hashes.GetValueOrDefault(action.RemotePath) != await LocalHashAsync(action.LocalPath!, cancellationToken).ConfigureAwait(false))
                {
                    bad.Add(action);
                }
            }

            if (bad.Count == 0)
            {
                break;
            }

            if (round == 2)
            {
                throw new BoardFileException(
                    $"{bad.Count} file(s) did not arrive intact, twice (their SHA-256 on the board differs), e.g. ':{bad[0].RemotePath}'. Check the board's storage (df), then sync again.",
                    bad[0].RemotePath);
            }

            foreach (var action in bad)
            {
                await files.UploadAsync(action.LocalPath!, action.RemotePath, verify: false, progress, cancellationToken).ConfigureAwait(false);
                resent.Add(action.RemotePath);
            }

            toCheck = bad;
        }

        return resent;
    }

    internal static async Task<string> LocalHashAsync(string path, CancellationToken cancellationToken)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, useAsync: true);
        await using (stream.ConfigureAwait(false))
        {
            return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
        }
    }

    /// <summary>Board path to local file (null for a folder), for everything below <paramref name="folder"/>.</summary>
    private static Dictionary<string, FileInfo?> LocalTree(string folder, string remoteRoot)
    {
        var tree = new Dictionary<string, FileInfo?>(StringComparer.Ordinal);
        var root = new DirectoryInfo(folder);
        foreach (var info in root.EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.None }))
        {
            string relative = Path.GetRelativePath(root.FullName, info.FullName).Replace(Path.DirectorySeparatorChar, '/');
            string remote = remoteRoot.Length == 0 ? relative : remoteRoot == "/" ? "/" + relative : remoteRoot + "/" + relative;
            tree[remote] = info as FileInfo;
        }

        return tree;
    }
}
