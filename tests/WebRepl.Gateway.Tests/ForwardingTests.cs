using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using WebRepl.Gateway.Tests.Support;
using WebRepl.Protocol;
using WebRepl.Transport;

namespace WebRepl.Gateway.Tests;

/// <summary>Forwarding through real Kestrel to real boards (<see cref="Device.WebReplServer"/>) and scripted peers.</summary>
public sealed class ForwardingTests
{
    [Fact]
    public async Task WebReplClient_ThroughGateway_LogsInAndEchoes()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);

        await using var client = await WebReplClient.ConnectAndLoginAsync(gateway.Forward(board.Url), TestBoard.Password, cancellationToken: cts.Token);
        await client.SendInputAsync("hello\r", cts.Token);
        var seen = new List<byte>();
        while (!Encoding.ASCII.GetString([.. seen]).Contains("hello\r", StringComparison.Ordinal))
        {
            seen.AddRange((await client.Output.ReadAsync(cts.Token)).Span);
        }

        Assert.True(board.Server.HasSession);
    }

    [Fact]
    public async Task PutAndGet_OneMegabyteThroughGateway_Unchanged()
    {
        using var cts = TestTimeout.Start(60);
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        byte[] data = RandomNumberGenerator.GetBytes(1024 * 1024);

        await using var client = await WebReplClient.ConnectAndLoginAsync(gateway.Forward(board.Url), TestBoard.Password, cancellationToken: cts.Token);
        await client.PutFileAsync(new MemoryStream(data), "big.bin", cancellationToken: cts.Token);
        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(board.Root, "big.bin"), cts.Token));

        var back = new MemoryStream();
        await client.GetFileAsync("big.bin", back, cancellationToken: cts.Token);
        Assert.Equal(data, back.ToArray());
        Assert.Equal(new WebReplVersion(1, 24, 1), await client.GetVersionAsync(cts.Token));
    }

    [Fact]
    public async Task PipelinedGet_KnownAndUnknownSizeThroughGateway_ByteExactAndSessionGoesOn()
    {
        using var cts = TestTimeout.Start(60);
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        byte[] data = RandomNumberGenerator.GetBytes((256 * 1024) + 77);
        await File.WriteAllBytesAsync(Path.Combine(board.Root, "big.bin"), data, cts.Token);

        await using var client = await WebReplClient.ConnectAndLoginAsync(gateway.Forward(board.Url), TestBoard.Password, cancellationToken: cts.Token);
        var known = new MemoryStream();
        await client.GetFileAsync("big.bin", known, null, new WebReplGetOptions { ExpectedSize = data.Length }, cts.Token);
        Assert.Equal(data, known.ToArray());
        var unknown = new MemoryStream();
        await client.GetFileAsync("big.bin", unknown, cancellationToken: cts.Token);
        Assert.Equal(data, unknown.ToArray());
        Assert.Equal(new WebReplVersion(1, 24, 1), await client.GetVersionAsync(cts.Token));
        await client.PutFileAsync(new MemoryStream("after"u8.ToArray()), "after.txt", cancellationToken: cts.Token);
        Assert.Equal("after", await File.ReadAllTextAsync(Path.Combine(board.Root, "after.txt"), cts.Token));
    }

    [Fact]
    public async Task Frames_TextBinaryLargeAndFragmented_KeepTypeBoundariesAndBytes()
    {
        using var cts = TestTimeout.Start();
        await using var peer = new ScriptedPeer();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);

        var clientTask = RawClient.ConnectAsync(gateway.Forward(peer.Url), cts.Token);
        await using var board = await peer.AcceptAsync(cts.Token);
        await using var client = await clientTask;

        // Client to board: text with bytes that are not UTF-8, binary, a fragmented message, and a large one.
        byte[] notUtf8 = [0x41, 0xff, 0xc3];
        await client.SendAsync(notUtf8, WebSocketFrameType.Text, true, cts.Token);
        var frame = await board.ReceiveAsync(cts.Token);
        Assert.Equal((WebSocketFrameType.Text, true), (frame.Type, frame.EndOfMessage));
        Assert.Equal(notUtf8, frame.Payload.ToArray());

        await client.SendAsync(new byte[] { 1, 2, 3 }, WebSocketFrameType.Binary, false, cts.Token);
        await client.SendAsync(new byte[] { 4, 5 }, WebSocketFrameType.Binary, true, cts.Token);
        frame = await board.ReceiveAsync(cts.Token);
        Assert.Equal((WebSocketFrameType.Binary, false), (frame.Type, frame.EndOfMessage));
        Assert.Equal([1, 2, 3], frame.Payload.ToArray());
        frame = await board.ReceiveAsync(cts.Token);
        Assert.Equal((WebSocketFrameType.Binary, true), (frame.Type, frame.EndOfMessage));
        Assert.Equal([4, 5], frame.Payload.ToArray());

        // 200 KB in one message: boards accept only 16-bit lengths, so it reaches the board as fragments of one message.
        byte[] large = RandomNumberGenerator.GetBytes(200_000);
        await client.SendAsync(large, WebSocketFrameType.Binary, true, cts.Token);
        var received = new MemoryStream();
        do
        {
            frame = await board.ReceiveAsync(cts.Token);
            Assert.Equal(WebSocketFrameType.Binary, frame.Type);
            Assert.True(frame.Payload.Length <= 65535);
            received.Write(frame.Payload.Span);
        }
        while (!frame.EndOfMessage);
        Assert.Equal(large, received.ToArray());

        // Board to client: text bytes unchanged for a program (no Origin), binary as binary.
        await board.SendAsync(new byte[] { 0xe2, 0x82 }, WebSocketFrameType.Text, true, cts.Token);
        frame = await client.ReceiveAsync(cts.Token);
        Assert.Equal(WebSocketFrameType.Text, frame.Type);
        Assert.Equal([0xe2, 0x82], frame.Payload.ToArray());
        await board.SendAsync(new byte[] { 9, 8, 7 }, WebSocketFrameType.Binary, true, cts.Token);
        frame = await client.ReceiveAsync(cts.Token);
        Assert.Equal((WebSocketFrameType.Binary, true), (frame.Type, frame.EndOfMessage));
        Assert.Equal([9, 8, 7], frame.Payload.ToArray());
    }

    [Fact]
    public async Task BoardOutputNotUtf8_ReachesBrowserAsValidText_AndProgramUnchanged()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);

        using var browser = await BrowserClient.ConnectAsync(gateway.Forward(board.Url), gateway.Origin, cts.Token);
        await browser.ReadUntilAsync("Password: ", cts.Token);
        await browser.SendTextAsync(TestBoard.Password + "\r", cts.Token);
        await browser.ReadUntilAsync(">>> ", cts.Token);
        await using var program = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);

        // The euro sign split across two board frames, then a byte that is never UTF-8.
        await board.Console.PrintAsync(new byte[] { (byte)'a', 0xe2, 0x82 }, cts.Token);
        await board.Console.PrintAsync(new byte[] { 0xac, (byte)'b', 0xff, (byte)'c', (byte)'\n' }, cts.Token);

        string text = await browser.ReadUntilAsync("c\n", cts.Token);
        Assert.EndsWith("a€b\uFFFDc\n", text, StringComparison.Ordinal);
        Assert.Equal(WebSocketState.Open, browser.State);

        byte[] raw = await program.ReadTextUntilAsync("c\n", cts.Token);
        Assert.Equal(new byte[] { (byte)'a', 0xe2, 0x82, 0xac, (byte)'b', 0xff, (byte)'c', (byte)'\n' }, raw[^8..]);
    }

    [Fact]
    public async Task CloseCodes_ForwardedBothWays()
    {
        using var cts = TestTimeout.Start();
        await using var peer = new ScriptedPeer();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);

        // Client closes with 4001: the board gets a close frame with 4001 and the reason.
        var clientTask = RawClient.ConnectAsync(gateway.Forward(peer.Url), cts.Token);
        await using (var board = await peer.AcceptAsync(cts.Token))
        await using (var client = await clientTask)
        {
            await client.CloseAsync(4001, "student done", cts.Token);
            var close = await board.ReadCloseAsync(cts.Token);
            Assert.Equal(4001, close.CloseStatus);
            Assert.Contains("student done", close.CloseReason, StringComparison.Ordinal);
        }

        // Board (e.g. another gateway) closes with 4002: the client gets 4002 and the reason.
        clientTask = RawClient.ConnectAsync(gateway.Forward(peer.Url), cts.Token);
        await using (var board = await peer.AcceptAsync(cts.Token))
        await using (var client = await clientTask)
        {
            await board.CloseAsync(4002, "board says bye", cts.Token);
            var close = await client.ReadCloseAsync(cts.Token);
            Assert.Equal(4002, close.CloseStatus);
            Assert.Equal("board says bye", close.CloseReason);
        }
    }

    [Fact]
    public async Task BoardDrop_ClosesClientsWithReason()
    {
        using var cts = TestTimeout.Start();
        var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        await using var client = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
        using var browser = await BrowserClient.ConnectAsync(gateway.Forward(board.Url), gateway.Origin, cts.Token);
        await browser.ReadUntilAsync("Password: ", cts.Token);
        await browser.SendTextAsync(TestBoard.Password + "\r", cts.Token);
        await browser.ReadUntilAsync(">>> ", cts.Token);

        await board.DisposeAsync(); // the board goes away without a close frame

        var close = await client.ReadCloseAsync(cts.Token);
        Assert.Equal(1011, close.CloseStatus);
        Assert.Contains("board", close.CloseReason, StringComparison.Ordinal);
        var (status, description) = await browser.ReadCloseAsync(cts.Token);
        Assert.Equal(WebSocketCloseStatus.InternalServerError, status);
        Assert.Contains("board", description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientDrop_ClosesBoardConnection()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        var client = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
        Assert.True(board.Server.HasSession);

        client.Abort(); // no close frame: the TCP connection just goes
        while (board.Server.HasSession)
        {
            await Task.Delay(10, cts.Token);
        }

        await client.DisposeAsync();
        while (gateway.Gateway.Sessions.Count > 0)
        {
            await Task.Delay(10, cts.Token);
        }

        // The board is free again: a new client logs in.
        await using var again = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
    }

    [Fact]
    public async Task WssTarget_AnotherGatewayWithTls_PathKept()
    {
        using var cts = TestTimeout.Start(30);
        await using var board = TestBoard.Start();
        string cache = Directory.CreateTempSubdirectory("webrepl-gateway-cert-").FullName;
        try
        {
            // Gateway A (TLS) in front of the board; gateway B forwards /wss://A/ws://BOARD to it.
            await using var a = await TestGateway.StartAsync(o => o with { Tls = new GatewayTlsOptions { SelfSigned = true, CacheFolder = cache } }, cts.Token);
            string fingerprint = a.Gateway.CertificateFingerprint!;
            await using var b = await TestGateway.StartAsync(
                o => o with
                {
                    TargetCertificateValidation = (_, c, _, _) => c is not null &&
                        string.Join(':', c.GetCertHash(HashAlgorithmName.SHA256).Select(x => x.ToString("X2", System.Globalization.CultureInfo.InvariantCulture))) == fingerprint,
                },
                cts.Token);

            await using var client = await WebReplClient.ConnectAndLoginAsync($"{b.WsBase}/{a.WsBase}/{board.Url}", TestBoard.Password, cancellationToken: cts.Token);
            Assert.Equal(new WebReplVersion(1, 24, 1), await client.GetVersionAsync(cts.Token));
            Assert.Equal($"{a.WsBase}/{board.Url}", Assert.Single(b.Gateway.Sessions).Board);
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public async Task NamedBoard_ForwardsOnItsPath()
    {
        using var cts = TestTimeout.Start();
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(o => o with { Boards = new Dictionary<string, string> { ["lab1"] = board.Url } }, cts.Token);

        await using var client = await WebReplClient.ConnectAndLoginAsync($"{gateway.WsBase}/boards/lab1", TestBoard.Password, cancellationToken: cts.Token);
        Assert.Equal(new WebReplVersion(1, 24, 1), await client.GetVersionAsync(cts.Token));

        await using var unknown = await RawClient.ConnectAsync($"{gateway.WsBase}/boards/nope", cts.Token);
        var close = await unknown.ReadCloseAsync(cts.Token);
        Assert.Equal(1008, close.CloseStatus);
        Assert.Contains("lab1", close.CloseReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BoardsApi_ListsNamedBoardsByName_RefusesRebindingHost()
    {
        using var cts = TestTimeout.Start();
        await using var gateway = await TestGateway.StartAsync(
            o => o with { Boards = new Dictionary<string, string> { ["lab2"] = "ws://192.168.2.198:8266", ["lab1"] = "192.168.2.197", ["bench"] = "wss://[fd00::7]:8443/x" } },
            cts.Token);
        using var http = new HttpClient { BaseAddress = gateway.Url };

        using var response = await http.GetAsync("/api/boards", cts.Token);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var boards = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(cts.Token));
        var list = boards.RootElement.EnumerateArray()
            .Select(b => (b.GetProperty("name").GetString(), b.GetProperty("path").GetString(), b.GetProperty("board").GetString()))
            .ToList();
        Assert.Equal(
            [("bench", "/boards/bench", "wss://[fd00::7]:8443/x"), ("lab1", "/boards/lab1", "ws://192.168.2.197:8266/"), ("lab2", "/boards/lab2", "ws://192.168.2.198:8266/")],
            list);
        Assert.Equal(list.Select(b => b.Item1), gateway.Gateway.BoardList.Select(b => b.Name));

        // A DNS-rebinding page reaches the port under its own name: no board addresses for it.
        using var rebinding = new HttpRequestMessage(HttpMethod.Get, "/api/boards");
        rebinding.Headers.Host = $"attacker.example:{gateway.Port}";
        using var refused = await http.SendAsync(rebinding, cts.Token);
        Assert.Equal(System.Net.HttpStatusCode.MisdirectedRequest, refused.StatusCode);
        Assert.DoesNotContain("192.168", await refused.Content.ReadAsStringAsync(cts.Token), StringComparison.Ordinal);
        using var byName = new HttpRequestMessage(HttpMethod.Get, "/api/boards");
        byName.Headers.Host = $"localhost:{gateway.Port}";
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.SendAsync(byName, cts.Token)).StatusCode);
    }

    [Fact]
    public async Task BoardsApi_NoNamedBoards_EmptyList()
    {
        using var cts = TestTimeout.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        using var http = new HttpClient { BaseAddress = gateway.Url };
        Assert.Equal("[]", await http.GetStringAsync("/api/boards", cts.Token));
    }

    [Fact]
    public async Task ImmediateAck_BrowserEchoThroughGateway_IsFast()
    {
        using var cts = TestTimeout.Start(30);
        await using var board = TestBoard.Start(firmwareTiming: true);
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        using var browser = await BrowserClient.ConnectAsync(gateway.Forward(board.Url), gateway.Origin, cts.Token);
        await browser.ReadUntilAsync("Password: ", cts.Token);
        await browser.SendTextAsync(TestBoard.Password + "\r", cts.Token);
        await browser.ReadUntilAsync(">>> ", cts.Token);

        // With delayed ACKs on the board side, each echo would wait ~40 ms (docs/protocol.md, "Transport").
        var times = new List<double>();
        for (int i = 0; i < 40; i++)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            await browser.SendTextAsync("x", cts.Token);
            await browser.ReadUntilAsync("x", cts.Token);
            times.Add(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        times.Sort();
        Assert.True(times[times.Count / 2] < 20, $"median echo {times[times.Count / 2]:0.00} ms");
    }
}
