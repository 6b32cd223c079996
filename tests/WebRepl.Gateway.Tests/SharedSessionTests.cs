using System.Net.Http;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using WebRepl.Gateway.Tests.Support;
using WebRepl.Protocol;
using WebRepl.Transport;

namespace WebRepl.Gateway.Tests;

/// <summary>Several clients on one board: joining, viewing, the password, transfers, leaving.</summary>
public sealed class SharedSessionTests
{
    [Fact]
    public async Task TwoClientsAndViewer_ShareOneBoardConnection()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);

        await using var first = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
        // A joiner is asked for the password by the gateway, exactly as a board asks.
        await using var second = await RawClient.ConnectAsync(gateway.Forward(board.Url), cts.Token);
        Assert.Equal("Password: ", Encoding.ASCII.GetString(await second.ReadTextUntilAsync("Password: ", cts.Token)));
        await second.SendAsync(Encoding.ASCII.GetBytes(TestBoard.Password + "\r"), WebSocketFrameType.Text, true, cts.Token);
        Assert.Equal("\r\nWebREPL connected\r\n>>> ", Encoding.ASCII.GetString(await second.ReadTextUntilAsync(">>> ", cts.Token)));
        await using var viewer = await RawClient.LoginAsync(gateway.Forward(board.Url, "?view"), cts.Token);

        // Each line from a different client; every client (the viewer too) sees every echo, and the viewer's
        // input never reaches the board.
        var all = new[] { first, second, viewer };
        foreach (var (sender, line) in new[] { (first, "one\r"), (second, "two\r"), (viewer, "VIEWER\r"), (first, "three\r") })
        {
            await sender.SendAsync(Encoding.ASCII.GetBytes(line), WebSocketFrameType.Text, true, cts.Token);
            if (sender != viewer)
            {
                foreach (var client in all)
                {
                    Assert.Equal(line, Encoding.ASCII.GetString(await client.ReadTextUntilAsync(line, cts.Token)));
                }
            }
        }

        Assert.Empty(board.Console.Notices); // the board never saw a second connection
        var session = Assert.Single(gateway.Gateway.Sessions);
        Assert.Equal(3, session.Clients.Count);
        Assert.Single(session.Clients, c => c.Viewer);
    }

    [Fact]
    public async Task Joiner_GetsWhatTheBoardPrintsRightAfterItsWelcome()
    {
        // A joiner may act as soon as it reads "WebREPL connected" (another client, or the board, may too): what
        // the board prints from then on is the joiner's. The gateway once made it a receiver only after that answer
        // had gone out, so output that came quickly (two test suites at once on two cores) was lost to it. A race:
        // many joins, each followed at once by the board's output.
        using var cts = TestTimeout.Start(60);
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        await using var opener = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
        for (int i = 0; i < 100; i++)
        {
            await using var joiner = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
            string marker = $"after welcome {i}\r\n";
            await board.Console.PrintAsync(Encoding.ASCII.GetBytes(marker), cts.Token);
            await opener.ReadTextUntilAsync(marker, cts.Token); // the gateway has sent it to its receivers

            using var quick = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
            quick.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                await joiner.ReadTextUntilAsync(marker, quick.Token);
            }
            catch (OperationCanceledException) when (!cts.IsCancellationRequested)
            {
                Assert.Fail($"Join {i}: the board's output right after the joiner's welcome never reached it.");
            }
        }
    }

    [Fact]
    public async Task RawRepl_OthersInputHeldUntilCtrlB_CtrlCGoesAtOnce_HeldClientTold()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        await using var runner = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
        await using var typist = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);

        // The runner enters raw REPL (Ctrl-A, as webrepl exec does; this echo board answers with what it is sent,
        // so the runner sends the banner a board prints): the typist's keys wait, and it is told so.
        await runner.SendAsync("\x01raw REPL; CTRL-B to exit\r\n>"u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
        await runner.ReadTextUntilAsync("CTRL-B to exit\r\n>", cts.Token);
        await typist.SendAsync("typed\r"u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
        string told = Encoding.ASCII.GetString(await typist.ReadTextUntilAsync("Ctrl-C interrupts it.\r\n", cts.Token));
        Assert.Contains("Another client is running code on the board", told, StringComparison.Ordinal);

        // The runner's program goes through whole; the typist's Ctrl-C is not held (it interrupts the program).
        await runner.SendAsync("print(1)"u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
        string seen = Encoding.ASCII.GetString(await runner.ReadTextUntilAsync("print(1)", cts.Token));
        await typist.SendAsync(new byte[] { 0x03 }, WebSocketFrameType.Text, true, cts.Token);
        seen += Encoding.ASCII.GetString(await runner.ReadTextUntilAsync("\x03", cts.Token));
        Assert.DoesNotContain("typed", seen, StringComparison.Ordinal);

        // Ctrl-B ends the runner's raw REPL: the held keys follow, after it.
        await runner.SendAsync(new byte[] { 0x02 }, WebSocketFrameType.Text, true, cts.Token);
        seen = Encoding.ASCII.GetString(await runner.ReadTextUntilAsync("typed\r", cts.Token));
        Assert.True(seen.IndexOf('\x02', StringComparison.Ordinal) < seen.IndexOf("typed", StringComparison.Ordinal), seen);
    }

    [Fact]
    public async Task RawRepl_RunnerLeaves_BoardBackToFriendlyRepl_HeldInputSent()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        var runner = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
        await using var typist = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
        await runner.SendAsync("\x01raw REPL; CTRL-B to exit\r\n>"u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
        // The others see what the runner's programs print, not the raw REPL's banner: they are told instead.
        await typist.ReadTextUntilAsync("running code on the board (raw REPL)", cts.Token);
        await typist.SendAsync("after\r"u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
        await typist.ReadTextUntilAsync("Ctrl-C interrupts it.\r\n", cts.Token);

        // What a board prints once it has left the raw REPL, its friendly prompt, ends that view (this board echoes).
        await runner.SendAsync("\r\n>>> "u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
        await runner.ReadTextUntilAsync(">>> ", cts.Token);
        await runner.CloseAsync(1000, "done", cts.Token);
        await runner.DisposeAsync();

        // The gateway sent Ctrl-B for it (the board leaves raw REPL), then the typist's held line.
        string seen = Encoding.ASCII.GetString(await typist.ReadTextUntilAsync("after\r", cts.Token));
        Assert.Contains("\u0002after\r", seen, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CtrlA_NotAnsweredWithRawRepl_HomeKeyInALine_OthersNotHeld()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        await using var editor = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
        await using var typist = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);

        // Ctrl-A on a line that is not empty moves to its start (no raw REPL banner follows).
        await editor.SendAsync("rint(1)\x01p\r"u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
        await editor.ReadTextUntilAsync("p\r", cts.Token);
        await typist.SendAsync("typed\r"u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);

        // At most a moment's wait (the board had a second to answer with its banner), and no notice.
        string seen = Encoding.ASCII.GetString(await typist.ReadTextUntilAsync("typed\r", cts.Token));
        Assert.DoesNotContain("Another client is running code", seen, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Joiner_WrongPassword_AccessDenied_OthersUnaffected()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        await using var first = await WebReplClient.ConnectAndLoginAsync(gateway.Forward(board.Url), TestBoard.Password, cancellationToken: cts.Token);

        var denied = await Assert.ThrowsAsync<WebReplAuthenticationException>(
            () => WebReplClient.ConnectAndLoginAsync(gateway.Forward(board.Url), "wrong", cancellationToken: cts.Token));
        Assert.Contains("Access denied", denied.Message, StringComparison.Ordinal);
        await using var viewerTry = await RawClient.ConnectAsync(gateway.Forward(board.Url, "?view"), cts.Token);
        await viewerTry.ReadTextUntilAsync("Password: ", cts.Token);
        await viewerTry.SendAsync("secre\r"u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
        Assert.Contains("Access denied", Encoding.ASCII.GetString(await viewerTry.ReadTextUntilAsync("Access denied", cts.Token)), StringComparison.Ordinal);
        Assert.Equal(1008, (await viewerTry.ReadCloseAsync(cts.Token)).CloseStatus);

        Assert.Equal(new WebReplVersion(1, 24, 1), await first.GetVersionAsync(cts.Token));
    }

    [Fact]
    public async Task JoinerWhileOpenerLogsIn_CheckedOnceTheBoardAccepts()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);

        await using var opener = await RawClient.ConnectAsync(gateway.Forward(board.Url), cts.Token);
        await opener.ReadTextUntilAsync("Password: ", cts.Token);
        await using var joiner = await RawClient.ConnectAsync(gateway.Forward(board.Url), cts.Token);
        await joiner.ReadTextUntilAsync("Password: ", cts.Token);
        await joiner.SendAsync(Encoding.ASCII.GetBytes(TestBoard.Password + "\r"), WebSocketFrameType.Text, true, cts.Token);
        await opener.SendAsync(Encoding.ASCII.GetBytes(TestBoard.Password + "\r"), WebSocketFrameType.Text, true, cts.Token);
        await opener.ReadTextUntilAsync(">>> ", cts.Token);
        await joiner.ReadTextUntilAsync("WebREPL connected\r\n>>> ", cts.Token);
    }

    [Fact]
    public async Task ConcurrentTransfersAndTyping_NotCorrupted()
    {
        using var cts = TestTimeout.Start(60);
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        byte[] putData = RandomNumberGenerator.GetBytes(300_000);
        byte[] getData = RandomNumberGenerator.GetBytes(200_000);
        await File.WriteAllBytesAsync(Path.Combine(board.Root, "get.bin"), getData, cts.Token);

        await using var a = await WebReplClient.ConnectAndLoginAsync(gateway.Forward(board.Url), TestBoard.Password, cancellationToken: cts.Token);
        await using var b = await WebReplClient.ConnectAndLoginAsync(gateway.Forward(board.Url), TestBoard.Password, cancellationToken: cts.Token);
        await using var c = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);

        var typing = Task.Run(async () =>
        {
            for (int i = 0; i < 200; i++)
            {
                await c.SendAsync(Encoding.ASCII.GetBytes($"k{i} "), WebSocketFrameType.Text, true, cts.Token);
                await Task.Yield();
            }
        }, cts.Token);
        var got = new MemoryStream();
        var versions = Task.Run(async () =>
        {
            for (int i = 0; i < 20; i++)
            {
                Assert.Equal(new WebReplVersion(1, 24, 1), await b.GetVersionAsync(cts.Token));
            }

            await b.GetFileAsync("get.bin", got, cancellationToken: cts.Token);
        }, cts.Token);
        await a.PutFileAsync(new MemoryStream(putData), "put.bin", cancellationToken: cts.Token);
        await Task.WhenAll(typing, versions);

        Assert.Equal(putData, await File.ReadAllBytesAsync(Path.Combine(board.Root, "put.bin"), cts.Token));
        Assert.Equal(getData, got.ToArray());
    }

    [Fact]
    public async Task ClientsLeaving_OthersGoOn_LastClosesBoard()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        var a = await WebReplClient.ConnectAndLoginAsync(gateway.Forward(board.Url), TestBoard.Password, cancellationToken: cts.Token);
        var b = await WebReplClient.ConnectAndLoginAsync(gateway.Forward(board.Url), TestBoard.Password, cancellationToken: cts.Token);

        await a.DisposeAsync(); // the opener leaves
        Assert.Equal(new WebReplVersion(1, 24, 1), await b.GetVersionAsync(cts.Token));
        Assert.True(board.Server.HasSession);

        await b.DisposeAsync();
        while (board.Server.HasSession || gateway.Gateway.Sessions.Count > 0)
        {
            await Task.Delay(10, cts.Token);
        }
    }

    [Fact]
    public async Task OwnerLeavesMidGet_GatewayFinishesIt_OthersGoOn()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        await File.WriteAllBytesAsync(Path.Combine(board.Root, "long.bin"), new byte[100_000], cts.Token);
        await using var other = await WebReplClient.ConnectAndLoginAsync(gateway.Forward(board.Url), TestBoard.Password, cancellationToken: cts.Token);

        var leaver = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
        await leaver.SendAsync(new WebReplRequest(WebReplOperation.GetFile, 0, "long.bin").ToArray(), WebSocketFrameType.Binary, true, cts.Token);
        await leaver.SendAsync(new byte[] { 0 }, WebSocketFrameType.Binary, true, cts.Token);
        var frame = await leaver.ReceiveAsync(cts.Token);
        Assert.Equal(WebSocketFrameType.Binary, frame.Type);
        leaver.Abort();
        await leaver.DisposeAsync();

        // The other client's request waits until the gateway has drained the GET, then goes through.
        Assert.Equal(new WebReplVersion(1, 24, 1), await other.GetVersionAsync(cts.Token));
        Assert.Contains(gateway.Logs.Entries, e => e.EventId.Id == 319);
    }

    /// <summary>
    /// `webrepl get` (no size known, the connection closes after) keeps up to 82 requests in flight; a small file
    /// leaves most of them at the board as the start of a record that no one can complete (docs/protocol.md, "GET
    /// pipelining"). The client's own fetch is whole; the others are told why their session ends and what to do.
    /// </summary>
    [Fact]
    public async Task OwnerLeavesAfterGetThatEndsItsSession_OthersToldWhyAndToConnectAgain()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        byte[] content = RandomNumberGenerator.GetBytes(1000); // 4 data chunks and the empty one
        await File.WriteAllBytesAsync(Path.Combine(board.Root, "small.bin"), content, cts.Token);
        await using var other = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);

        await using (var leaver = await WebReplClient.ConnectAndLoginAsync(gateway.Forward(board.Url), TestBoard.Password, cancellationToken: cts.Token))
        {
            var fetched = new MemoryStream();
            Assert.Equal(1000, await leaver.GetFileAsync("small.bin", fetched, null, new WebReplGetOptions { SessionEndsAfter = true }, cts.Token));
            Assert.Equal(content, fetched.ToArray());
        }

        var close = await other.ReadCloseAsync(cts.Token);
        Assert.Equal(1011, close.CloseStatus);
        Assert.Contains("inside a file request", close.CloseReason, StringComparison.Ordinal);
        Assert.EndsWith("connect again", close.CloseReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OwnerLeavesMidPut_GatewayCompletesIt_OthersGoOn()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        await using var other = await WebReplClient.ConnectAndLoginAsync(gateway.Forward(board.Url), TestBoard.Password, cancellationToken: cts.Token);

        var leaver = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
        await leaver.SendAsync(new WebReplRequest(WebReplOperation.PutFile, 50_000, "half.bin").ToArray(), WebSocketFrameType.Binary, true, cts.Token);
        var status = await leaver.ReceiveAsync(cts.Token);
        Assert.Equal(WebSocketFrameType.Binary, status.Type);
        await leaver.SendAsync(Enumerable.Repeat((byte)0x41, 10_000).ToArray(), WebSocketFrameType.Binary, true, cts.Token);
        // Leaves politely, so that the data sent before is read first (an abort's reset may discard it in transit).
        await leaver.CloseAsync(1001, "gone", cts.Token);
        await leaver.DisposeAsync();

        // The board got the rest as zeros (the file has its announced size), and the session goes on.
        byte[] put = RandomNumberGenerator.GetBytes(5000);
        await other.PutFileAsync(new MemoryStream(put), "next.bin", cancellationToken: cts.Token);
        Assert.Equal(put, await File.ReadAllBytesAsync(Path.Combine(board.Root, "next.bin"), cts.Token));
        byte[] half = await File.ReadAllBytesAsync(Path.Combine(board.Root, "half.bin"), cts.Token);
        Assert.Equal(50_000, half.Length);

        Assert.All(half[..10_000], b => Assert.Equal(0x41, b));
        Assert.All(half[10_000..], b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task OpenerLeavesBeforeLogin_JoinersClosedWithReason()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        var opener = await RawClient.ConnectAsync(gateway.Forward(board.Url), cts.Token);
        await opener.ReadTextUntilAsync("Password: ", cts.Token);
        await using var joiner = await RawClient.ConnectAsync(gateway.Forward(board.Url), cts.Token);
        await joiner.ReadTextUntilAsync("Password: ", cts.Token);

        await opener.CloseAsync(1000, "bye", cts.Token);
        var close = await joiner.ReadCloseAsync(cts.Token);
        Assert.Equal(1011, close.CloseStatus);
        Assert.Contains("before logging in", close.CloseReason, StringComparison.Ordinal);
        await opener.DisposeAsync();
    }

    [Fact]
    public async Task Exclusive_SecondClientRefused()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(o => o with { Exclusive = true }, cts.Token);
        await using var first = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
        await using var second = await RawClient.ConnectAsync(gateway.Forward(board.Url), cts.Token);
        var close = await second.ReadCloseAsync(cts.Token);
        Assert.Equal(1013, close.CloseStatus);
        Assert.Contains("--exclusive", close.CloseReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthAndSessionsApi_ReportBoardsClientsAndBytes()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        await using var client = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
        await using var viewer = await RawClient.LoginAsync(gateway.Forward(board.Url, "?view"), cts.Token);
        using var http = new HttpClient { BaseAddress = gateway.Url };

        using var health = JsonDocument.Parse(await http.GetStringAsync("/healthz", cts.Token));
        Assert.Equal("ok", health.RootElement.GetProperty("status").GetString());
        Assert.Equal(1, health.RootElement.GetProperty("sessions").GetInt32());

        using var sessions = JsonDocument.Parse(await http.GetStringAsync("/api/sessions", cts.Token));
        var session = Assert.Single(sessions.RootElement.EnumerateArray());
        Assert.Equal($"ws://127.0.0.1:{board.Port}/", session.GetProperty("board").GetString());
        Assert.Equal("logged-in", session.GetProperty("state").GetString());
        Assert.True(session.GetProperty("bytesToBoard").GetInt64() > 0);
        Assert.True(session.GetProperty("bytesFromBoard").GetInt64() > 0);
        Assert.True(session.TryGetProperty("since", out _));
        var clients = session.GetProperty("clients").EnumerateArray().ToList();
        Assert.Equal(2, clients.Count);
        Assert.Contains(clients, c => c.GetProperty("viewer").GetBoolean());
        Assert.All(clients, c => Assert.True(c.GetProperty("bytesOut").GetInt64() > 0));

        // A DNS-rebinding page reaches the port under its own name: no session list for it.
        using var rebinding = new HttpRequestMessage(HttpMethod.Get, "/api/sessions");
        rebinding.Headers.Host = $"attacker.example:{gateway.Port}";
        using var refused = await http.SendAsync(rebinding, cts.Token);
        Assert.Equal(System.Net.HttpStatusCode.MisdirectedRequest, refused.StatusCode);
        using var byName = new HttpRequestMessage(HttpMethod.Get, "/api/sessions");
        byName.Headers.Host = $"localhost:{gateway.Port}";
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.SendAsync(byName, cts.Token)).StatusCode);
    }
}
