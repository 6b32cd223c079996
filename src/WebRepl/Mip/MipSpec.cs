using System.Text.RegularExpressions;

namespace WebRepl.Mip;

/// <summary>What a package argument (or a dependency) names.</summary>
internal enum MipSpecKind
{
    /// <summary>A name in the index: <c>aioble</c>.</summary>
    Index,

    /// <summary>A package.json by URL: <c>github:org/repo</c>, <c>https://host/pkg/package.json</c>.</summary>
    PackageUrl,

    /// <summary>One <c>.py</c> or <c>.mpy</c> file by URL: installed under its own name.</summary>
    FileUrl,

    /// <summary>A local folder holding package.json, or a local package.json.</summary>
    Local,
}

/// <summary>
/// A parsed package argument, as mip reads them: <c>NAME[@VERSION]</c>, <c>github:OWNER/REPO[/PATH][@REF]</c>,
/// <c>gitlab:…</c>, <c>http(s)://…[@REF]</c>, and (ours) a local folder or package.json, given with a slash
/// (<c>./mypkg</c>). Pure: no I/O.
/// </summary>
internal sealed partial record MipSpec(MipSpecKind Kind, string Location, string? Version)
{
    private static readonly string[] UrlPrefixes = ["http://", "https://", "github:", "gitlab:"];

    /// <summary>True when <paramref name="text"/> is a full URL (or github:/gitlab: name) rather than a relative one.</summary>
    public static bool IsUrl(string text) => UrlPrefixes.Any(p => text.StartsWith(p, StringComparison.Ordinal));

    /// <summary>Reads a package argument.</summary>
    /// <param name="argument">What the user or a package.json's <c>deps</c> gave.</param>
    /// <param name="version">A version given apart (a dependency's second field); an <c>@VERSION</c> in the argument wins.</param>
    /// <exception cref="MipPackageException">The argument is no package name, URL or local path.</exception>
    public static MipSpec Parse(string argument, string? version = null)
    {
        ArgumentNullException.ThrowIfNull(argument);
        if (argument.Length == 0 || argument.Length > 1000 || argument.Any(c => c < ' ' || c == '\x7f'))
        {
            throw new MipPackageException($"'{PrintableText.Escape(argument)}' is not a package: give a name (aioble), github:OWNER/REPO, a URL or a local folder (./pkg).");
        }

        if (IsUrl(argument))
        {
            // An @ after the last slash is a version (a git ref): github:org/repo@v1.2, https://host/pkg@v1.
            bool http = argument.StartsWith("http", StringComparison.Ordinal);
            int at = http ? argument.LastIndexOf('@') : argument.IndexOf('@', StringComparison.Ordinal);
            if (at > 0 && (!http || at > argument.LastIndexOf('/')))
            {
                version = argument[(at + 1)..];
                argument = argument[..at];
            }

            CheckVersion(version, argument);
            bool single = argument.EndsWith(".py", StringComparison.Ordinal) || argument.EndsWith(".mpy", StringComparison.Ordinal);
            if (!single && !argument.EndsWith(".json", StringComparison.Ordinal))
            {
                argument = argument.TrimEnd('/') + "/package.json";
            }

            return new MipSpec(single ? MipSpecKind.FileUrl : MipSpecKind.PackageUrl, argument, version);
        }

        if (argument.Contains('/', StringComparison.Ordinal) || argument.Contains('\\', StringComparison.Ordinal) || argument.EndsWith(".json", StringComparison.Ordinal))
        {
            return new MipSpec(MipSpecKind.Local, argument, null);
        }

        int atSign = argument.IndexOf('@', StringComparison.Ordinal);
        if (atSign >= 0)
        {
            version = argument[(atSign + 1)..];
            argument = argument[..atSign];
        }

        if (!IndexName().IsMatch(argument))
        {
            throw new MipPackageException($"'{PrintableText.Escape(argument)}' is not a package name (letters, digits, '-', '_' and '.'). A local folder is given with a slash: ./{PrintableText.Escape(argument)}");
        }

        CheckVersion(version, argument);
        return new MipSpec(MipSpecKind.Index, argument, version);
    }

    /// <summary>
    /// The URL to fetch for <paramref name="location"/>: <c>github:</c> and <c>gitlab:</c> mapped onto their bases
    /// with <paramref name="version"/> as the ref (<c>HEAD</c> when none), http(s) as given. Every part of a mapped
    /// name is checked (no <c>..</c>, nothing empty) and escaped, since package.json files name such URLs.
    /// </summary>
    /// <exception cref="MipPackageException">Not a URL this can fetch.</exception>
    public static Uri Rewrite(string location, string? version, MipOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        bool github = location.StartsWith("github:", StringComparison.Ordinal);
        if (github || location.StartsWith("gitlab:", StringComparison.Ordinal))
        {
            string[] parts = location[7..].Split('/');
            string reference = string.IsNullOrEmpty(version) ? "HEAD" : version;
            if (parts.Length < 3 || parts.Any(BadSegment) || reference.Split('/').Any(BadSegment))
            {
                throw new MipPackageException($"'{PrintableText.Escape(location)}' is not {(github ? "github" : "gitlab")}:OWNER/REPO[/PATH] with a file in it.");
            }

            string path = string.Join('/', parts[2..].Select(Uri.EscapeDataString));
            string refPath = string.Join('/', reference.Split('/').Select(Uri.EscapeDataString));
            string relative = github
                ? $"{Uri.EscapeDataString(parts[0])}/{Uri.EscapeDataString(parts[1])}/{refPath}/{path}"
                : $"{Uri.EscapeDataString(parts[0])}/{Uri.EscapeDataString(parts[1])}/-/raw/{refPath}/{path}";
            return new Uri(WithSlash(github ? options.GitHubBase : options.GitLabBase), relative);
        }

        if (Uri.TryCreate(location, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri;
        }

        throw new MipPackageException($"'{PrintableText.Escape(location)}' is not an http(s) URL, github: or gitlab: name.");
    }

    /// <summary>The index URL of a package's JSON: <c>INDEX/package/MPY/NAME/VERSION.json</c>.</summary>
    public static Uri IndexPackage(Uri index, string mpyVersion, string name, string? version) =>
        new(WithSlash(index), $"package/{Uri.EscapeDataString(mpyVersion)}/{Uri.EscapeDataString(name)}/{Uri.EscapeDataString(version ?? "latest")}.json");

    /// <summary>The index URL of a file by its short hash: <c>INDEX/file/AB/ABCDEF12</c>.</summary>
    public static Uri IndexFile(Uri index, string shortHash) => new(WithSlash(index), $"file/{shortHash[..2]}/{shortHash}");

    /// <summary>
    /// A package.json's <c>urls</c> entry made absolute: a full URL as it is, a relative one after the folder of
    /// the package.json that named it (before mapping, as mip does: <c>github:org/repo/x.py</c>).
    /// </summary>
    /// <exception cref="MipPackageException">A relative URL that climbs (<c>..</c>) or is absolute on the host.</exception>
    public static string Resolve(string packageJsonLocation, string url)
    {
        if (IsUrl(url))
        {
            return url;
        }

        if (url.StartsWith('/') || url.Contains('\\', StringComparison.Ordinal) || url.Contains("://", StringComparison.Ordinal) || url.Split('/').Any(BadSegment))
        {
            throw new MipPackageException($"The package at {PrintableText.Escape(packageJsonLocation)} names the relative URL '{PrintableText.Escape(url)}', which leaves its folder; refused.");
        }

        return packageJsonLocation[..(packageJsonLocation.LastIndexOf('/') + 1)] + url;
    }

    private static Uri WithSlash(Uri uri) => uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");

    private static bool BadSegment(string segment) => segment.Length == 0 || segment is "." or "..";

    private static void CheckVersion(string? version, string argument)
    {
        if (version is not null && !VersionText().IsMatch(version))
        {
            throw new MipPackageException($"'{PrintableText.Escape(version)}' (after the @ of '{PrintableText.Escape(argument)}') is not a version or git ref.");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")]
    private static partial Regex IndexName();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.+/-]{0,199}$")]
    private static partial Regex VersionText();
}
