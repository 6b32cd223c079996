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
        inner.Log(logLevel, eventId, state, exception, (s, e) => PrintableText.Escape(formatter(s, e)));
}
