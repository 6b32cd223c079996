using System.Globalization;
using System.Text;

namespace WebRepl;

/// <summary>
/// Text that a board or a client chose (file names, paths, error text), made safe to print on a terminal or in a
/// log line. A name such as <c>"\x1b]0;OWNED\x07\x1b[2Jtitle.txt"</c> would otherwise set the terminal's title and
/// clear the screen, a line end would forge an output or log line, and a bidirectional override would reorder what
/// the reader sees.
/// </summary>
public static class PrintableText
{
    /// <summary>
    /// Control characters (C0, DEL, C1) as <c>\xHH</c>; line and paragraph separators and the characters that
    /// reorder text on screen (bidirectional marks, overrides and isolates) as <c>\uHHHH</c>. Other text is kept.
    /// </summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int first = text.AsSpan().IndexOfAny(Unsafe);
        if (first < 0)
        {
            return text;
        }

        var escaped = new StringBuilder(text.Length + 16).Append(text, 0, first);
        for (int i = first; i < text.Length; i++)
        {
            char c = text[i];
            if (!Unsafe.Contains(c))
            {
                escaped.Append(c);
            }
            else if (c <= '\u00ff')
            {
                escaped.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            }
            else
            {
                escaped.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
        }

        return escaped.ToString();
    }

    private static readonly System.Buffers.SearchValues<char> Unsafe = System.Buffers.SearchValues.Create(
        string.Concat(Enumerable.Range(0, 0x20).Concat(Enumerable.Range(0x7f, 0x21)).Select(c => (char)c)) +
        "\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069");
}
