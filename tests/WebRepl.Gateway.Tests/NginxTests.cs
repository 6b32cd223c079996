using System.Net;
using System.Net.Http;
using System.Text;
using WebRepl.Gateway.Tests.Support;
using WebRepl.Transport;

namespace WebRepl.Gateway.Tests;

/// <summary>
/// The gateway behind real nginx terminating TLS, with the site of docs/nginx/webrepl-gateway.conf: wss through
/// nginx to a board, idle sessions kept alive by the gateway's pings past nginx's read timeout, and the origin,
/// target and lockout policies as they are without nginx.
/// </summary>
public sealed class NginxTests
{
    /// <summary>nginx's proxy_read_timeout in these tests, far below its default of 60 s.</summary>
    private const int ReadTimeoutSeconds = 2;

    [Fact]
    public async Task BehindNginx_IdleSessionLongerThanReadTimeout_KeptAliveByPings()
    {
        Assert.SkipWhen(NginxProxy.FindNginx() is null, NginxProxy.Missing);
        using var cts = TestTimeout.Start(60);
        await using var board = TestBoard.Start();
        await using var setup = await Setup.StartAsync(o => o with { ClientKeepAlive = TimeSpan.FromSeconds(0.5) }, cts.Token);
        await using var client = await LoginAsync(setup.Nginx, setup.Nginx.WssBase + "/" + board.Url, cts.Token);

        // Three of nginx's read timeouts with nothing typed and nothing printed; only the gateway's pings go by.
        await Task.Delay(TimeSpan.FromSeconds(3 * ReadTimeoutSeconds), cts.Token);

        await client.SendAsync("after the pause\r"u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
        await client.ReadTextUntilAsync("after the pause\r", cts.Token);
        Assert.Single(setup.Gateway.Gateway.Sessions);
    }

    [Fact]
    public async Task BehindNginx_KeepAliveOff_IdleSessionCutByNginx()
    {
        // The other side of the test above: without the pings, nginx's timeout does cut an idle session.
        Assert.SkipWhen(NginxProxy.FindNginx() is null, NginxProxy.Missing);
        using var cts = TestTimeout.Start(60);
        await using var board = TestBoard.Start();
        await using var setup = await Setup.StartAsync(o => o with { ClientKeepAlive = TimeSpan.Zero }, cts.Token);
        await using var client = await LoginAsync(setup.Nginx, setup.Nginx.WssBase + "/" + board.Url, cts.Token);

        var close = await client.ReadCloseAsync(cts.Token);

        Assert.Null(close.CloseStatus); // dropped by nginx, not closed by the gateway
        while (setup.Gateway.Gateway.Sessions.Count > 0)
        {
            await Task.Delay(50, cts.Token);
        }
    }

    [Fact]
    public async Task BehindNginx_ForeignOriginRefused_OwnOriginAllowed()
    {
        Assert.SkipWhen(NginxProxy.FindNginx() is null, NginxProxy.Missing);
        using var cts = TestTimeout.Start(30);
        await using var board = TestBoard.Start();
        await using var setup = await Setup.StartAsync(null, cts.Token);
        string url = setup.Nginx.WssBase + "/" + board.Url;

        using (var foreign = await BrowserClient.ConnectAsync(url, "https://evil.example", cts.Token, o => o.RemoteCertificateValidationCallback = setup.Nginx.Validation))
        {
            var (status, description) = await foreign.ReadCloseAsync(cts.Token);
            Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.PolicyViolation, status);
            Assert.Contains("--allow-origin https://evil.example", description, StringComparison.Ordinal);
        }

        // The page nginx serves (its origin allowed with --allow-origin, as docs/nginx/README.md says).
        using var page = await BrowserClient.ConnectAsync(url, setup.Nginx.Origin, cts.Token, o => o.RemoteCertificateValidationCallback = setup.Nginx.Validation);
        await page.ReadUntilAsync("Password: ", cts.Token);
        await page.SendTextAsync(TestBoard.Password + "\r", cts.Token);
        await page.ReadUntilAsync("WebREPL connected", cts.Token);
    }

    [Fact]
    public async Task BehindNginx_TargetOutsideAllowList_RefusedWithoutConnecting()
    {
        Assert.SkipWhen(NginxProxy.FindNginx() is null, NginxProxy.Missing);
        using var cts = TestTimeout.Start(30);
        await using var forbidden = new ScriptedPeer(IPAddress.Parse("127.0.0.2"));
        await using var setup = await Setup.StartAsync(o => o with { AllowedTargets = ["127.0.0.1"] }, cts.Token);

        await using var client = await ConnectAsync(setup.Nginx, setup.Nginx.WssBase + "/" + forbidden.Url, cts.Token);
        var close = await client.ReadCloseAsync(cts.Token);

        Assert.Equal(1008, close.CloseStatus);
        Assert.Contains("127.0.0.2", close.CloseReason, StringComparison.Ordinal);
        Assert.Equal(0, forbidden.Accepted);
    }

    [Fact]
    public async Task BehindNginx_ForwardedForNotTrusted_LockoutCountsNginxAddress()
    {
        Assert.SkipWhen(NginxProxy.FindNginx() is null, NginxProxy.Missing);
        using var cts = TestTimeout.Start(40);
        await using var board = TestBoard.Start();
        await using var setup = await Setup.StartAsync(o => o with { LoginFailureLimit = 2 }, cts.Token);
        string url = setup.Nginx.WssBase + "/" + board.Url;

        // A guesser that makes up a new X-Forwarded-For for every try is still one address to the gateway.
        await GuessAsync(setup.Nginx, url, "192.0.2.1", cts.Token);
        await GuessAsync(setup.Nginx, url, "192.0.2.2", cts.Token);

        await using var refused = await ConnectAsync(setup.Nginx, url, cts.Token, "192.0.2.3");
        var close = await refused.ReadCloseAsync(cts.Token);
        Assert.Equal(1008, close.CloseStatus);
        Assert.Contains("too many wrong passwords from 127.0.0.1", close.CloseReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BehindNginx_ProxyTrusted_LockoutCountsForwardedAddress()
    {
        Assert.SkipWhen(NginxProxy.FindNginx() is null, NginxProxy.Missing);
        using var cts = TestTimeout.Start(40);
        await using var board = TestBoard.Start();
        await using var setup = await Setup.StartAsync(o => o with { LoginFailureLimit = 2, TrustedProxies = ["127.0.0.1"] }, cts.Token);
        string url = setup.Nginx.WssBase + "/" + board.Url;

        // Here the test's clients are on 127.0.0.1 too, so the address they send is the one nginx vouches for.
        await GuessAsync(setup.Nginx, url, "192.0.2.7", cts.Token);
        await GuessAsync(setup.Nginx, url, "192.0.2.7", cts.Token);

        await using (var refused = await ConnectAsync(setup.Nginx, url, cts.Token, "192.0.2.7"))
        {
            var close = await refused.ReadCloseAsync(cts.Token);
            Assert.Equal(1008, close.CloseStatus);
            Assert.Contains("too many wrong passwords from 192.0.2.7", close.CloseReason, StringComparison.Ordinal);
        }

        await using var other = await LoginAsync(setup.Nginx, url, cts.Token, "192.0.2.8");
    }

    [Fact]
    public async Task BehindNginx_PagesHealthAndBoardList_Served()
    {
        Assert.SkipWhen(NginxProxy.FindNginx() is null, NginxProxy.Missing);
        using var cts = TestTimeout.Start(30);
        await using var setup = await Setup.StartAsync(o => o with { Boards = new Dictionary<string, string> { ["lab1"] = "ws://127.0.0.1:8266" } }, cts.Token);
        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, certificate, _, _) => setup.Nginx.Validation(null!, certificate, null, default) };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(setup.Nginx.Origin) };

        string page = await http.GetStringAsync("/", cts.Token);
        Assert.Contains("<html", page, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("""{"status":"ok","sessions":0}""", await http.GetStringAsync("/healthz", cts.Token));
        Assert.Equal("""[{"name":"lab1","path":"/boards/lab1","board":"ws://127.0.0.1:8266/"}]""", await http.GetStringAsync("/api/boards", cts.Token));

        // A name nginx does not serve (a DNS-rebinding page's) gets no answer at all.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/boards");
        request.Headers.Host = "rebound.example";
        await Assert.ThrowsAsync<HttpRequestException>(() => http.SendAsync(request, cts.Token));
    }

    private static Task<WebSocketConnection> ConnectAsync(NginxProxy nginx, string url, CancellationToken cancellationToken, string? forwardedFor = null) =>
        WebSocketConnection.ConnectAsync(
            WebReplTarget.Parse(url),
            new WebSocketConnectOptions
            {
                RemoteCertificateValidation = nginx.Validation,
                RequestHeaders = forwardedFor is null ? [] : [new("X-Forwarded-For", forwardedFor)],
            },
            cancellationToken);

    private static async Task<WebSocketConnection> LoginAsync(NginxProxy nginx, string url, CancellationToken cancellationToken, string? forwardedFor = null)
    {
        var connection = await ConnectAsync(nginx, url, cancellationToken, forwardedFor);
        await connection.ReadTextUntilAsync("Password: ", cancellationToken);
        await connection.SendAsync(Encoding.ASCII.GetBytes(TestBoard.Password + "\r"), WebSocketFrameType.Text, true, cancellationToken);
        await connection.ReadTextUntilAsync("WebREPL connected\r\n>>> ", cancellationToken);
        return connection;
    }

    private static async Task GuessAsync(NginxProxy nginx, string url, string forwardedFor, CancellationToken cancellationToken)
    {
        await using var guesser = await ConnectAsync(nginx, url, cancellationToken, forwardedFor);
        await guesser.ReadTextUntilAsync("Password: ", cancellationToken);
        await guesser.SendAsync("wrong\r"u8.ToArray(), WebSocketFrameType.Text, true, cancellationToken);
        await guesser.ReadTextUntilAsync("Access denied", cancellationToken);
        await guesser.ReadCloseAsync(cancellationToken);
    }

    /// <summary>A gateway (its pages' origin, nginx's, allowed) and nginx in front of it.</summary>
    private sealed class Setup(TestGateway gateway, NginxProxy nginx) : IAsyncDisposable
    {
        public TestGateway Gateway { get; } = gateway;

        public NginxProxy Nginx { get; } = nginx;

        public static async Task<Setup> StartAsync(Func<GatewayOptions, GatewayOptions>? configure, CancellationToken cancellationToken)
        {
            int port = NginxProxy.FreePort();
            var gateway = await TestGateway.StartAsync(
                o => (configure?.Invoke(o) ?? o) with { AllowedOrigins = [$"https://localhost:{port}"] },
                cancellationToken);
            try
            {
                return new Setup(gateway, await NginxProxy.StartAsync(port, gateway.Port, ReadTimeoutSeconds, cancellationToken));
            }
            catch
            {
                await gateway.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Nginx.DisposeAsync();
            await Gateway.DisposeAsync();
        }
    }
}
