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

    // Clients logging in, by address key (LoginGuard.AddressKey). Its own lock, taken last and alone: sessions
    // release a client under their own lock.
    private readonly Lock _pendingGate = new();
    private readonly Dictionary<string, int> _pending = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _timers;
    private readonly int _namedBoards;

    public SessionRegistry(GatewayOptions options, ILogger logger, int namedBoards = 0)
    {
        // A named board always has room for its session: /ws:// targets, which anyone may name by the hundred, get
        // the rest of --max-sessions.
        _namedBoards = namedBoards;
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
            if (!TryHoldPending(client, out string? busy))
            {
                return (null, busy);
            }

            var (session, refusal) = JoinOrOpen(key, target, address, name, client);
            if (session is null)
            {
                LoginDone(client);
            }

            return (session, refusal);
        }
    }

    /// <summary>The client has logged in or left: it no longer counts towards its address's clients logging in.</summary>
    public void LoginDone(GatewayClient client)
    {
        lock (_pendingGate)
        {
            if (client.PendingKey is { } key)
            {
                client.PendingKey = null;
                if (--_pending[key] <= 0)
                {
                    _pending.Remove(key);
                }
            }
        }
    }

    private bool TryHoldPending(GatewayClient client, out string? refusal)
    {
        refusal = null;
        int limit = _options.MaxPendingLoginsPerAddress;
        if (limit <= 0)
        {
            return true;
        }

        string key = Security.LoginGuard.AddressKey(client.Address);
        lock (_pendingGate)
        {
            int count = _pending.GetValueOrDefault(key);
            if (count >= limit)
            {
                refusal = $"{count} connections from {(key.EndsWith("/64", StringComparison.Ordinal) ? key : client.Address?.ToString() ?? key)} are logging in already, " +
                    "the most the gateway allows (--max-pending-logins): log in or close them first";
                return false;
            }

            _pending[key] = count + 1;
            client.PendingKey = key;
            return true;
        }
    }

    /// <summary>Under the lock: joins the board's session, or opens one.</summary>
    private (BoardSession? Session, string? Refusal) JoinOrOpen(string key, WebReplTarget target, IPAddress? address, string? name, GatewayClient client)
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
        else if (name is null && _sessions.Values.Count(v => v.Name is null) >= Math.Max(0, _options.MaxSessions - _namedBoards))
        {
            return (null, _namedBoards == 0
                ? $"the gateway already holds {_sessions.Count} board sessions, the most it allows (--max-sessions)"
                : $"the gateway already holds {_sessions.Count} board sessions, the most it allows (--max-sessions, of which {_namedBoards} are kept for its named boards)");
        }

        var session = new BoardSession(this, key, target, address, name, _options, _logger);
        session.TryAdd(client, out _);
        _sessions[key] = session;
        session.Start(previous);
        return (session, null);
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
                    Math.Min(Math.Min(_options.TransferStallTimeout.TotalMilliseconds, _options.ClientSendTimeout.TotalMilliseconds), _options.LoginTimeout.TotalMilliseconds),
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
