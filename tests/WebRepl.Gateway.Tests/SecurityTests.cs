using System.Net;
using System.Net.Http;
using System.Net.Security;
using System.Net.WebSockets;
using Microsoft.Extensions.Logging;
using WebRepl.Gateway.Tests.Support;
using WebRepl.Transport;

namespace WebRepl.Gateway.Tests;

/// <summary>Secure by default: targets, origins, the password in logs, TLS, malformed requests, limits.</summary>
public sealed class SecurityTests
{
    [Fact]
    public async Task TargetOutsideAllowList_ClosedWith1008_WithoutConnecting()
    {
        using var cts = TestTimeout.Start();
        // A listener on 127.0.0.2 (still loopback) that must never see a connection.
        await using var forbidden = new ScriptedPeer(IPAddress.Parse("127.0.0.2"));
        await using var gateway = await TestGateway.StartAsync(o => o with { AllowedTargets = ["127.0.0.1"] }, cts.Token);

        await using var client = await RawClient.ConnectAsync(gateway.Forward(forbidden.Url), cts.Token);
        var close = await client.ReadCloseAsync(cts.Token);

        Assert.Equal(1008, close.CloseStatus);
        Assert.Contains("127.0.0.2", close.CloseReason, StringComparison.Ordinal);
        await Task.Delay(200, cts.Token);
        Assert.Equal(0, forbidden.Accepted);
        Assert.Empty(gateway.Gateway.Sessions);
        Assert.Contains(gateway.Logs.Entries, e => e.EventId.Id == 331 && e.Level == LogLevel.Warning);
    }

    [Fact]
    public async Task WrongPasswords_AddressLockedOut_AtEveryBoard_SessionsOnOtherAddressesGoOn()
    {
        using var cts = TestTimeout.Start(30);
        await using var board = TestBoard.Start();
        await using var other = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(o => o with { LoginFailureLimit = 3 }, cts.Token);
        // A session that is open already (from this address too) is not cut by the lockout that follows.
        await using var working = await RawClient.LoginAsync(gateway.Forward(other.Url), cts.Token);

        for (int attempt = 0; attempt < 3; attempt++)
        {
            await using var guesser = await RawClient.ConnectAsync(gateway.Forward(board.Url), cts.Token);
            await guesser.ReadTextUntilAsync("Password: ", cts.Token);
            await guesser.SendAsync(System.Text.Encoding.ASCII.GetBytes($"guess{attempt}\r"), WebSocketFrameType.Text, true, cts.Token);
            await guesser.ReadTextUntilAsync("Access denied", cts.Token);
            await guesser.ReadCloseAsync(cts.Token);
        }

        // Now refused at once, right password or not, at any board.
        foreach (string url in new[] { board.Url, other.Url })
        {
            await using var refused = await RawClient.ConnectAsync(gateway.Forward(url), cts.Token);
            var close = await refused.ReadCloseAsync(cts.Token);
            Assert.Equal(1008, close.CloseStatus);
            Assert.Contains("too many wrong passwords", close.CloseReason, StringComparison.Ordinal);
        }

        Assert.Contains(gateway.Logs.Entries, e => e.EventId.Id == 324 && e.Level == LogLevel.Warning);
        await working.SendAsync("still here\r"u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
        await working.ReadTextUntilAsync("still here\r", cts.Token);
    }

    [Fact]
    public async Task TargetInsideAllowList_Forwarded()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(o => o with { AllowedTargets = ["127.0.0.1/32"] }, cts.Token);
        await using var client = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
    }

    [Fact]
    public async Task HostNameTarget_ResolvedAndChecked()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        // localhost resolves to loopback only: allowed by default.
        await using var client = await RawClient.LoginAsync(gateway.Forward($"ws://localhost:{board.Port}"), cts.Token);
    }

    [Fact]
    public async Task ForeignOrigin_Refused_WithReasonAndFlagInLog()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);

        using var browser = await BrowserClient.ConnectAsync(gateway.Forward(board.Url), "https://evil.example", cts.Token);
        var (status, description) = await browser.ReadCloseAsync(cts.Token);

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
        Assert.Contains("--allow-origin https://evil.example", description, StringComparison.Ordinal);
        Assert.False(board.Server.HasSession);
        var log = Assert.Single(gateway.Logs.Entries, e => e.EventId.Id == 330);
        Assert.Contains("--allow-origin https://evil.example", log.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AllowedOrigin_OwnOrigin_AndNoOrigin_Accepted()
    {
        using var cts = TestTimeout.Start();
        await using var gateway = await TestGateway.StartAsync(o => o with { AllowedOrigins = ["https://edrys-labs.github.io"] }, cts.Token);
        foreach (string? origin in new[] { "https://edrys-labs.github.io", gateway.Origin, $"http://localhost:{gateway.Port}", null })
        {
            await using var board = TestBoard.Start();
            using var browser = await BrowserClient.ConnectAsync(gateway.Forward(board.Url), origin, cts.Token);
            await browser.ReadUntilAsync("Password: ", cts.Token);
            await browser.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);
        }

        // A page whose name points at this machine (DNS rebinding) sends its own name as Origin and Host: refused.
        await using var other = TestBoard.Start();
        using var rebinding = await BrowserClient.ConnectAsync(gateway.Forward(other.Url), $"http://attacker.example:{gateway.Port}", cts.Token);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, (await rebinding.ReadCloseAsync(cts.Token)).Status);
    }

    [Fact]
    public async Task MalformedTarget_400ForHttp_1008ForWebSocket()
    {
        using var cts = TestTimeout.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        using var http = new HttpClient();

        var response = await http.GetAsync(new Uri(gateway.Url, "/ws://no-port-here:99999"), cts.Token);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("malformed target", await response.Content.ReadAsStringAsync(cts.Token), StringComparison.Ordinal);

        response = await http.GetAsync(new Uri(gateway.Url, "/ws://127.0.0.1:8266"), cts.Token);
        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);

        await using var client = await RawClient.ConnectAsync($"{gateway.WsBase}/ws://[::1", cts.Token);
        var close = await client.ReadCloseAsync(cts.Token);
        Assert.Equal(1008, close.CloseStatus);
        Assert.Contains("malformed target", close.CloseReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Password_NeverInLogs_AtTraceLevel()
    {
        using var cts = TestTimeout.Start(30);
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);

        // The opener logs in, a joiner logs in, a joiner types a wrong password, and a viewer logs in.
        await using var first = await WebReplClient.ConnectAndLoginAsync(gateway.Forward(board.Url), TestBoard.Password, cancellationToken: cts.Token);
        await using var second = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
        await using var viewer = await RawClient.LoginAsync(gateway.Forward(board.Url, "?view"), cts.Token);
        await Assert.ThrowsAsync<WebReplAuthenticationException>(() => WebReplClient.ConnectAndLoginAsync(gateway.Forward(board.Url), "guessme", cancellationToken: cts.Token));
        await first.SendInputAsync("print(1)\r", cts.Token);
        await first.PutFileAsync(new MemoryStream(new byte[3000]), "f.bin", cancellationToken: cts.Token);

        var entries = gateway.Logs.Entries;
        Assert.Contains(entries, e => e.Level == LogLevel.Trace || e.Level == LogLevel.Debug);
        Assert.DoesNotContain(entries, e => e.AllText.Contains(TestBoard.Password, StringComparison.Ordinal));
        Assert.DoesNotContain(entries, e => e.AllText.Contains("guessme", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.EventId.Id == 316); // the wrong password is reported, not shown
    }

    [Fact]
    public async Task SelfSignedTls_WssWorks_AndFingerprintMatches()
    {
        using var cts = TestTimeout.Start(30);
        await using var board = TestBoard.Start();
        string cache = Directory.CreateTempSubdirectory("webrepl-gateway-cert-").FullName;
        try
        {
            await using var gateway = await TestGateway.StartAsync(o => o with { Tls = new GatewayTlsOptions { SelfSigned = true, CacheFolder = cache } }, cts.Token);
            Assert.Equal("https", gateway.Url.Scheme);
            Assert.StartsWith("wss://", gateway.WsBase, StringComparison.Ordinal);
            Assert.True(gateway.Gateway.CertificateGenerated);
            Assert.NotNull(gateway.Gateway.CertificateFingerprint);

            string? seen = null;
            var options = new WebReplClientOptions
            {
                RemoteCertificateValidation = (_, certificate, _, _) =>
                {
                    seen = string.Join(':', certificate!.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));
                    return true;
                },
            };
            await using var client = await WebReplClient.ConnectAndLoginAsync(gateway.Forward(board.Url), TestBoard.Password, options, cts.Token);
            Assert.Equal(gateway.Gateway.CertificateFingerprint, seen);

            // A browser-like client that pins the fingerprint, over wss:// with an Origin.
            using var browser = await BrowserClient.ConnectAsync(
                gateway.Forward(board.Url, "?view"),
                gateway.Origin,
                cts.Token,
                o => o.RemoteCertificateValidationCallback = (_, c, _, _) => c is not null && string.Join(':', c.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture))) == gateway.Gateway.CertificateFingerprint);
            await browser.ReadUntilAsync("Password: ", cts.Token);
        }
        finally
        {
            // A second start reuses the cached certificate.
            await using (var again = await TestGateway.StartAsync(o => o with { Tls = new GatewayTlsOptions { SelfSigned = true, CacheFolder = cache } }, cts.Token))
            {
                Assert.False(again.Gateway.CertificateGenerated);
            }

            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public async Task Limits_MaxSessionsAndMessageSize_ClearErrors()
    {
        using var cts = TestTimeout.Start();
        await using var one = TestBoard.Start();
        await using var two = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(o => o with { MaxSessions = 1, MaxMessageBytes = 4096 }, cts.Token);

        await using var first = await RawClient.LoginAsync(gateway.Forward(one.Url), cts.Token);
        await using var second = await RawClient.ConnectAsync(gateway.Forward(two.Url), cts.Token);
        var close = await second.ReadCloseAsync(cts.Token);
        Assert.Equal(1013, close.CloseStatus);
        Assert.Contains("--max-sessions", close.CloseReason, StringComparison.Ordinal);

        await first.SendAsync(new byte[5000], WebSocketFrameType.Binary, true, cts.Token);
        close = await first.ReadCloseAsync(cts.Token);
        Assert.Equal(1009, close.CloseStatus);
        Assert.Contains("--max-message", close.CloseReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IdleTimeout_ClosesSessionWithReason()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        // Long enough that a login under CPU load never looks idle (300 ms did: the session closed mid-login).
        await using var gateway = await TestGateway.StartAsync(o => o with { IdleTimeout = TimeSpan.FromSeconds(3) }, cts.Token);
        await using var client = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
        var close = await client.ReadCloseAsync(cts.Token);
        Assert.Equal(1001, close.CloseStatus);
        Assert.Contains("--idle-timeout", close.CloseReason, StringComparison.Ordinal);
    }
}
