using System.Text;
using System.Text.Json;
using WebRepl.Gateway.Sessions;

namespace WebRepl.Gateway.Tests.Sessions.Output;

/// <summary>
/// <see cref="Utf8Sanitizer"/> against <c>tests/vectors/utf8-frames.json</c>: what a browser gets for a board's
/// text frames (a split character joined, an invalid sequence as U+FFFD). The pages' unit tests read the same
/// vectors: every message valid UTF-8, and the raw-paste window read through U+FFFD.
/// </summary>
public sealed class Utf8SanitizerVectorTests
{
    public static TheoryData<string> Vectors
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var vector in Load().GetProperty("vectors").EnumerateArray())
            {
                data.Add(vector.GetRawText());
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Sanitize_BoardFrames_GivesTheVectorsOutputFrameByFrame(string json)
    {
        using var document = JsonDocument.Parse(json);
        var vector = document.RootElement;
        string[] frames = [.. vector.GetProperty("frames").EnumerateArray().Select(f => f.GetString()!)];
        string[] expected = [.. vector.GetProperty("sanitized").EnumerateArray().Select(f => f.GetString()!)];
        var sanitizer = new Utf8Sanitizer();

        string[] actual = [.. frames.Select(frame => Convert.ToHexStringLower(sanitizer.Sanitize(Convert.FromHexString(frame)).Span))];

        Assert.Equal(expected, actual);
        Assert.Equal(0, sanitizer.Pending);
        Assert.Equal(vector.GetProperty("text").GetString(), string.Concat(actual.Select(a => Encoding.UTF8.GetString(Convert.FromHexString(a)))));
    }

    [Fact]
    public void Vectors_AreThere() => Assert.True(Load().GetProperty("vectors").GetArrayLength() >= 5);

    private static JsonElement Load()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string path = Path.Combine(dir.FullName, "tests", "vectors", "utf8-frames.json");
            if (File.Exists(path))
            {
                using var document = JsonDocument.Parse(File.ReadAllText(path));
                return document.RootElement.Clone();
            }
        }

        throw new FileNotFoundException($"tests/vectors/utf8-frames.json not found above {AppContext.BaseDirectory}.");
    }
}
