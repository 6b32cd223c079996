using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using WebRepl.Gateway.Security;
using WebRepl.Gateway.Tests.Support;
using WebRepl.Transport;

namespace WebRepl.Gateway.Tests;

/// <summary>
/// What a hostile client tried against the gateway (issue 19): slow headers, CR/LF in the target, escape sequences
/// for the logs, connections that never log in, guessing from many addresses, and the station's password.
/// </summary>
public sealed class HostileClientTests
{
    // ---- Memory while headers are incomplete ----

    [Fact]
    public async Task SlowHeaders_ManyConnections_TransportHoldsASegmentEach_NotOnePerByte()
    {
        using var cts = TestTimeout.Start(60);
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        var pool = gateway.Gateway.TransportPool;
        Assert.NotNull(pool);
        const int connections = 20;
        const int slowBytes = 24;
        long baseline = pool.HeldBytes;
        long receivedBefore = pool.ReceivedBytes;
        var sockets = new List<Socket>();
        try
        {
            for (int i = 0; i < connections; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                sockets.Add(socket);
                await socket.ConnectAsync(IPAddress.Loopback, gateway.Port, cts.Token);
            }

            byte[] start = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "u8.ToArray();
            long sent = 0;
            foreach (var socket in sockets)
            {
                await socket.SendAsync(start, SocketFlags.None, cts.Token);
                sent += start.Length;
            }

            // One header byte per connection at a time, each sent only once the gateway has read the one before:
            // every byte is a read of its own, as from a client that sends a byte a second.
            await WaitUntilAsync(() => pool.ReceivedBytes - receivedBefore >= sent, cts.Token);
            for (int round = 0; round < slowBytes; round++)
            {
                foreach (var socket in sockets)
                {
                    await socket.SendAsync("a"u8.ToArray(), SocketFlags.None, cts.Token);
                    sent++;
                }

                await WaitUntilAsync(() => pool.ReceivedBytes - receivedBefore >= sent, cts.Token);
            }

            // What is held follows what was received (under a 4 KiB segment per connection here), where each read
            // took a new 64 KiB segment before (20 x 25 reads x 64 KiB = 32 MiB).
            long held = pool.HeldBytes - baseline;
            Assert.True(held <= connections * 8 * 1024, $"{held} bytes held for {connections} connections with {sent} header bytes in all");
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }

        // Closed connections give their buffers back.
        await WaitUntilAsync(() => pool.HeldBytes <= baseline, cts.Token);
    }

    // ---- The target path goes into the board's request line ----

    [Theory]
    [InlineData("/x%20HTTP/1.1%0d%0aX-Injected:%20yes")]
    [InlineData("/x%0d%0aX-Injected:%20yes")]
    [InlineData("/x%20HTTP/1.1%0d%0aHost:%20b%0d%0a%0d%0aPOST%20/admin/reboot%20HTTP/1.1%0d%0aHost:%20b%0d%0a%0d%0a")]
    [InlineData("/x%0aX-Injected:%20yes")]
    [InlineData("/x%09y")]
    public async Task TargetPathWithControlCharactersOrSpaces_RefusedWithoutConnecting(string path)
    {
        using var cts = TestTimeout.Start();
        using var target = new TcpListener(IPAddress.Loopback, 0);
        target.Start();
        int port = ((IPEndPoint)target.LocalEndpoint).Port;
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);

        await using var client = await RawClient.ConnectAsync($"{gateway.WsBase}/ws://127.0.0.1:{port}{path}", cts.Token);
        var close = await client.ReadCloseAsync(cts.Token);

        Assert.Equal(1008, close.CloseStatus);
        Assert.Contains("malformed target", close.CloseReason, StringComparison.Ordinal);
        // Refused while parsing, before any connection: the target has none waiting.
        Assert.False(target.Pending());

        // The same target with a clean path is reached, with exactly that path in its request line.
        await using var good = await RawClient.ConnectAsync($"{gateway.WsBase}/ws://127.0.0.1:{port}/x%41", cts.Token);
        using var accepted = await target.AcceptSocketAsync(cts.Token);
        string head = await ReadHeadAsync(accepted, cts.Token);
        Assert.StartsWith("GET /xA HTTP/1.1\r\n", head, StringComparison.Ordinal);
        Assert.DoesNotContain("X-Injected", head, StringComparison.Ordinal);
    }

    // ---- Logs ----

    [Fact]
    public async Task EscapeSequencesInPath_LoggedEscaped_HostNeverResolved()
    {
        using var cts = TestTimeout.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);

        await using var client = await RawClient.ConnectAsync($"{gateway.WsBase}/ws://%1b%5b31mEVIL%0aFAKE-LOG-LINE:19001", cts.Token);
        var close = await client.ReadCloseAsync(cts.Token);

        Assert.Equal(1008, close.CloseStatus);
        Assert.Contains("malformed target", close.CloseReason, StringComparison.Ordinal);
        var gatewayLines = gateway.Logs.Entries.Where(e => e.Category.StartsWith("WebRepl.Gateway", StringComparison.Ordinal)).ToList();
        var bad = Assert.Single(gatewayLines, e => e.EventId.Id == 332);
        Assert.Contains("\\x1b[31mEVIL\\x0aFAKE-LOG-LINE", bad.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(gatewayLines, e => e.Message.Any(char.IsControl));
        // Refused as malformed, not as a target that was looked up and found outside the allowed ones.
        Assert.DoesNotContain(gatewayLines, e => e.EventId.Id == 331);
    }

    [Fact]
    public void PrintableText_ControlCharactersAndBidiOverrides_Escaped_PlainTextUnchanged()
    {
        Assert.Equal("plain text: ws://192.168.4.1:8266/ é", PrintableText.Escape("plain text: ws://192.168.4.1:8266/ é"));
        Assert.Equal("a\\x1b[2Jb\\x0d\\x0ac\\x7f\\x9b\\u202e\\u2028", PrintableText.Escape("a\u001b[2Jb\r\nc\u007f\u009b\u202e\u2028"));
    }

    // ---- Clients that never log in ----

    [Fact]
    public async Task OpenerSendsPartOfAPassword_ClosedAtTheLoginTimeout_BoardFreeForTheNext()
    {
        using var cts = TestTimeout.Start(30);
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(o => o with { LoginTimeout = TimeSpan.FromMilliseconds(600) }, cts.Token);
        await using var holder = await RawClient.ConnectAsync(gateway.Forward(board.Url), cts.Token);
        await holder.ReadTextUntilAsync("Password: ", cts.Token);

        await holder.SendAsync("sec"u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
        var close = await holder.ReadCloseAsync(cts.Token);

        Assert.Equal(1008, close.CloseStatus);
        Assert.Contains("no login within", close.CloseReason, StringComparison.Ordinal);
        // The session ended with it, so the board was let go: the next client with the password logs in.
        await using var next = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
        await next.SendAsync("ok\r"u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
        await next.ReadTextUntilAsync("ok\r", cts.Token);
    }

    [Fact]
    public async Task JoinerNeverSendsThePassword_ClosedAtTheLoginTimeout_SessionGoesOn()
    {
        using var cts = TestTimeout.Start(30);
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(o => o with { LoginTimeout = TimeSpan.FromMilliseconds(600) }, cts.Token);
        await using var first = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
        await using var idle = await RawClient.ConnectAsync(gateway.Forward(board.Url), cts.Token);
        await idle.ReadTextUntilAsync("Password: ", cts.Token);

        var close = await idle.ReadCloseAsync(cts.Token);

        Assert.Equal(1008, close.CloseStatus);
        Assert.Contains("no login within", close.CloseReason, StringComparison.Ordinal);
        await first.SendAsync("still\r"u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
        await first.ReadTextUntilAsync("still\r", cts.Token);
    }

    [Fact]
    public async Task ClientsLoggingInFromOneAddress_AboveTheLimit_Refused_UntilOneHasLoggedIn()
    {
        using var cts = TestTimeout.Start(30);
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(o => o with { MaxPendingLoginsPerAddress = 2 }, cts.Token);
        await using var opener = await RawClient.ConnectAsync(gateway.Forward(board.Url), cts.Token);
        await opener.ReadTextUntilAsync("Password: ", cts.Token);
        await using var joiner = await RawClient.ConnectAsync(gateway.Forward(board.Url), cts.Token);
        await joiner.ReadTextUntilAsync("Password: ", cts.Token);

        // A third from the same address (every loopback address counts as one) while two are logging in.
        await using (var third = await RawClient.ConnectAsync(gateway.Forward(board.Url + "/other"), cts.Token))
        {
            var close = await third.ReadCloseAsync(cts.Token);
            Assert.Equal(1013, close.CloseStatus);
            Assert.Contains("logging in already", close.CloseReason, StringComparison.Ordinal);
        }

        await opener.SendAsync(Encoding.ASCII.GetBytes(TestBoard.Password + "\r"), WebSocketFrameType.Text, true, cts.Token);
        await opener.ReadTextUntilAsync("WebREPL connected", cts.Token);

        // One place is free again.
        await using var fourth = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
    }

    [Fact]
    public async Task AdHocTargetsUseUpMaxSessions_NamedBoardStillHasRoom()
    {
        using var cts = TestTimeout.Start(30);
        await using var named = TestBoard.Start();
        await using var adHoc = TestBoard.Start();
        await using var another = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(
            o => o with { MaxSessions = 2, Boards = new Dictionary<string, string> { ["lab"] = named.Url } },
            cts.Token);

        // Idle, never logging in: the one /ws:// place left beside the named board's.
        await using var idle = await RawClient.ConnectAsync(gateway.Forward(adHoc.Url), cts.Token);
        await idle.ReadTextUntilAsync("Password: ", cts.Token);
        await using (var refused = await RawClient.ConnectAsync(gateway.Forward(another.Url), cts.Token))
        {
            var close = await refused.ReadCloseAsync(cts.Token);
            Assert.Equal(1013, close.CloseStatus);
            Assert.Contains("kept for its named boards", close.CloseReason, StringComparison.Ordinal);
        }

        await using var client = await RawClient.LoginAsync($"{gateway.WsBase}/boards/lab", cts.Token);
    }

    // ---- Guessing from many addresses ----

    [Fact]
    public void LoginGuard_IPv6ByItsSlash64_LoopbackAsOne_ToldApartByOrigin()
    {
        Assert.Equal(LoginGuard.ClientKey(IPAddress.Parse("2001:db8:1:2::1"), null), LoginGuard.ClientKey(IPAddress.Parse("2001:db8:1:2:ffff::9"), null));
        Assert.NotEqual(LoginGuard.ClientKey(IPAddress.Parse("2001:db8:1:2::1"), null), LoginGuard.ClientKey(IPAddress.Parse("2001:db8:1:3::1"), null));
        Assert.Equal(LoginGuard.ClientKey(IPAddress.Parse("127.0.0.1"), null), LoginGuard.ClientKey(IPAddress.Parse("127.0.0.200"), null));
        Assert.Equal(LoginGuard.ClientKey(IPAddress.Parse("127.0.0.1"), null), LoginGuard.ClientKey(IPAddress.IPv6Loopback, null));
        Assert.NotEqual(LoginGuard.ClientKey(IPAddress.Loopback, "https://evil.example"), LoginGuard.ClientKey(IPAddress.Loopback, null));
        Assert.Equal(LoginGuard.ClientKey(IPAddress.Parse("192.168.2.7"), null), LoginGuard.ClientKey(IPAddress.Parse("::ffff:192.168.2.7"), null));
        Assert.NotEqual(LoginGuard.ClientKey(IPAddress.Parse("192.168.2.7"), null), LoginGuard.ClientKey(IPAddress.Parse("192.168.2.8"), null));
    }

    [Fact]
    public void LoginGuard_GuessesFromManyAddresses_LockTheBoard_ExceptForClientsThatLoggedInBefore()
    {
        var guard = new LoginGuard(3, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(5));
        const string board = "ws://192.168.2.197:8266/";
        var regular = IPAddress.Parse("192.168.2.50");
        guard.RecordSuccess(regular, null, board);

        // One wrong password from each of many addresses: no address reaches its own limit.
        for (int i = 1; i < 3 * LoginGuard.BoardFactor; i++)
        {
            Assert.Equal(LoginGuard.Locked.None, guard.RecordFailure(IPAddress.Parse($"10.0.0.{i}"), null, board));
        }

        Assert.Equal(LoginGuard.Locked.Board, guard.RecordFailure(IPAddress.Parse("10.0.1.1"), null, board));
        Assert.True(guard.IsLockedOut(IPAddress.Parse("10.0.2.2"), null, board, out string reason));
        Assert.Contains("logged in to it before", reason, StringComparison.Ordinal);
        Assert.False(guard.IsLockedOut(regular, null, board, out _));
        Assert.False(guard.IsLockedOut(IPAddress.Parse("10.0.2.2"), null, "ws://192.168.2.198:8266/", out _));
    }

    [Fact]
    public void LoginGuard_ManyAddressesOfOneIPv6Network_LockedTogether()
    {
        var guard = new LoginGuard(3, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(5));
        const string board = "ws://[fd00::7]:8266/";
        guard.RecordFailure(IPAddress.Parse("2001:db8:0:1::a"), null, board);
        guard.RecordFailure(IPAddress.Parse("2001:db8:0:1::b"), null, board);
        Assert.Equal(LoginGuard.Locked.Client, guard.RecordFailure(IPAddress.Parse("2001:db8:0:1::c"), null, board));

        Assert.True(guard.IsLockedOut(IPAddress.Parse("2001:db8:0:1:1234::1"), null, board, out string reason));
        Assert.Contains("2001:db8:0:1::/64", reason, StringComparison.Ordinal);
        Assert.False(guard.IsLockedOut(IPAddress.Parse("2001:db8:0:2::1"), null, board, out _));
    }

    [Fact]
    public async Task WrongPasswordsFromAPage_LockOutThatOriginOnly_ProgramsOnThisMachineStillLogIn()
    {
        using var cts = TestTimeout.Start(30);
        await using var board = TestBoard.Start();
        const string evil = "https://evil.example";
        await using var gateway = await TestGateway.StartAsync(o => o with { LoginFailureLimit = 2, AllowedOrigins = [evil] }, cts.Token);
        await using var first = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);

        for (int attempt = 0; attempt < 2; attempt++)
        {
            await using var guesser = await RawClient.ConnectAsync(gateway.Forward(board.Url), cts.Token, origin: evil);
            await guesser.ReadTextUntilAsync("Password: ", cts.Token);
            await guesser.SendAsync(Encoding.ASCII.GetBytes($"guess{attempt}\r"), WebSocketFrameType.Text, true, cts.Token);
            await guesser.ReadCloseAsync(cts.Token);
        }

        await using (var refused = await RawClient.ConnectAsync(gateway.Forward(board.Url), cts.Token, origin: evil))
        {
            var close = await refused.ReadCloseAsync(cts.Token);
            Assert.Equal(1008, close.CloseStatus);
            Assert.Contains("too many wrong passwords", close.CloseReason, StringComparison.Ordinal);
        }

        // A program on the same machine (no Origin) is not locked out by the page's guesses.
        await using var program = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
    }

    // ---- The station's password ----

    [Fact]
    public async Task NamedBoardWithHeldPassword_StationPageLoggedInWithoutPrompt_OthersAsked()
    {
        using var cts = TestTimeout.Start(30);
        await using var board = TestBoard.Start();
        const string edrys = "https://edrys-labs.github.io";
        await using var gateway = await TestGateway.StartAsync(
            o => o with
            {
                Boards = new Dictionary<string, string> { ["station"] = board.Url },
                BoardPasswords = new Dictionary<string, string> { ["station"] = TestBoard.Password },
                AllowedOrigins = [edrys, "https://other.example"],
            },
            cts.Token);
        string url = $"{gateway.WsBase}/boards/station";

        // The station's page: no password prompt, the board's answer, and a working session.
        await using var station = await RawClient.ConnectAsync(url, cts.Token, origin: edrys);
        string seen = Encoding.UTF8.GetString(await station.ReadTextUntilAsync("WebREPL connected\r\n>>> ", cts.Token));
        Assert.DoesNotContain("Password", seen, StringComparison.Ordinal);
        await station.SendAsync("print(1)\r"u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
        await station.ReadTextUntilAsync("print(1)\r", cts.Token);

        // Another page of the station joins the same way; a program is asked, and a wrong password is refused.
        await using var second = await RawClient.ConnectAsync(url, cts.Token, origin: edrys);
        Assert.DoesNotContain("Password", Encoding.UTF8.GetString(await second.ReadTextUntilAsync("WebREPL connected\r\n>>> ", cts.Token)), StringComparison.Ordinal);
        await using (var program = await RawClient.ConnectAsync(url, cts.Token))
        {
            await program.ReadTextUntilAsync("Password: ", cts.Token);
            await program.SendAsync("wrong\r"u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
            Assert.Equal(1008, (await program.ReadCloseAsync(cts.Token)).CloseStatus);
        }

        Assert.DoesNotContain(gateway.Logs.Entries, e => e.AllText.Contains(TestBoard.Password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task HeldPassword_NotTypedForOriginsLetInByStar_NorForAdHocTargets()
    {
        using var cts = TestTimeout.Start(30);
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(
            o => o with
            {
                Boards = new Dictionary<string, string> { ["station"] = board.Url },
                BoardPasswords = new Dictionary<string, string> { ["station"] = TestBoard.Password },
                AllowedOrigins = ["*"],
            },
            cts.Token);

        // Any page may connect (*), but the gateway types the password only for origins named.
        await using (var page = await RawClient.ConnectAsync($"{gateway.WsBase}/boards/station", cts.Token, origin: "https://any.example"))
        {
            await page.ReadTextUntilAsync("Password: ", cts.Token);
        }

        // The gateway's own page, through the board's address instead of its name: asked.
        await using var own = await RawClient.ConnectAsync(gateway.Forward(board.Url), cts.Token, origin: gateway.Origin);
        await own.ReadTextUntilAsync("Password: ", cts.Token);
    }

    [Fact]
    public async Task HeldPasswordForUnknownBoardOrTooLong_RefusedAtStart()
    {
        using var cts = TestTimeout.Start();
        var unknown = await Assert.ThrowsAsync<GatewayConfigurationException>(() => TestGateway.StartAsync(
            o => o with { BoardPasswords = new Dictionary<string, string> { ["nope"] = "secret" } }, cts.Token));
        Assert.Contains("'nope'", unknown.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<GatewayConfigurationException>(() => TestGateway.StartAsync(
            o => o with
            {
                Boards = new Dictionary<string, string> { ["lab"] = "ws://127.0.0.1:8266" },
                BoardPasswords = new Dictionary<string, string> { ["lab"] = "0123456789abc" },
            },
            cts.Token));
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(5, cancellationToken);
        }
    }

    private static async Task<string> ReadHeadAsync(Socket socket, CancellationToken cancellationToken)
    {
        var head = new List<byte>();
        byte[] one = new byte[1];
        while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await socket.ReceiveAsync(one, SocketFlags.None, cancellationToken) == 0)
            {
                break;
            }

            head.Add(one[0]);
        }

        return Encoding.ASCII.GetString([.. head]);
    }
}
