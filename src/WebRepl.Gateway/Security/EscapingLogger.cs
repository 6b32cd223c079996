using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace WebRepl.Gateway.Security;

/// <summary>
/// The gateway's logger: every message is written with its control characters escaped. Log lines quote what
/// clients and boards send (paths, origins, close reasons, error text); a raw ESC or line feed in them would
/// recolour the operator's terminal or forge a log line. Escaping in one place covers every line, present and future.
/// </summary>
internal sealed class EscapingLogger(ILogger inner) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        inner.Log(logLevel, eventId, state, exception, (s, e) => Escape(formatter(s, e)));

    /// <summary>
    /// The text with C0 and C1 control characters, DEL, line and paragraph separators and bidirectional
    /// overrides shown as <c>\xNN</c> or <c>\uNNNN</c>: one printable line, whatever a client sent.
    /// </summary>
    public static string Escape(string text)
    {
        int first = 0;
        while (first < text.Length && !NeedsEscape(text[first]))
        {
            first++;
        }

        if (first == text.Length)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 16).Append(text, 0, first);
        for (int i = first; i < text.Length; i++)
        {
            char c = text[i];
            if (!NeedsEscape(c))
            {
                builder.Append(c);
            }
            else if (c <= '\xff')
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
            }
            else
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
        }

        return builder.ToString();
    }

    private static bool NeedsEscape(char c) =>
        char.IsControl(c) || c is '\u2028' or '\u2029' or (>= '\u202a' and <= '\u202e') or (>= '\u2066' and <= '\u2069');
}
