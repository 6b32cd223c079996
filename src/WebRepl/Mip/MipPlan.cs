namespace WebRepl.Mip;

/// <summary>
/// Sends an install's files, one call of <paramref name="sendOne"/> per file (in any order, one at a time): a hook
/// for a progress display. The default calls it for each file in turn.
/// </summary>
public delegate Task MipSendFiles(IReadOnlyList<MipFile> files, Func<MipFile, IProgress<long>?, CancellationToken, Task> sendOne, CancellationToken cancellationToken);

/// <summary>What an install will do: the packages and files resolved on this computer, and which files the board lacks.</summary>
public sealed class MipPlan
{
    internal MipPlan(string target, string mpyVersion, IReadOnlyList<MipPackage> packages, IReadOnlyList<MipFile> files, IReadOnlyList<MipFile> toWrite, bool fileProtocolOnly)
    {
        FileProtocolOnly = fileProtocolOnly;
        Target = target;
        MpyVersion = mpyVersion;
        Packages = packages;
        Files = files;
        ToWrite = toWrite;
    }

    /// <summary>True when made with <see cref="MipOptions.FileProtocolOnly"/>: the files are written in place and read back.</summary>
    public bool FileProtocolOnly { get; }

    /// <summary>The board folder the files go to (absolute).</summary>
    public string Target { get; }

    /// <summary>The bytecode version asked of the index (<c>6</c>), or <c>py</c>.</summary>
    public string MpyVersion { get; }

    /// <summary>The packages taken, dependencies included, in the order they were resolved.</summary>
    public IReadOnlyList<MipPackage> Packages { get; }

    /// <summary>Every file of the install.</summary>
    public IReadOnlyList<MipFile> Files { get; }

    /// <summary>The files that are missing on the board or differ from it (the others are skipped).</summary>
    public IReadOnlyList<MipFile> ToWrite { get; }

    /// <summary>How many files the board already has, identical.</summary>
    public int Unchanged => Files.Count - ToWrite.Count;

    /// <summary>The bytes to send.</summary>
    public long BytesToSend => ToWrite.Sum(f => (long)f.Content.Length);

    /// <summary>Where a file goes on the board.</summary>
    public string BoardPath(MipFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return Join(Target, file.Path);
    }

    internal static string Join(string folder, string relative) => folder.EndsWith('/') ? folder + relative : folder + "/" + relative;
}
