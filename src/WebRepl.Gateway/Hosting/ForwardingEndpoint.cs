using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using WebRepl.Gateway.Security;
using WebRepl.Gateway.Sessions;
using WebRepl.Transport;

namespace WebRepl.Gateway.Hosting;

/// <summary>
/// <c>/ws://HOST:PORT[/...]</c>, <c>/wss://...</c> and <c>/boards/NAME</c>: checks the origin, the target and
/// the limits, upgrades the request to a WebSocket (our framing, so text frames stay bytes), and hands the
/// client to the board's session. A browser cannot read an HTTP error of a failed upgrade, so a refusal is an
/// accepted WebSocket closed at once with code 1008 and the reason; a plain HTTP request gets 400 or 426.
/// </summary>
internal sealed partial class ForwardingEndpoint(
    GatewayOptions options,
    TargetPolicy targets,
    OriginPolicy origins,
    IReadOnlyDictionary<string, WebReplTarget> boards,
    SessionRegistry sessions,
    ILogger logger,
    CancellationToken stopping)
{
    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private readonly ProxyTrust _proxies = ProxyTrust.Create(options.TrustedProxies);

    /// <summary>True for the paths this endpoint serves.</summary>
    public static bool Matches(string path) =>
        path.StartsWith("/ws:", StringComparison.OrdinalIgnoreCase) ||
        path.StartsWith("/wss:", StringComparison.OrdinalIgnoreCase) ||
        path.StartsWith("/boards/", StringComparison.Ordinal);

    public async Task HandleAsync(HttpContext context)
    {
        string raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "/";
        int queryAt = raw.IndexOf('?', StringComparison.Ordinal);
        string path = queryAt < 0 ? raw : raw[..queryAt];
        bool viewer = context.Request.Query.ContainsKey("view");
        // Wrong passwords are counted by this address: the connection's, unless it comes from a trusted proxy.
        var clientAddress = _proxies.ClientOf(context.Connection.RemoteIpAddress, context.Request.Headers["X-Forwarded-For"]);
        string remote = Equals(clientAddress, context.Connection.RemoteIpAddress)
            ? $"{context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}"
            : $"{clientAddress} via {context.Connection.RemoteIpAddress}:{context.Connection.RemotePort}";
        string? origin = context.Request.Headers.Origin.Count > 0 ? context.Request.Headers.Origin.ToString() : null;
        var upgrade = context.Features.Get<IHttpUpgradeFeature>();
        bool isWebSocket = upgrade is { IsUpgradableRequest: true } &&
            HttpMethods.IsGet(context.Request.Method) &&
            context.Request.Headers.Upgrade.ToString().Contains("websocket", StringComparison.OrdinalIgnoreCase);

        if (isWebSocket && !origins.IsAllowed(origin))
        {
            LogOriginRefused(logger, origin!, remote);
            await RefuseAsync(context, upgrade!, CloseReason.PolicyViolation, $"origin {origin} not allowed: start the gateway with --allow-origin {origin}").ConfigureAwait(false);
            return;
        }

        if (!TryResolveTarget(path, out var target, out string? name, out string? error))
        {
            LogBadRequest(logger, path, remote, error);
            if (isWebSocket)
            {
                await RefuseAsync(context, upgrade!, CloseReason.PolicyViolation, error).ConfigureAwait(false);
            }
            else
            {
                await PlainAsync(context, StatusCodes.Status400BadRequest, error).ConfigureAwait(false);
            }

            return;
        }

        if (!isWebSocket)
        {
            await PlainAsync(
                context,
                StatusCodes.Status426UpgradeRequired,
                $"This address forwards a WebSocket to {target}: open it with a WebSocket client (e.g. webrepl -t ws://HOST:PORT{path} repl).").ConfigureAwait(false);
            return;
        }

        var (allowed, address) = await AdmitAsync(context, upgrade!, target, name, clientAddress, origin, remote).ConfigureAwait(false);
        if (!allowed)
        {
            return;
        }

        var connection = await AcceptAsync(context, upgrade!).ConfigureAwait(false);
        if (connection is null)
        {
            return;
        }

        var client = new GatewayClient(connection, remote, origin, viewer, options.ClientSendTimeout, clientAddress)
        {
            AutoPassword = AutoPasswordFor(context, name, clientAddress, origin),
        };
        var (session, refusal) = sessions.Join(target, address, name, client);
        if (session is null)
        {
            LogRefused(logger, client.Name, remote, refusal!);
            await client.CloseAsync(CloseReason.TryAgainLater, refusal!).ConfigureAwait(false);
            await DrainCloseAsync(connection).ConfigureAwait(false);
            await client.DisposeAsync().ConfigureAwait(false);
            return;
        }

        // Not RequestAborted: Kestrel fires it as soon as the client's FIN arrives, and reads then fail even for
        // data already received (a client that sends its last frames and closes would lose them). The end of the
        // stream ends the receive loop instead.
        await session.RunClientAsync(client, stopping).ConfigureAwait(false);
    }

    /// <summary>
    /// The checks before a WebSocket is accepted: the client's address not locked out for wrong passwords, and a target
    /// given by URL allowed by the target policy (then the address to connect to). Refuses the upgrade when not.
    /// </summary>
    private async Task<(bool Allowed, System.Net.IPAddress? Address)> AdmitAsync(
        HttpContext context, IHttpUpgradeFeature upgrade, WebReplTarget target, string? name, System.Net.IPAddress? clientAddress, string? origin, string remote)
    {
        if (sessions.Logins.IsLockedOut(clientAddress, origin, SessionRegistry.KeyOf(target), out string reason))
        {
            LogLockedOut(logger, remote, reason);
            await RefuseAsync(context, upgrade, CloseReason.PolicyViolation, reason).ConfigureAwait(false);
            return (false, null);
        }

        if (name is not null)
        {
            return (true, null);
        }

        var decision = await targets.CheckAsync(target, context.RequestAborted).ConfigureAwait(false);
        if (!decision.Allowed)
        {
            LogTargetRefused(logger, target.ToString(), remote, decision.Reason!);
            await RefuseAsync(context, upgrade, CloseReason.PolicyViolation, $"target refused: {decision.Reason}").ConfigureAwait(false);
            return (false, null);
        }

        return (true, decision.Address);
    }

    /// <summary>
    /// The password line the gateway types for a client of a named board, or null: only for a page on this machine
    /// from a named origin (the station), so that the password never has to be in the page's settings (see
    /// GatewayOptions.BoardPasswords).
    /// </summary>
    private byte[]? AutoPasswordFor(HttpContext context, string? name, System.Net.IPAddress? clientAddress, string? origin)
    {
        // Forwarded by a proxy the gateway does not trust: the peer is the proxy, not the client, so it proves nothing.
        bool forwardedUntrusted = context.Request.Headers.ContainsKey("X-Forwarded-For") && Equals(clientAddress, context.Connection.RemoteIpAddress);
        return name is not null && options.BoardPasswords.TryGetValue(name, out string? password) && !forwardedUntrusted &&
            clientAddress is { } ip && System.Net.IPAddress.IsLoopback(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip) &&
            origins.IsNamed(origin)
            ? Encoding.UTF8.GetBytes(password + "\r")
            : null;
    }

    internal bool TryResolveTarget(string path, out WebReplTarget target, out string? name, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        target = null!;
        name = null;
        error = null;
        string decoded;
        try
        {
            decoded = Uri.UnescapeDataString(path);
        }
        catch (UriFormatException)
        {
            error = "the path is not valid percent-encoding";
            return false;
        }

        if (decoded.StartsWith("/boards/", StringComparison.Ordinal))
        {
            name = decoded["/boards/".Length..].TrimEnd('/');
            if (boards.TryGetValue(name, out var named))
            {
                target = named;
                return true;
            }

            error = boards.Count == 0
                ? $"no board named '{PrintableText.Escape(name)}': this gateway has no named boards (--board NAME=ws://HOST:PORT)"
                : $"no board named '{PrintableText.Escape(name)}'; named boards: {string.Join(", ", boards.Keys.Order(StringComparer.Ordinal))}";
            return false;
        }

        string url = decoded[1..];
        if (!WebReplTarget.TryParse(url, out var parsed, out string? parseError) ||
            !(url.StartsWith("ws://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("wss://", StringComparison.OrdinalIgnoreCase)))
        {
            error = $"malformed target: {(parseError ?? $"'{PrintableText.Escape(url)}' is not a ws:// or wss:// URL")} Use /ws://HOST:PORT, e.g. /ws://192.168.4.1:8266";
            return false;
        }

        target = parsed;
        return true;
    }

    /// <summary>Completes the opening handshake ourselves (RFC 6455 section 4.2.2): no subprotocol, no extension.</summary>
    private async Task<WebSocketConnection?> AcceptAsync(HttpContext context, IHttpUpgradeFeature upgrade)
    {
        string key = context.Request.Headers.SecWebSocketKey.ToString().Trim();
        if (key.Length == 0 || context.Request.Headers.SecWebSocketVersion.ToString().Trim() != "13")
        {
            context.Response.Headers.SecWebSocketVersion = "13";
            await PlainAsync(context, StatusCodes.Status400BadRequest, "A WebSocket upgrade needs Sec-WebSocket-Key and Sec-WebSocket-Version: 13.").ConfigureAwait(false);
            return null;
        }

#pragma warning disable CA5350 // RFC 6455 defines the accept value with SHA-1; it is not used for security.
        string accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + AcceptGuid)));
#pragma warning restore CA5350
        context.Response.Headers.Connection = "Upgrade";
        context.Response.Headers.Upgrade = "websocket";
        context.Response.Headers.SecWebSocketAccept = accept;
        var stream = await upgrade.UpgradeAsync().ConfigureAwait(false);
        // Small buffers: a gateway holds many idle connections; large frames are read straight into their arrays.
        return WebSocketConnection.CreateServer(stream, options.MaxMessageBytes, receiveBufferSize: 4096);
    }

    private async Task RefuseAsync(HttpContext context, IHttpUpgradeFeature upgrade, int code, string reason)
    {
        var connection = await AcceptAsync(context, upgrade).ConfigureAwait(false);
        if (connection is null)
        {
            return;
        }

        await using (connection.ConfigureAwait(false))
        {
            using var timeout = new CancellationTokenSource(options.ClientSendTimeout);
            try
            {
                await connection.CloseAsync(code, CloseReason.Fit(reason), timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            await DrainCloseAsync(connection).ConfigureAwait(false);
        }
    }

    /// <summary>Waits briefly for the client's answer to our close frame, so that it reads the reason before the TCP close.</summary>
    private static async Task DrainCloseAsync(WebSocketConnection connection)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            while ((await connection.ReceiveAsync(timeout.Token).ConfigureAwait(false)).Type != WebSocketFrameType.Close)
            {
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebReplException)
        {
        }
    }

    private static async Task PlainAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(message + "\n", context.RequestAborted).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 330, Level = LogLevel.Warning, Message = "Refused a WebSocket from origin {Origin} ({Remote}): start the gateway with --allow-origin {Origin} to allow it")]
    private static partial void LogOriginRefused(ILogger logger, string origin, string remote);

    [LoggerMessage(EventId = 331, Level = LogLevel.Warning, Message = "Refused target {Target} asked by {Remote}: {Reason}; the gateway did not connect to it")]
    private static partial void LogTargetRefused(ILogger logger, string target, string remote, string reason);

    [LoggerMessage(EventId = 332, Level = LogLevel.Information, Message = "Bad request {Path} from {Remote}: {Reason}")]
    private static partial void LogBadRequest(ILogger logger, string path, string remote, string reason);

    [LoggerMessage(EventId = 334, Level = LogLevel.Warning, Message = "Refused {Remote}: {Reason}")]
    private static partial void LogLockedOut(ILogger logger, string remote, string reason);

    [LoggerMessage(EventId = 333, Level = LogLevel.Warning, Message = "Refused client {Client} ({Remote}): {Reason}")]
    private static partial void LogRefused(ILogger logger, string client, string remote, string reason);
}
