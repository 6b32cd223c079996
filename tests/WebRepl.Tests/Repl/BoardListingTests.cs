using WebRepl.Repl;

namespace WebRepl.Tests.Repl;

/// <summary>The board listing parser, on what a board (untrusted) may print; see also fuzz/ (target board-listing).</summary>
public sealed class BoardListingTests
{
    [Fact]
    public void ParseListing_EntryLines_EntriesInOrder()
    {
        var entries = BoardFiles.ParseListing("[\"/a\", 0, 12]\r\n[\"/d\", 1, 0]\n");

        Assert.Equal([new BoardEntry("/a", false, 12), new BoardEntry("/d", true, 0)], entries);
    }

    [Theory]
    [InlineData("Traceback (most recent call last):")]
    [InlineData("[\"/a\", 0]")]
    [InlineData("{\"a\": 1}")]
    [InlineData("[1, 0, 12]")]
    [InlineData("[\"/a\", \"x\", 12]")]
    [InlineData("[\"/a\", 0, -5]")]
    [InlineData("[\"\", 0, 1]")]
    [InlineData("[\"\\ud800\", 0, 1]")] // a lone surrogate: JSON holds it, a .NET string cannot (InvalidOperationException before)
    public void ParseListing_LineNotAnEntry_ProtocolException(string line)
    {
        var ex = Assert.Throws<WebReplProtocolException>(() => BoardFiles.ParseListing("[\"/ok\", 0, 1]\n" + line + "\n"));

        Assert.Contains("not [path, is_dir, size]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParseListing_BadLineWithEscapes_MessageShowsThemEscaped()
    {
        var ex = Assert.Throws<WebReplProtocolException>(() => BoardFiles.ParseListing("\u001b]0;OWNED\u0007\u001b[2J\n"));

        Assert.DoesNotContain(ex.Message, char.IsControl);
        Assert.Contains("\\x1b]0;OWNED\\x07", ex.Message, StringComparison.Ordinal);
    }
}
