using System.Net;
using Microsoft.Extensions.Logging;
using WebRepl.Transport;

namespace WebRepl.Gateway.Sessions;

/// <summary>The board sessions by board: a client opening a board that has a session joins it.</summary>
internal sealed class SessionRegistry : IAsyncDisposable
{
    private readonly GatewayOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, BoardSession> _sessions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _released = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _timers;

    public SessionRegistry(GatewayOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        Logins = new Security.LoginGuard(options.LoginFailureLimit, options.LoginFailureWindow, options.LoginLockout);
        _timers = Task.Run(RunTimersAsync);
    }

    /// <summary>Wrong passwords by client address, for every session.</summary>
    public Security.LoginGuard Logins { get; }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _sessions.Count;
            }
        }
    }

    /// <summary>The key of a board: its URL with the host in lower case (the path counts: behind another gateway it names the board).</summary>
    public static string KeyOf(WebReplTarget target) =>
        (target.IsSecure ? "wss://" : "ws://") + target.Authority.ToLowerInvariant() + target.Path;

    /// <summary>Adds a client to the board's session, opening one when there is none; a reason when it cannot.</summary>
    public (BoardSession? Session, string? Refusal) Join(WebReplTarget target, IPAddress? address, string? name, GatewayClient client)
    {
        string key = KeyOf(target);
        lock (_gate)
        {
            Task? previous = null;
            if (_sessions.TryGetValue(key, out var existing))
            {
                if (existing.TryAdd(client, out string? refusal))
                {
                    return (existing, null);
                }

                if (refusal is not null)
                {
                    return (null, refusal);
                }

                previous = existing.Released; // closing: the new session connects once it has let go of the board
            }
            else if (_sessions.Count >= _options.MaxSessions)
            {
                return (null, $"the gateway already holds {_sessions.Count} board sessions, the most it allows (--max-sessions)");
            }

            var session = new BoardSession(this, key, target, address, name, _options, _logger);
            session.TryAdd(client, out _);
            _sessions[key] = session;
            session.Start(previous);
            return (session, null);
        }
    }

    public void Remove(BoardSession session)
    {
        lock (_gate)
        {
            if (_sessions.TryGetValue(session.Key, out var current) && ReferenceEquals(current, session))
            {
                _sessions.Remove(session.Key);
            }

            _released[session.Key] = Environment.TickCount64;
        }
    }

    /// <summary>True when a session on this board ended within the last two seconds.</summary>
    public bool ReleasedRecently(string key)
    {
        lock (_gate)
        {
            return _released.TryGetValue(key, out long at) && Environment.TickCount64 - at < 2000;
        }
    }

    public IReadOnlyList<SessionInfo> Describe()
    {
        BoardSession[] sessions;
        lock (_gate)
        {
            sessions = [.. _sessions.Values];
        }

        return [.. sessions.Select(s => s.Describe()).OrderBy(s => s.Since)];
    }

    /// <summary>Ends every session with a reason and waits (a little) until they have let go of their boards.</summary>
    public async Task CloseAllAsync(int code, string reason)
    {
        BoardSession[] sessions;
        lock (_gate)
        {
            sessions = [.. _sessions.Values];
        }

        foreach (var session in sessions)
        {
            session.End(code, reason);
        }

        await Task.WhenAll(sessions.Select(s => s.Released)).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _timers.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task RunTimersAsync()
    {
        var period = TimeSpan.FromMilliseconds(Math.Clamp(
            Math.Min(
                _options.IdleTimeout > TimeSpan.Zero ? _options.IdleTimeout.TotalMilliseconds / 4 : 5000,
                Math.Min(
                    Math.Min(_options.TransferStallTimeout.TotalMilliseconds, _options.ClientSendTimeout.TotalMilliseconds),
                    _options.ClientKeepAlive > TimeSpan.Zero ? _options.ClientKeepAlive.TotalMilliseconds : double.MaxValue) / 4),
            50,
            5000));
        using var timer = new PeriodicTimer(period);
        while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
        {
            BoardSession[] sessions;
            lock (_gate)
            {
                sessions = [.. _sessions.Values];
                long now = Environment.TickCount64;
                foreach (var key in _released.Where(p => now - p.Value > 10_000).Select(p => p.Key).ToList())
                {
                    _released.Remove(key);
                }
            }

            long tick = Environment.TickCount64;
            foreach (var session in sessions)
            {
                session.CheckTimers(tick);
            }
        }
    }
}
