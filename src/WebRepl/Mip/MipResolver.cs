using System.Net;
using System.Security.Cryptography;

namespace WebRepl.Mip;

/// <summary>A package taken by an install.</summary>
/// <param name="Name">What named it: an index name, a URL, a local path.</param>
/// <param name="Version">The version its package.json gives, or the one asked for.</param>
/// <param name="Source">Where its package.json (or its single file) came from.</param>
public sealed record MipPackage(string Name, string? Version, string Source);

/// <summary>A file an install writes, downloaded and checked on this computer before anything is written to the board.</summary>
/// <param name="Path">Its path below the target folder (checked: no <c>..</c>, not absolute).</param>
/// <param name="Content">Its bytes.</param>
/// <param name="Sha256">The SHA-256 of <paramref name="Content"/>, lower-case hex.</param>
/// <param name="Source">Where it came from (a URL or a local file).</param>
public sealed record MipFile(string Path, ReadOnlyMemory<byte> Content, string Sha256, string Source);

/// <summary>
/// Resolves package arguments into files, as mip does, on this computer (the board needs no network): the index's
/// package JSON for the board's bytecode version, each file by its short hash (checked against the SHA-256 of what
/// arrived), <c>urls</c> entries, and dependencies, depth first, each package once. Everything fetched is bounded
/// by <see cref="MipOptions"/>; local files are read only for packages given locally.
/// </summary>
internal sealed class MipResolver(MipOptions options, HttpClient http, string mpyVersion, Action<string>? log)
{
    private const int MaxDepth = 16;

    private readonly Dictionary<string, MipFile> _files = new(StringComparer.Ordinal);
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private readonly List<MipPackage> _packages = [];
    private long _total;

    public IReadOnlyList<MipPackage> Packages => _packages;

    public IReadOnlyList<MipFile> Files => [.. _files.Values];

    public Task ResolveAsync(string argument, CancellationToken cancellationToken) =>
        ResolveAsync(MipSpec.Parse(argument), localBase: null, depth: 0, cancellationToken);

    private async Task ResolveAsync(MipSpec spec, string? localBase, int depth, CancellationToken cancellationToken)
    {
        if (depth > MaxDepth)
        {
            throw new MipPackageException($"Dependencies nest deeper than {MaxDepth} levels at '{PrintableText.Escape(spec.Location)}'; refused.");
        }

        switch (spec.Kind)
        {
            case MipSpecKind.FileUrl:
            {
                var url = MipSpec.Rewrite(spec.Location, spec.Version, options);
                if (!See(url.AbsoluteUri))
                {
                    return;
                }

                string name = PackageManifest.CheckPath(spec.Location[(spec.Location.LastIndexOf('/') + 1)..], spec.Location);
                log?.Invoke($"Downloading {spec.Location}");
                AddPackage(new MipPackage(spec.Location, spec.Version, url.AbsoluteUri));
                Add(name, await FetchAsync(url, options.MaxFileBytes, "File", cancellationToken).ConfigureAwait(false), url.AbsoluteUri);
                return;
            }

            case MipSpecKind.Local:
                if (localBase is null && depth > 0)
                {
                    // A package from the network must not make this computer read its own files onto the board.
                    throw new MipPackageException($"A package from the network names the local path '{PrintableText.Escape(spec.Location)}' as a dependency; refused.");
                }

                await ResolveLocalAsync(spec, localBase, depth, cancellationToken).ConfigureAwait(false);
                return;

            default:
            {
                var url = spec.Kind == MipSpecKind.Index
                    ? MipSpec.IndexPackage(options.Index, mpyVersion, spec.Location, spec.Version)
                    : MipSpec.Rewrite(spec.Location, spec.Version, options);
                if (!See(url.AbsoluteUri))
                {
                    return;
                }

                log?.Invoke(spec.Kind == MipSpecKind.Index
                    ? $"Installing {spec.Location} ({spec.Version ?? "latest"}) from {options.Index}"
                    : $"Installing {spec.Location}");
                byte[] json;
                try
                {
                    json = await FetchAsync(url, options.MaxPackageJsonBytes, "Package", cancellationToken).ConfigureAwait(false);
                }
                catch (MipNotFoundException ex) when (spec.Kind == MipSpecKind.Index)
                {
                    throw new MipNotFoundException(
                        $"Package '{spec.Location}'{(spec.Version is null ? string.Empty : $" version {spec.Version}")} is not in the index {options.Index} " +
                        $"(for bytecode version {mpyVersion}; {url} answered 404). Check the name, or try --no-mpy.", ex);
                }

                var manifest = PackageManifest.Parse(json, url.AbsoluteUri);
                AddPackage(new MipPackage(spec.Location, manifest.Version ?? spec.Version, url.AbsoluteUri));
                await TakeManifestAsync(manifest, spec.Location, spec.Version, url.AbsoluteUri, null, depth, cancellationToken).ConfigureAwait(false);
                return;
            }
        }
    }

    private async Task ResolveLocalAsync(MipSpec spec, string? localBase, int depth, CancellationToken cancellationToken)
    {
        string path = Path.GetFullPath(localBase is null ? spec.Location : Path.Combine(localBase, spec.Location));
        string json = Directory.Exists(path) ? Path.Combine(path, "package.json") : path;
        if (!File.Exists(json))
        {
            throw new MipNotFoundException(Directory.Exists(path)
                ? $"The local folder '{PrintableText.Escape(path)}' has no package.json."
                : $"No such local package: '{PrintableText.Escape(path)}' (give a folder holding package.json, or a package.json).");
        }

        if (!See(json))
        {
            return;
        }

        if (new FileInfo(json).Length > options.MaxPackageJsonBytes)
        {
            throw new MipPackageException($"'{PrintableText.Escape(json)}' is larger than {options.MaxPackageJsonBytes:N0} bytes; refused.");
        }

        log?.Invoke($"Installing {json}");
        var manifest = PackageManifest.Parse(await File.ReadAllBytesAsync(json, cancellationToken).ConfigureAwait(false), json);
        AddPackage(new MipPackage(spec.Location, manifest.Version, json));
        await TakeManifestAsync(manifest, json, null, json, Path.GetDirectoryName(json)!, depth, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Fetches a package's files (hashes from the index, then urls) and resolves its dependencies.</summary>
    private async Task TakeManifestAsync(PackageManifest manifest, string location, string? version, string source, string? localFolder, int depth, CancellationToken cancellationToken)
    {
        foreach (var (path, shortHash) in manifest.Hashes)
        {
            var url = MipSpec.IndexFile(options.Index, shortHash);
            byte[] content = await FetchAsync(url, options.MaxFileBytes, "File", cancellationToken).ConfigureAwait(false);
            string actual = Convert.ToHexStringLower(SHA256.HashData(content));
            if (!actual.StartsWith(shortHash, StringComparison.Ordinal))
            {
                throw new MipPackageException(
                    $"'{PrintableText.Escape(path)}' from {url} has SHA-256 {actual[..shortHash.Length]}..., not {shortHash} as {PrintableText.Escape(source)} says; refused, nothing was installed.");
            }

            Add(path, content, url.AbsoluteUri);
        }

        foreach (var (path, url) in manifest.Urls)
        {
            if (localFolder is not null && !MipSpec.IsUrl(url))
            {
                string file = LocalFile(localFolder, url, source);
                Add(path, await ReadLocalAsync(file, cancellationToken).ConfigureAwait(false), file);
                continue;
            }

            var absolute = MipSpec.Rewrite(MipSpec.Resolve(location, url), version, options);
            Add(path, await FetchAsync(absolute, options.MaxFileBytes, "File", cancellationToken).ConfigureAwait(false), absolute.AbsoluteUri);
        }

        foreach (var (name, depVersion) in manifest.Deps)
        {
            await ResolveAsync(MipSpec.Parse(name, depVersion), localFolder, depth + 1, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A local package's file: below its folder, also after following links.</summary>
    private static string LocalFile(string folder, string relative, string source)
    {
        string root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)) + Path.DirectorySeparatorChar;
        string full = Path.GetFullPath(Path.Combine(root, relative));
        string? linked = File.Exists(full) ? new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName : null;
        if (!full.StartsWith(root, StringComparison.Ordinal) || (linked is not null && !Path.GetFullPath(linked).StartsWith(root, StringComparison.Ordinal)))
        {
            throw new MipPackageException($"The package at {PrintableText.Escape(source)} names '{PrintableText.Escape(relative)}', which is outside its folder; refused.");
        }

        return full;
    }

    private async Task<byte[]> ReadLocalAsync(string file, CancellationToken cancellationToken)
    {
        if (!File.Exists(file))
        {
            throw new MipNotFoundException($"No such local file: '{PrintableText.Escape(file)}'.");
        }

        if (new FileInfo(file).Length > options.MaxFileBytes)
        {
            throw TooLarge(file);
        }

        return await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false);
    }

    private bool See(string key)
    {
        if (!_seen.Add(key))
        {
            return false;
        }

        if (_seen.Count > options.MaxPackages)
        {
            throw new MipPackageException($"The install takes more than {options.MaxPackages} packages; refused.");
        }

        return true;
    }

    private void AddPackage(MipPackage package) => _packages.Add(package);

    /// <summary>Adds a file; the same path from two packages must have the same bytes.</summary>
    private void Add(string path, byte[] content, string source)
    {
        string hash = Convert.ToHexStringLower(SHA256.HashData(content));
        if (_files.TryGetValue(path, out var existing))
        {
            if (existing.Sha256 != hash)
            {
                throw new MipPackageException($"Two packages install '{PrintableText.Escape(path)}' with different contents ({PrintableText.Escape(existing.Source)} and {PrintableText.Escape(source)}); refused.");
            }

            return;
        }

        string? clash = _files.Keys.FirstOrDefault(p => p.StartsWith(path + "/", StringComparison.Ordinal) || path.StartsWith(p + "/", StringComparison.Ordinal));
        if (clash is not null)
        {
            throw new MipPackageException($"'{PrintableText.Escape(path)}' and '{PrintableText.Escape(clash)}' would be a file and a folder of the same name; refused.");
        }

        _total += content.Length;
        if (_files.Count >= options.MaxFiles || _total > options.MaxTotalBytes)
        {
            throw new MipPackageException($"The install is larger than the limits ({options.MaxFiles} files, {options.MaxTotalBytes:N0} bytes); refused.");
        }

        _files[path] = new MipFile(path, content, hash, source);
    }

    /// <summary>GETs a URL, reading at most <paramref name="limit"/> bytes; 404 is <see cref="MipNotFoundException"/>.</summary>
    private async Task<byte[]> FetchAsync(Uri url, int limit, string what, CancellationToken cancellationToken)
    {
        string shown = PrintableText.Escape(url.AbsoluteUri);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.HttpTimeout);
        try
        {
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                throw new MipNotFoundException($"{what} not found: {shown} (HTTP 404).");
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new MipNetworkException($"{shown} answered HTTP {(int)response.StatusCode} {PrintableText.Escape(response.ReasonPhrase ?? string.Empty)}.");
            }

            if (response.Content.Headers.ContentLength > limit)
            {
                throw TooLarge(shown, limit);
            }

            var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                var buffer = new MemoryStream();
                byte[] chunk = new byte[16 * 1024];
                int read;
                while ((read = await body.ReadAsync(chunk, timeout.Token).ConfigureAwait(false)) > 0)
                {
                    if (buffer.Length + read > limit)
                    {
                        throw TooLarge(shown, limit);
                    }

                    await buffer.WriteAsync(chunk.AsMemory(0, read), timeout.Token).ConfigureAwait(false);
                }

                return buffer.ToArray();
            }
        }
        catch (HttpRequestException ex)
        {
            throw new MipNetworkException($"Cannot fetch {shown}: {PrintableText.Escape(ex.Message.TrimEnd('.'))}. Is this computer online (the board need not be)?", ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new MipNetworkException($"{shown} did not answer within {options.HttpTimeout.TotalSeconds:0} s.", ex);
        }
    }

    private MipPackageException TooLarge(string file) => TooLarge(PrintableText.Escape(file), options.MaxFileBytes);

    private static MipPackageException TooLarge(string shown, int limit) =>
        new(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{shown} is larger than {limit:N0} bytes, the limit for one file; refused."));
}
