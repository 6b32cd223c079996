using System.Text.Json;

namespace WebRepl.Tests.Vectors;

/// <summary>
/// The reference vectors in <c>tests/vectors</c> (written by its make-vectors.py from the firmware's C code), which
/// the pages' unit tests (<c>web/test</c>) read too: one set of bytes for both languages.
/// </summary>
internal static class VectorFile
{
    private static readonly Lazy<string> Folder = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "vectors");
            if (File.Exists(Path.Combine(candidate, "requests.json")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"tests/vectors not found above {AppContext.BaseDirectory}.");
    });

    /// <summary>The folder, for files beside the vectors (docs/protocol.md).</summary>
    public static string Directory => Folder.Value;

    /// <summary>A vector file's root element.</summary>
    public static JsonElement Load(string name)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder.Value, name)));
        return document.RootElement.Clone();
    }

    /// <summary>The items of an array property, for xUnit's member data (each as its JSON text, which prints well).</summary>
    public static TheoryData<string> Items(string name, string property)
    {
        var data = new TheoryData<string>();
        foreach (var item in Load(name).GetProperty(property).EnumerateArray())
        {
            data.Add(item.GetRawText());
        }

        return data;
    }

    /// <summary>Parses one item that <see cref="Items"/> gave.</summary>
    public static JsonElement Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>A hex property's bytes.</summary>
    public static byte[] Bytes(this JsonElement element, string property = "hex") =>
        Convert.FromHexString(element.GetProperty(property).GetString()!);

    /// <summary>A string property, or null when it is JSON null.</summary>
    public static string? Text(this JsonElement element, string property) =>
        element.GetProperty(property).ValueKind == JsonValueKind.Null ? null : element.GetProperty(property).GetString();
}
