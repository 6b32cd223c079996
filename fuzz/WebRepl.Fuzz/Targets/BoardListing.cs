using System.Text;
using WebRepl.Repl;

namespace WebRepl.Fuzz.Targets;

/// <summary>
/// The board listing parser (<c>BoardFiles.ParseListing</c>: what <c>ls</c>, <c>cp -r</c>, <c>get</c> and
/// <c>sync</c> read from a board). Invariants: a listing is read whole, one entry per line, each with a path and a
/// size of zero or more; anything else is a <see cref="WebReplProtocolException"/> whose message holds no control
/// character (it is printed); no other exception. Input: the listing program's output, as UTF-8.
/// </summary>
public static class BoardListing
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        string output = Encoding.UTF8.GetString(input);
        List<BoardEntry> entries;
        try
        {
            entries = BoardFiles.ParseListing(output);
        }
        catch (WebReplProtocolException ex)
        {
            Check.That(!ex.Message.Any(char.IsControl), "the error message holds a control character");
            return;
        }

        int lines = output.Split(["\r\n", "\n"], StringSplitOptions.RemoveEmptyEntries).Length;
        Check.That(entries.Count == lines, $"{entries.Count} entries from {lines} lines");
        foreach (var entry in entries)
        {
            Check.That(entry.Path.Length > 0 && entry.Size >= 0, "an entry without a path, or with a negative size");
            Check.That(!entry.Name.Contains('/', StringComparison.Ordinal), "an entry's name holds '/'");
            Check.That(!entry.IsDirectory || entry.Size >= 0, "a folder with a size");
        }
    }
}
