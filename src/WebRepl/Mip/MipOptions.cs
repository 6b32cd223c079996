namespace WebRepl.Mip;

/// <summary>
/// How <see cref="MipInstaller"/> finds and installs packages: the index, the board folder, the bytecode version, the
/// hosts that <c>github:</c> and <c>gitlab:</c> names map to, and bounds on what a package may hold (everything an
/// index or a package.json says is untrusted input).
/// </summary>
public sealed record MipOptions
{
    /// <summary>micropython-lib's index, as mip and mpremote use it.</summary>
    public static readonly Uri DefaultIndex = new("https://micropython.org/pi/v2");

    /// <summary>The defaults.</summary>
    public static MipOptions Default { get; } = new();

    /// <summary>The package index (v2 layout: <c>INDEX/package/MPY/NAME/VERSION.json</c>, <c>INDEX/file/AB/ABCDEF12</c>).</summary>
    public Uri Index { get; init; } = DefaultIndex;

    /// <summary>The board folder to install into; null: the first <c>…/lib</c> folder in the board's <c>sys.path</c>, else <c>/lib</c>.</summary>
    public string? Target { get; init; }

    /// <summary>False: install the index's <c>.py</c> files whatever the board (mip's <c>mpy=False</c>).</summary>
    public bool Mpy { get; init; } = true;

    /// <summary>The bytecode version to ask the index for (<c>6</c>, or <c>py</c>); null: the board's <c>sys.implementation._mpy</c>.</summary>
    public string? MpyVersion { get; init; }

    /// <summary>
    /// Use WebREPL's file transfer only, not the REPL (a board whose REPL is busy with a program, or a server with
    /// the file protocol alone). Then nothing is asked of the board: the bytecode version is <see cref="MpyVersion"/>
    /// (<c>py</c> when <see cref="Mpy"/> is false; one of them is required) and the target <see cref="Target"/> or
    /// <c>/lib</c>, which must exist with every folder the files need (a board drops the session on a PUT it cannot
    /// open). Every file is written in place, then read back to verify; none is skipped, and a failure cannot remove
    /// what was written, though nothing is written unless every package resolved.
    /// </summary>
    public bool FileProtocolOnly { get; init; }

    /// <summary>Where <c>github:OWNER/REPO/PATH@REF</c> is fetched from: <c>BASE/OWNER/REPO/REF/PATH</c>.</summary>
    public Uri GitHubBase { get; init; } = new("https://raw.githubusercontent.com/");

    /// <summary>Where <c>gitlab:OWNER/REPO/PATH@REF</c> is fetched from: <c>BASE/OWNER/REPO/-/raw/REF/PATH</c>.</summary>
    public Uri GitLabBase { get; init; } = new("https://gitlab.com/");

    /// <summary>The largest file a package may install.</summary>
    public int MaxFileBytes { get; init; } = 1 << 20;

    /// <summary>The most bytes all the packages of one install may hold together.</summary>
    public long MaxTotalBytes { get; init; } = 8 << 20;

    /// <summary>The most files one install may write.</summary>
    public int MaxFiles { get; init; } = 500;

    /// <summary>The most packages (dependencies included) one install may take.</summary>
    public int MaxPackages { get; init; } = 100;

    /// <summary>The largest package.json read.</summary>
    public int MaxPackageJsonBytes { get; init; } = 256 * 1024;

    /// <summary>Bound on each HTTP request (connect and body).</summary>
    public TimeSpan HttpTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The client for HTTP requests; null: one made (and disposed) per install.</summary>
    public HttpClient? HttpClient { get; init; }
}
