using System.Text;
using WebRepl.Gateway.Sessions;

namespace WebRepl.Fuzz.Targets;

/// <summary>
/// The gateway's UTF-8 sanitizer for browser clients, on a board's text split into frames. Invariants: every
/// output is valid UTF-8; at most 3 bytes are held back, and only the start of a character; the outputs joined
/// are the same whatever the split (the same as the whole text in one frame); valid UTF-8 passes unchanged; each
/// invalid byte becomes U+FFFD and valid characters are kept (the output is what .NET's own decoder makes of the
/// text). Input: [piece count] [piece sizes...] [the board's text].
/// </summary>
public static class Utf8Sanitizing
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 1)
        {
            return;
        }

        var (pieces, data) = Check.SplitPieces(input[1..], input[0] & 7);
        var sanitizer = new Utf8Sanitizer();
        var joined = new List<byte>();
        int at = 0;
        for (int piece = 0; piece == 0 || at < data.Length; piece++)
        {
            // Empty frames too; past a bound the rest goes in one piece, so that zero sizes cannot loop.
            int size = pieces.IsEmpty || piece > data.Length + 8 ? data.Length - at : Math.Min(data.Length - at, pieces.Span[piece % pieces.Length]);
            var output = sanitizer.Sanitize(data.AsMemory(at, size));
            Check.That(System.Text.Unicode.Utf8.IsValid(output.Span), "an output is not valid UTF-8");
            Check.That(sanitizer.Pending <= 3, "more than 3 bytes held back");
            joined.AddRange(output.Span);
            at += size;
        }

        // What is still held back at the end is an incomplete character: the whole text's decoding shows it as U+FFFD.
        byte[] whole = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(data));
        byte[] held = sanitizer.Pending > 0 ? Encoding.UTF8.GetBytes("\uFFFD") : [];
        Check.That(joined.Concat(held).SequenceEqual(whole), "the joined output is not the text with invalid bytes replaced");
        if (System.Text.Unicode.Utf8.IsValid(data))
        {
            Check.That(sanitizer.Pending == 0 && joined.SequenceEqual(data), "valid UTF-8 did not pass unchanged");
        }
    }
}
