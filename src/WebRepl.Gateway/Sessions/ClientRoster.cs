using Microsoft.Extensions.Logging;
using static WebRepl.Gateway.Sessions.SessionLog;

namespace WebRepl.Gateway.Sessions;

/// <summary>
/// Who is in a <see cref="BoardSession"/>: its clients in the order they came, the one that opened it, and those that
/// receive the board's output (the authenticated ones). Called under the session's lock, except
/// <see cref="CheckTimers"/>, which takes it.
/// </summary>
internal sealed class ClientRoster(Lock gate, GatewayOptions options, ILogger logger)
{
    private readonly List<GatewayClient> _clients = [];

    /// <summary>The client that opened the session (it may have left since).</summary>
    public GatewayClient? Opener { get; private set; }

    /// <summary>The opener while it is still in the session, else null.</summary>
    public GatewayClient? PresentOpener => Opener is { } o && _clients.Contains(o) ? o : null;

    /// <summary>The clients that receive the board's output.</summary>
    public GatewayClient[] Receivers { get; private set; } = [];

    /// <summary>How many clients are in the session.</summary>
    public int Count => _clients.Count;

    /// <summary>The clients, as a copy.</summary>
    public GatewayClient[] ToArray() => [.. _clients];

    /// <summary>Adds a client (the first one opens the session and logs in); false with a reason when it may not join.</summary>
    public bool TryAdd(GatewayClient client, out string? refusal)
    {
        refusal = null;
        if (_clients.Count > 0 && options.Exclusive)
        {
            refusal = "the board is in use by another client of this gateway (it runs with --exclusive)";
            return false;
        }

        if (_clients.Count >= options.MaxClientsPerSession)
        {
            refusal = $"the board already has {_clients.Count} clients, the most the gateway allows (--max-clients)";
            return false;
        }

        _clients.Add(client);
        if (Opener is null)
        {
            Opener = client;
            client.State = ClientState.LoggingIn;
        }

        return true;
    }

    /// <summary>Takes a client out; false when it had left already.</summary>
    public bool Remove(GatewayClient client) => _clients.Remove(client);

    /// <summary>Follows the clients' states: every authenticated client receives the board's output.</summary>
    public void RefreshReceivers() =>
        Receivers = [.. _clients.Where(c => c.State == ClientState.Authenticated)];

    /// <summary>The session closes: no one receives any more.</summary>
    public void ClearReceivers() => Receivers = [];

    /// <summary>The clients for <c>GET /api/sessions</c>.</summary>
    public ClientInfo[] Describe() =>
        [.. _clients.Select(c => new ClientInfo(
            c.Id,
            c.Remote,
            c.Origin,
            c.IsViewer,
            c.State switch
            {
                ClientState.AwaitingPassword => "awaiting-password",
                ClientState.LoggingIn => "logging-in",
                _ => "authenticated",
            },
            c.Since,
            c.BytesIn,
            c.BytesOut))];

    /// <summary>The registry's timer: pings idle clients, drops the ones that do not take their output, closes the ones that never logged in.</summary>
    public void CheckTimers(long now, Action<GatewayClient> drop)
    {
        GatewayClient[] slow;
        GatewayClient[] late;
        GatewayClient[] all;
        lock (gate)
        {
            all = [.. _clients];
            slow = [.. all.Where(c => c.IsStalled(now))];
            late = [.. all.Where(c => c.State != ClientState.Authenticated && !c.LoginExpired && now - c.SinceTick > (long)options.LoginTimeout.TotalMilliseconds)];
            foreach (var client in late)
            {
                client.LoginExpired = true;
            }
        }

        if (options.ClientKeepAlive > TimeSpan.Zero)
        {
            // Pings go to clients only: a board ignores them and never answers.
            long interval = (long)options.ClientKeepAlive.TotalMilliseconds;
            foreach (var client in all)
            {
                client.KeepAlive(now, interval);
            }
        }

        foreach (var client in slow)
        {
            drop(client); // its pending send is cancelled, which frees whoever waits on it
        }

        foreach (var client in late)
        {
            // A client that never finishes its password must not hold the board (or a place) for good; an opener's
            // leaving ends the session, which lets go of the board.
            string reason = $"no login within {options.LoginTimeout.TotalSeconds:0} s";
            LogClientDropped(logger, client.Name, reason);
            _ = client.CloseAsync(CloseReason.PolicyViolation, reason + ": connect again and send the password");
        }
    }
}
