using System.Text.Json;
using System.Text.RegularExpressions;

namespace WebRepl.Mip;

/// <summary>
/// A package.json as mip reads it: <c>hashes</c> (<c>[[path, short sha256]]</c>, files fetched from the index),
/// <c>urls</c> (<c>[[path, url]]</c>), <c>deps</c> (<c>[[name, version]]</c>) and <c>version</c>. Other keys are
/// ignored. The JSON is untrusted: every path is checked to stay below the target folder, every hash to be hex.
/// </summary>
internal sealed partial record PackageManifest(
    IReadOnlyList<(string Path, string ShortHash)> Hashes,
    IReadOnlyList<(string Path, string Url)> Urls,
    IReadOnlyList<(string Name, string? Version)> Deps,
    string? Version)
{
    /// <summary>Reads a package.json.</summary>
    /// <param name="json">Its bytes.</param>
    /// <param name="source">Where it came from, for messages.</param>
    /// <exception cref="MipPackageException">Not a package, or a path or hash that is refused.</exception>
    public static PackageManifest Parse(ReadOnlySpan<byte> json, string source)
    {
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 8 });
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Refused(source, "it is not a JSON object");
            }

            var hashes = Pairs(root, "hashes", source, required: true)
                .Select(p => (CheckPath(p.First, source), CheckHash(p.Second!, p.First, source)))
                .ToList();
            var urls = Pairs(root, "urls", source, required: true).Select(p => (CheckPath(p.First, source), p.Second!)).ToList();
            var deps = Pairs(root, "deps", source, required: false).ToList();
            string? version = root.TryGetProperty("version", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            return new PackageManifest(hashes, urls, deps, version);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw Refused(source, "it is not valid JSON", ex);
        }
    }

    /// <summary>
    /// Checks a path a package names, relative to the target folder: plain segments joined by <c>/</c>; no
    /// <c>..</c> or <c>.</c>, no empty segment (so no leading <c>/</c>), no backslash or control character.
    /// </summary>
    /// <exception cref="MipPackageException">The path would leave the target folder, or is no plain path.</exception>
    public static string CheckPath(string path, string source)
    {
        if (path.Length == 0 || path.Length > 200 || path.StartsWith('/') || path.Any(c => c < ' ' || c is '\x7f' or '\\')
            || path.Split('/').Any(s => s.Length == 0 || s is "." or ".."))
        {
            throw new MipPackageException(
                $"The package at {PrintableText.Escape(source)} names the file '{PrintableText.Escape(path)}', which is not a plain path below the target folder " +
                "(an absolute path, '..', an empty part or a control character); refused, nothing was installed.");
        }

        return path;
    }

    private static string CheckHash(string hash, string path, string source) =>
        ShortHash().IsMatch(hash)
            ? hash.ToLowerInvariant()
            : throw Refused(source, $"the hash of '{PrintableText.Escape(path)}' is '{PrintableText.Escape(hash)}', not 8 to 64 hex digits of a SHA-256");

    /// <summary>An array of <c>[string, string]</c> (a dependency's version may be missing or null).</summary>
    private static IEnumerable<(string First, string? Second)> Pairs(JsonElement root, string key, string source, bool required)
    {
        if (!root.TryGetProperty(key, out var array) || array.ValueKind == JsonValueKind.Null)
        {
            yield break;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw Refused(source, $"'{key}' is not a list");
        }

        foreach (var item in array.EnumerateArray())
        {
            int length = item.ValueKind == JsonValueKind.Array ? item.GetArrayLength() : 0;
            bool ok = length == 2 || (!required && length == 1);
            if (!ok || item[0].ValueKind != JsonValueKind.String ||
                (length == 2 && item[1].ValueKind != JsonValueKind.String && (required || item[1].ValueKind != JsonValueKind.Null)))
            {
                throw Refused(source, $"an entry of '{key}' is not a pair of strings");
            }

            yield return (item[0].GetString()!, length == 2 ? item[1].GetString() : null);
        }
    }

    private static MipPackageException Refused(string source, string why, Exception? inner = null) =>
        new($"The package at {PrintableText.Escape(source)} was refused: {why}.", inner);

    [GeneratedRegex("^[0-9A-Fa-f]{8,64}$")]
    private static partial Regex ShortHash();
}
