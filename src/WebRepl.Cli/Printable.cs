using System.Globalization;
using System.Text;

namespace WebRepl.Cli;

/// <summary>
/// Text from a board (file names, error messages) made safe for a terminal. A name such as
/// <c>"\x1b]0;OWNED\x07\x1b[2Jtitle.txt"</c> would otherwise set the terminal's title and clear the screen when
/// listed, and a line end in a name would forge an output line. Used for everything the command prints that a
/// board chose and that is not the board's own terminal output (which <c>repl</c>, <c>exec</c> and <c>cat</c>
/// pass on unchanged, as a terminal should); <c>--json</c> output is exact JSON instead.
/// </summary>
internal static class Printable
{
    /// <summary>
    /// Control characters (C0, DEL, C1: escape sequences, line ends, backspace) as <c>\xHH</c>, and the
    /// characters that reorder text on screen (bidirectional overrides and isolates) as <c>\uHHHH</c>.
    /// </summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.Any(NeedsEscape))
        {
            return text;
        }

        var escaped = new StringBuilder(text.Length + 16);
        foreach (char c in text)
        {
            if (!NeedsEscape(c))
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

    private static bool NeedsEscape(char c) =>
        char.IsControl(c) || c is >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069' or '\u200e' or '\u200f' or '\u061c';
}
