using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using WebRepl.Gateway.Hosting;
using WebRepl.Gateway.Security;
using WebRepl.Gateway.Sessions;
using WebRepl.Transport;

namespace WebRepl.Gateway;

/// <summary>
/// The WebREPL gateway: an ASP.NET Core (Kestrel) server that forwards <c>ws(s)://GATEWAY/ws://BOARD:8266</c>
/// and <c>/boards/NAME</c> to boards, message by message, so that HTTPS pages (which cannot open <c>ws://</c>)
/// and several clients at once (a board accepts one) can use a board. It also answers <c>GET /healthz</c>,
/// <c>GET /api/sessions</c> and <c>GET /api/boards</c>, and serves the static pages of its web root at <c>/</c>.
/// <code>
///  browser / webrepl ──ws(s)──► Kestrel ─► origin check ─► target check ─► BoardSession ──ws──► board
///                                 ├─ /healthz, /api/sessions, /api/boards  (shared by clients)
///                                 └─ static files (wwwroot)
/// </code>
/// </summary>
public sealed partial class WebReplGateway : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly SessionRegistry _sessions;
    private readonly CancellationTokenSource _stopping;
    private readonly X509Certificate2? _certificate;
    private int _disposed;

    private WebReplGateway(
        WebApplication app,
        SessionRegistry sessions,
        CancellationTokenSource stopping,
        X509Certificate2? certificate,
        IReadOnlyList<Uri> urls,
        IReadOnlyDictionary<string, WebReplTarget> boards,
        string targetsDescription,
        string originsDescription,
        bool certificateGenerated,
        string? certificatePath)
    {
        _app = app;
        _sessions = sessions;
        _stopping = stopping;
        _certificate = certificate;
        Urls = urls;
        Boards = boards;
        AllowedTargetsDescription = targetsDescription;
        AllowedOriginsDescription = originsDescription;
        CertificateGenerated = certificateGenerated;
        CertificatePath = certificatePath;
        CertificateFingerprint = certificate is null ? null : GatewayCertificates.Fingerprint(certificate);
    }

    /// <summary>Where the gateway listens: <c>http://</c> or <c>https://</c> URLs with the real ports (also for port 0).</summary>
    public IReadOnlyList<Uri> Urls { get; }

    /// <summary>The WebSocket base URLs (<c>ws://</c> or <c>wss://</c>): append <c>/ws://HOST:PORT</c> or <c>/boards/NAME</c>.</summary>
    public IReadOnlyList<string> WebSocketUrls => [.. Urls.Select(u => (u.Scheme == "https" ? "wss://" : "ws://") + u.Authority)];

    /// <summary>The named boards.</summary>
    public IReadOnlyDictionary<string, WebReplTarget> Boards { get; }

    /// <summary>The named boards as <c>GET /api/boards</c> shows them, by name.</summary>
    public IReadOnlyList<BoardInfo> BoardList => BoardInfo.List(Boards);

    /// <summary>The TLS certificate's SHA-256 fingerprint, when TLS is on.</summary>
    public string? CertificateFingerprint { get; }

    /// <summary>True when a self-signed certificate was generated at this start (not read from the cache).</summary>
    public bool CertificateGenerated { get; }

    /// <summary>Where the self-signed certificate is cached.</summary>
    public string? CertificatePath { get; }

    /// <summary>What targets are allowed, in words.</summary>
    public string AllowedTargetsDescription { get; }

    /// <summary>What origins are allowed, in words.</summary>
    public string AllowedOriginsDescription { get; }

    /// <summary>The buffers of the gateway's own transport (null with Kestrel's): what its connections hold.</summary>
    internal RelayMemoryPool? TransportPool { get; private init; }

    /// <summary>The board sessions now.</summary>
    public IReadOnlyList<SessionInfo> Sessions => _sessions.Describe();

    /// <summary>
    /// The environment variable that chooses the listeners' transport: unset, the gateway's own (reads of up to
    /// 64 KiB); <c>kestrel</c>, Kestrel's socket transport (4 KiB reads), should ours ever misbehave.
    /// </summary>
    public const string TransportVariable = "WEBREPL_GATEWAY_TRANSPORT";

    /// <summary>The runtime's switch that runs socket completions on the thread that polls the sockets.</summary>
    private const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>The thread pool's spin-wait limit, as an environment variable and as a runtime setting.</summary>
    private const string SpinLimitVariable = "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit";
    private const string SpinLimitSetting = "System.Threading.ThreadPool.UnfairSemaphoreSpinLimit";

    /// <summary>
    /// Tunes the .NET runtime of a process whose work is relaying through the gateway (<c>webrepl gateway</c>).
    /// Call it first in <c>Main</c>, before anything uses the thread pool or a socket; settings the user made in the
    /// environment are kept. Socket completions then run on the thread that polls the sockets, and so do Kestrel's
    /// (<see cref="StartAsync"/> follows the same switch): a frame goes from client to board, or back, without a hop
    /// between threads. Idle thread-pool workers sleep at once instead of spinning: a relay's workers idle between
    /// every two frames, and their spinning took CPU from the boards and clients that share the machine (on the
    /// benchmark's 2 vCPUs: a third of the gateway's CPU, and five times the context switches).
    /// </summary>
    public static void TuneProcessForRelay()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null)
        {
            Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
        }

        if (Environment.GetEnvironmentVariable(SpinLimitVariable) is null && AppContext.GetData(SpinLimitSetting) is null)
        {
            AppContext.SetData(SpinLimitSetting, 0);
        }
    }

    /// <summary>Checks the options, starts Kestrel and returns once it listens.</summary>
    /// <exception cref="GatewayConfigurationException">A bad option (rule, origin, named board, TLS choice).</exception>
    /// <exception cref="GatewayStartException">The port is in use, or a certificate cannot be read.</exception>
    public static async Task<WebReplGateway> StartAsync(GatewayOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        var targets = TargetPolicy.Create(options.AllowedTargets);
        var origins = new OriginPolicy(options.AllowedOrigins);
        var boards = ParseBoards(options.Boards);
        ILogger logger = new EscapingLogger(options.LoggerFactory.CreateLogger<WebReplGateway>());

        X509Certificate2? certificate = null;
        bool generated = false;
        string? certificatePath = null;
        if (options.Tls is { } tls)
        {
            certificate = GatewayCertificates.Load(tls, options.Listen, out generated, out certificatePath);
        }

        string? webRoot = options.WebRoot ?? Path.Combine(AppContext.BaseDirectory, "wwwroot");
        var builder = CreateBuilder(options, certificate, out var transport);
        var app = builder.Build();
        var sessions = new SessionRegistry(options, logger, boards.Count);
        var stopping = new CancellationTokenSource();
        var ownHosts = new HostNames();
        var endpoint = new ForwardingEndpoint(options, targets, origins, boards, sessions, logger, stopping.Token);
        app.Use((context, next) => RouteAsync(context, next, endpoint, sessions, boards, ownHosts));

        // The static pages (a browser terminal at /, an Edrys module at /edrys/) come from the web root.
        if (Directory.Exists(webRoot))
        {
            var files = new PhysicalFileProvider(Path.GetFullPath(webRoot));
            app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
            app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
        }

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsAddressInUse(ex) || IsAddressInUse(ex.InnerException))
        {
            await DisposeAfterFailureAsync(app, sessions, stopping, certificate).ConfigureAwait(false);
            var endPoint = options.Listen[0];
            throw new GatewayStartException(
                $"Port {endPoint.Port} on {endPoint.Address} is in use (another gateway or the Python proxy?). Choose another with --port, or 0 for any free port.", ex);
        }
        catch (Exception ex) when (ex is IOException or SocketException or InvalidOperationException)
        {
            await DisposeAfterFailureAsync(app, sessions, stopping, certificate).ConfigureAwait(false);
            throw new GatewayStartException($"Cannot listen on {string.Join(", ", options.Listen)}: {ex.Message} Check --bind and --port.", ex);
        }

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var urls = addresses.Select(a => new Uri(a)).ToList();
        var known = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var url in urls)
        {
            var hosts = OwnHosts(url);
            known.UnionWith(hosts);
            origins.AddOwn(url.Scheme, hosts, url.Port);
            LogListening(logger, url.ToString());
        }

        Volatile.Write(ref ownHosts.Names, known);

        return new WebReplGateway(app, sessions, stopping, certificate, urls, boards, targets.Describe(), origins.Describe(), generated, certificatePath)
        {
            TransportPool = transport?.Pool,
        };
    }

    /// <summary>The names this gateway answers to (known once it listens); the lists are served to these only.</summary>
    private sealed class HostNames
    {
#pragma warning disable SA1401, CA1051 // Replaced whole, read with Volatile.Read: a field, so that it can be passed by reference.
        public HashSet<string> Names = new(StringComparer.OrdinalIgnoreCase) { "localhost" };
#pragma warning restore SA1401, CA1051
    }

    /// <summary>Kestrel on the listen addresses (HTTP/1.1 only, TLS when a certificate is given), on the gateway's transport unless the environment asks for Kestrel's.</summary>
    private static WebApplicationBuilder CreateBuilder(GatewayOptions options, X509Certificate2? certificate, out RelayTransportFactory? transport)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Services.AddSingleton(options.LoggerFactory);
        builder.Services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        builder.Services.AddRoutingCore();
        // A library: the program that hosts the gateway owns Ctrl-C and SIGTERM, not ASP.NET Core's console lifetime.
        builder.Services.AddSingleton<IHostLifetime, HostedByCaller>();

        // The pair the runtime documents: Kestrel's continuations inline where the socket completions are inline
        // (see TuneProcessForRelay). The gateway's work per frame is short and never blocks.
        bool inline = Environment.GetEnvironmentVariable(InlineCompletionsVariable) == "1";
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = inline);
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // A WebSocket may be quiet for long and a board slow: no data-rate limits on upgraded connections.
            kestrel.Limits.MinRequestBodyDataRate = null;
            kestrel.Limits.MinResponseDataRate = null;
            foreach (var endPoint in options.Listen)
            {
                kestrel.Listen(endPoint, listen =>
                {
                    // HTTP/1.1 only: a WebSocket is then always an upgraded HTTP/1.1 request, whatever the browser.
                    listen.Protocols = HttpProtocols.Http1;
                    if (certificate is not null)
                    {
                        listen.UseHttps(certificate);
                    }
                });
            }
        });

        transport = null;
        if (!string.Equals(Environment.GetEnvironmentVariable(TransportVariable), "kestrel", StringComparison.OrdinalIgnoreCase))
        {
            // Our transport for the TCP listeners (RelayTransport.cs: reads of up to 64 KiB where Kestrel's take 4 KiB).
            transport = new RelayTransportFactory(inline);
            builder.Services.RemoveAll<Microsoft.AspNetCore.Connections.IConnectionListenerFactory>();
            builder.Services.AddSingleton<Microsoft.AspNetCore.Connections.IConnectionListenerFactory>(transport);
        }

        return builder;
    }

    /// <summary>
    /// The gateway's routes before the static pages: the forwarding endpoint, <c>/healthz</c>, the session and board
    /// lists (to this machine's names only), and CORS for the public static files.
    /// </summary>
    private static async Task RouteAsync(
        HttpContext context,
        RequestDelegate next,
        ForwardingEndpoint endpoint,
        SessionRegistry sessions,
        IReadOnlyDictionary<string, WebReplTarget> boards,
        HostNames ownHosts)
    {
        string path = context.Request.Path.Value ?? "/";
        if (ForwardingEndpoint.Matches(context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget ?? path))
        {
            await endpoint.HandleAsync(context).ConfigureAwait(false);
            return;
        }

        if (HttpMethods.IsGet(context.Request.Method) && path == "/healthz")
        {
            await context.Response.WriteAsJsonAsync(new Health("ok", sessions.Count), GatewayJsonContext.Default.Health, cancellationToken: context.RequestAborted).ConfigureAwait(false);
            return;
        }

        if (HttpMethods.IsGet(context.Request.Method) && path is "/api/sessions" or "/api/boards")
        {
            // Board addresses and client addresses: not for a DNS-rebinding page, whose Host is its own name.
            string host = context.Request.Host.Host.Trim('[', ']');
            if (!IPAddress.TryParse(host, out _) && !Volatile.Read(ref ownHosts.Names).Contains(host))
            {
                string list = path == "/api/boards" ? "board list" : "session list";
                context.Response.StatusCode = StatusCodes.Status421MisdirectedRequest;
                await context.Response.WriteAsync($"The {list} answers to this machine's names and addresses only, not '{host}'.\n", context.RequestAborted).ConfigureAwait(false);
                return;
            }

            if (path == "/api/boards")
            {
                await context.Response.WriteAsJsonAsync(BoardInfo.List(boards), GatewayJsonContext.Default.IReadOnlyListBoardInfo, cancellationToken: context.RequestAborted).ConfigureAwait(false);
                return;
            }

            await context.Response.WriteAsJsonAsync(sessions.Describe(), GatewayJsonContext.Default.IReadOnlyListSessionInfo, cancellationToken: context.RequestAborted).ConfigureAwait(false);
            return;
        }

        if (!path.StartsWith("/api/", StringComparison.Ordinal))
        {
            // The static pages are public files that other sites' pages may read: Edrys fetches a module's page to
            // read its title and settings (an error there leaves the module out of the class). Only reading: the
            // WebSockets keep their origin policy, and the session and board lists (above) get no such header.
            if (HttpMethods.IsOptions(context.Request.Method))
            {
                AllowCrossOrigin(context);
                context.Response.Headers.Allow = "GET, HEAD, OPTIONS";
                context.Response.StatusCode = StatusCodes.Status204NoContent;
                return;
            }

            if (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
            {
                AllowCrossOrigin(context);
            }
        }

        await next(context).ConfigureAwait(false);
    }

    /// <summary>CORS for a public static file: any page may read it (no credentials), and ask first (a preflight).</summary>
    private static void AllowCrossOrigin(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.AccessControlAllowOrigin = "*";
        if (HttpMethods.IsOptions(context.Request.Method))
        {
            headers.AccessControlAllowMethods = "GET, HEAD, OPTIONS";
            var asked = context.Request.Headers.AccessControlRequestHeaders;
            if (asked.Count > 0)
            {
                headers.AccessControlAllowHeaders = asked;
            }

            headers.AccessControlMaxAge = "86400";
        }
    }

    /// <summary>Closes every session (clients get code 1001 and a reason), then stops Kestrel.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _sessions.CloseAllAsync(CloseReason.GoingAway, "the gateway is stopping").ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        await _sessions.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _certificate?.Dispose();
    }

    private static bool IsAddressInUse(Exception? ex) =>
        ex is Microsoft.AspNetCore.Connections.AddressInUseException or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse };

    private static async Task DisposeAfterFailureAsync(WebApplication app, SessionRegistry sessions, CancellationTokenSource stopping, X509Certificate2? certificate)
    {
        await app.DisposeAsync().ConfigureAwait(false);
        await sessions.DisposeAsync().ConfigureAwait(false);
        stopping.Dispose();
        certificate?.Dispose();
    }

    private static void Validate(GatewayOptions options)
    {
        if (options.Listen.Count == 0)
        {
            throw new GatewayConfigurationException("The gateway needs an address to listen on.");
        }

        if (options.MaxSessions < 1 || options.MaxClientsPerSession < 1)
        {
            throw new GatewayConfigurationException("--max-sessions and --max-clients must be at least 1.");
        }

        if (options.MaxMessageBytes < 1024)
        {
            throw new GatewayConfigurationException("--max-message must be at least 1024 bytes (a WebREPL request record alone is 82).");
        }

        if (options.LoginFailureLimit < 0 || (options.LoginFailureLimit > 0 && (options.LoginFailureWindow <= TimeSpan.Zero || options.LoginLockout <= TimeSpan.Zero)))
        {
            throw new GatewayConfigurationException("--login-failures must be 0 (no limit) or more, with a positive window and lockout.");
        }

        if (options.LoginTimeout <= TimeSpan.Zero || options.MaxPendingLoginsPerAddress < 0)
        {
            throw new GatewayConfigurationException("The login timeout must be positive, and --max-pending-logins 0 (no limit) or more.");
        }

        foreach (var (name, password) in options.BoardPasswords)
        {
            if (!options.Boards.ContainsKey(name))
            {
                throw new GatewayConfigurationException($"A password is given for the board '{name}', which is not a named board: add it to Boards.");
            }

            int length = System.Text.Encoding.UTF8.GetByteCount(password ?? string.Empty);
            if (length is < 1 or > WebReplClient.MaxPasswordLength || password!.AsSpan().IndexOfAny('\r', '\n') >= 0)
            {
                throw new GatewayConfigurationException($"The password for the board '{name}' must have 1 to {WebReplClient.MaxPasswordLength} bytes and no line end, as a board's.");
            }
        }

        _ = Security.ProxyTrust.Create(options.TrustedProxies);
        if (options.ClientKeepAlive < TimeSpan.Zero)
        {
            throw new GatewayConfigurationException("--client-keepalive must be 0 (no pings) or a positive number of seconds.");
        }

        if (options.IdleTimeout < TimeSpan.Zero || options.ConnectTimeout <= TimeSpan.Zero || options.ClientSendTimeout <= TimeSpan.Zero || options.TransferStallTimeout <= TimeSpan.Zero)
        {
            throw new GatewayConfigurationException("Timeouts must be positive (the idle timeout may be 0: none).");
        }
    }

    private static Dictionary<string, WebReplTarget> ParseBoards(IReadOnlyDictionary<string, string> boards)
    {
        var parsed = new Dictionary<string, WebReplTarget>(StringComparer.Ordinal);
        foreach (var (name, url) in boards)
        {
            if (string.IsNullOrWhiteSpace(name) || name.AsSpan().IndexOfAny("/?#% ") >= 0)
            {
                throw new GatewayConfigurationException($"'{name}' is not a board name: use letters, digits, '-', '_' or '.' (it becomes the path /boards/NAME).");
            }

            if (!WebReplTarget.TryParse(url, out var target, out string? error))
            {
                throw new GatewayConfigurationException($"The board '{name}': {error}");
            }

            parsed[name] = target;
        }

        return parsed;
    }

    /// <summary>The names a browser may use for this gateway: never the request's Host header (DNS rebinding), only what this machine is.</summary>
    private static HashSet<string> OwnHosts(Uri url)
    {
        var hosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost", "127.0.0.1", "::1", url.Host.Trim('[', ']') };
        try
        {
            string name = Dns.GetHostName();
            hosts.Add(name);
            if (IPAddress.TryParse(url.Host.Trim('[', ']'), out var bound) && (bound.Equals(IPAddress.Any) || bound.Equals(IPAddress.IPv6Any)))
            {
                foreach (var address in System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
                    .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(a => a.Address))
                {
                    hosts.Add(address.ToString());
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or System.Net.NetworkInformation.NetworkInformationException)
        {
            // Without these names the gateway is still reachable as localhost and by its address.
        }

        return hosts;
    }

    internal sealed record Health(string Status, int Sessions);

    private sealed class HostedByCaller : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Gateway listening on {Url}")]
    private static partial void LogListening(ILogger logger, string url);
}
