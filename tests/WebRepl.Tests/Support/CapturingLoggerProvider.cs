using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace WebRepl.Tests.Support;

/// <summary>One log call, with everything it carried rendered as text.</summary>
internal sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, string State, string? Exception)
{
    public string AllText => $"{Category} {EventId} {Message} {State} {Exception}";
}

/// <summary>A logger factory that keeps every entry at every level, scopes included, for tests to inspect.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider, ILoggerFactory
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("This factory only captures.");

    public void Dispose()
    {
    }

    private static string Render(object? state) => state switch
    {
        null => string.Empty,
        IEnumerable<KeyValuePair<string, object?>> pairs => string.Join(", ", pairs.Select(p => $"{p.Key}={p.Value}")),
        _ => state.ToString() ?? string.Empty,
    };

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            owner._entries.Enqueue(new LogEntry(category, LogLevel.None, default, "scope", Render(state), null));
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception), Render(state), exception?.ToString()));
    }
}
