using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using WebRepl.Device;
using WebRepl.Protocol;
using WebRepl.Tests.Support;

namespace WebRepl.Tests.Device;

/// <summary>
/// The server driven with exact bytes by a raw socket client, as boards are met by clients of every kind
/// (browsers, the reference Python client, broken or hostile ones).
/// </summary>
public sealed class WebReplServerTests
{
    private static readonly byte[] GetVersionRecord = Hex.Parse("5741 03 00 0000000000000000 00000000 0000" + string.Concat(Enumerable.Repeat("00", 64)));

    // ---- HTTP and handshake ----

    [Fact]
    public async Task PlainHttpGet_ServesPageFromStaticHostThenCloses()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start(configure: o => o with { StaticHost = "http://static.test/webrepl/" });
        await using var peer = await RawPeer.ConnectAsync(server.EndPoint, cts.Token);

        await peer.WriteAsync("GET / HTTP/1.1\r\nHost: board\r\nAccept: text/html\r\n\r\n"u8.ToArray(), cts.Token);
        string response = Encoding.UTF8.GetString(await peer.ReadToEndAsync(cts.Token));

        Assert.StartsWith("HTTP/1.0 200 OK\r\n", response, StringComparison.Ordinal);
        Assert.Contains("<base href=\"http://static.test/webrepl/\">", response, StringComparison.Ordinal);
        Assert.Contains("<script src=\"webrepl_content.js\"></script>", response, StringComparison.Ordinal);
        Assert.False(server.Server.HasSession);
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
    }

    [Fact]
    public async Task PlainHttpGet_DefaultStaticHost_IsMicroPythonOrg()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await RawPeer.ConnectAsync(server.EndPoint, cts.Token);

        await peer.WriteAsync("GET / HTTP/1.1\r\n\r\n"u8.ToArray(), cts.Token);

        Assert.Contains("<base href=\"https://micropython.org/webrepl/\">", Encoding.UTF8.GetString(await peer.ReadToEndAsync(cts.Token)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Handshake_WithSubprotocolAndExtensionOffers_Answers101AndNegotiatesNeither()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await RawPeer.ConnectAsync(server.EndPoint, cts.Token);

        await peer.WriteAsync(Encoding.ASCII.GetBytes(
            "GET /any/path HTTP/1.1\r\nHost: board\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n" +
            $"Sec-WebSocket-Key: {RawPeer.SampleKey}\r\nSec-WebSocket-Version: 13\r\n" +
            "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"), cts.Token);
        string head = await peer.ReadHttpHeadAsync(cts.Token);

        Assert.StartsWith("HTTP/1.1 101 Switching Protocols\r\n", head, StringComparison.Ordinal);
        Assert.Contains($"Sec-WebSocket-Accept: {RawPeer.SampleAccept}", head, StringComparison.Ordinal);
        Assert.DoesNotContain("Sec-WebSocket-Protocol", head, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Sec-WebSocket-Extensions", head, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Handshake_ClientSendsNothing_ClosedAfterHandshakeTimeout()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start(configure: o => o with { HandshakeTimeout = TimeSpan.FromMilliseconds(300) });
        await using var peer = await RawPeer.ConnectAsync(server.EndPoint, cts.Token);
        var clock = Stopwatch.StartNew();

        Assert.Empty(await peer.ReadToEndAsync(cts.Token));

        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task OversizedHttpHead_ClosesConnectionAndServerGoesOn()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using (var peer = await RawPeer.ConnectAsync(server.EndPoint, cts.Token))
        {
            await peer.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nX-Filler: " + new string('x', 20_000)), cts.Token);

            Assert.Empty(await peer.ReadToEndAsync(cts.Token));
        }

        await using var client = await server.ConnectAndLoginAsync(cts.Token);
    }

    [Fact]
    public async Task AfterHandshake_FirstFrame_IsPasswordPromptUnmaskedText()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await RawPeer.ConnectWebSocketAsync(server.EndPoint, cts.Token);

        var frame = await peer.ReadFrameAsync(cts.Token);

        Assert.Equal(Hex.Parse("81 0a"), frame.Header);
        Assert.Equal("Password: ", frame.Text);
    }

    // ---- Password ----

    [Fact]
    public async Task Login_RightPassword_AnswersConnectedAndPrompt()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await RawPeer.ConnectWebSocketAsync(server.EndPoint, cts.Token);
        await peer.ReadFrameAsync(cts.Token);

        await peer.SendTextAsync(LoopbackServer.Password + "\r", cts.Token);

        var frame = await peer.ReadFrameAsync(cts.Token);
        Assert.Equal(0x1, frame.Opcode);
        Assert.Equal("\r\nWebREPL connected\r\n>>> ", frame.Text);
        Assert.True(server.Server.HasSession);
    }

    [Fact]
    public async Task Login_PasswordOneBytePerFrameEndedByNewline_IsAccepted()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await RawPeer.ConnectWebSocketAsync(server.EndPoint, cts.Token);
        await peer.ReadFrameAsync(cts.Token);

        foreach (char c in LoopbackServer.Password + "\n")
        {
            await peer.SendTextAsync(c.ToString(), cts.Token);
        }

        Assert.Equal("\r\nWebREPL connected\r\n>>> ", (await peer.ReadFrameAsync(cts.Token)).Text);
    }

    [Theory]
    [InlineData("wrong")]
    [InlineData("secre")]
    [InlineData("secrets")]
    [InlineData("")]
    public async Task Login_WrongPassword_SendsAccessDeniedThenDropsWithoutCloseFrame(string password)
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await RawPeer.ConnectWebSocketAsync(server.EndPoint, cts.Token);
        await peer.ReadFrameAsync(cts.Token);

        await peer.SendTextAsync(password + "\r", cts.Token);

        // Exactly one frame, "\r\nAccess denied\r\n", and then the connection ends: no close frame.
        Assert.Equal(RawPeer.BuildFrame(0x1, "\r\nAccess denied\r\n"u8, fin: true, mask: false), await peer.ReadToEndAsync(cts.Token));
        await WaitUntilAsync(() => !server.Server.HasSession, cts.Token);
    }

    [Fact]
    public async Task Login_WrongPassword_AnsweredOnlyAfterThePause()
    {
        using var cts = TestTimeout.Start();
        var pause = TimeSpan.FromMilliseconds(700);
        await using var server = LoopbackServer.Start(configure: o => o with { WrongPasswordDelay = pause });
        await using var peer = await RawPeer.ConnectWebSocketAsync(server.EndPoint, cts.Token);
        await peer.ReadFrameAsync(cts.Token);

        var watch = Stopwatch.StartNew();
        await peer.SendTextAsync("guess\r", cts.Token);
        var answer = await peer.ReadFrameAsync(cts.Token);

        // A lower bound only (load can only lengthen it): one guess per pause per connection, and the board takes
        // one connection at a time, where it answered thousands a second before.
        Assert.Equal("\r\nAccess denied\r\n", answer.Text);
        Assert.True(watch.Elapsed >= pause - TimeSpan.FromMilliseconds(20), $"answered after {watch.Elapsed.TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task Login_PartialPasswordWithoutLineEnd_DroppedAfterLoginTimeout_BoardFreeForTheNext()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start(configure: o => o with { LoginTimeout = TimeSpan.FromMilliseconds(500) });
        await using var holder = await RawPeer.ConnectWebSocketAsync(server.EndPoint, cts.Token);
        await holder.ReadFrameAsync(cts.Token);

        await holder.SendTextAsync("sec", cts.Token);

        // Dropped without an answer (its password was never finished), and the board is free again.
        Assert.Empty(await holder.ReadToEndAsync(cts.Token));
        await WaitUntilAsync(() => !server.Server.HasSession, cts.Token);
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
    }

    [Fact]
    public async Task Login_Completed_NoLoginTimeoutAfterwards()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start(configure: o => o with { LoginTimeout = TimeSpan.FromMilliseconds(300) });
        await using var peer = await LoginRawAsync(server, cts.Token);

        // Well past the login timeout, the session goes on.
        await Task.Delay(900, cts.Token);
        await peer.SendTextAsync("x", cts.Token);
        Assert.Equal("x", (await peer.ReadFrameAsync(cts.Token)).Text);
        Assert.True(server.Server.HasSession);
    }

    // ---- Frames the board accepts and ignores ----

    [Fact]
    public async Task Frame64BitLength_ClosesTheConnection()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await LoginRawAsync(server, cts.Token);

        // Binary frame, masked, length 127 => 64-bit length (here 10), mask key, 10 bytes.
        await peer.WriteAsync(Hex.Parse("82 ff 000000000000000a 00000000 00000000000000000000"), cts.Token);

        Assert.Empty(await peer.ReadToEndAsync(cts.Token));
        await WaitUntilAsync(() => !server.Server.HasSession, cts.Token);
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
    }

    [Fact]
    public async Task Frame64BitLengthBeforeLogin_ClosesTheConnection()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await RawPeer.ConnectWebSocketAsync(server.EndPoint, cts.Token);
        await peer.ReadFrameAsync(cts.Token);

        await peer.WriteAsync(Hex.Parse("81 ff 0000000000000001 00000000 0d"), cts.Token);

        Assert.Empty(await peer.ReadToEndAsync(cts.Token));
    }

    [Fact]
    public async Task Ping_GetsNoPong()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await LoginRawAsync(server, cts.Token);

        await peer.SendFrameAsync(0x9, "hb"u8.ToArray(), cts.Token);
        await peer.SendFrameAsync(0xA, "unsolicited"u8.ToArray(), cts.Token);
        await peer.SendTextAsync("x", cts.Token);

        // The board handles frames in order: had it answered the ping, the pong would come before the echo.
        var next = await peer.ReadFrameAsync(cts.Token);
        Assert.Equal(0x1, next.Opcode);
        Assert.Equal("x", next.Text);
    }

    [Fact]
    public async Task EmptyTextFrame_IsIgnored()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await LoginRawAsync(server, cts.Token);

        await peer.SendTextAsync(string.Empty, cts.Token);
        await peer.SendFrameAsync(0x2, ReadOnlyMemory<byte>.Empty, cts.Token);
        await peer.SendTextAsync("y", cts.Token);

        var next = await peer.ReadFrameAsync(cts.Token);
        Assert.Equal(Hex.Parse("81 01"), next.Header);
        Assert.Equal("y", next.Text);
    }

    [Fact]
    public async Task CloseFrame_AnsweredWithBareCloseThenConnectionEnds()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await LoginRawAsync(server, cts.Token);

        await peer.SendFrameAsync(0x8, Hex.Parse("03e8") /* 1000 */, cts.Token);

        Assert.Equal(Hex.Parse("88 00"), await peer.ReadToEndAsync(cts.Token));
        await WaitUntilAsync(() => !server.Server.HasSession, cts.Token);
    }

    [Fact]
    public async Task UnmaskedClientFrames_AreAccepted()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await LoginRawAsync(server, cts.Token);

        await peer.SendFrameAsync(0x1, "plain"u8.ToArray(), cts.Token, mask: false);

        Assert.Equal("plain", (await peer.ReadFrameAsync(cts.Token)).Text);
    }

    [Fact]
    public async Task ClientFrameWith16BitLength_IsAccepted()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await LoginRawAsync(server, cts.Token);
        byte[] text = Encoding.ASCII.GetBytes(new string('t', 300));

        await peer.SendFrameAsync(0x1, text, cts.Token);

        var echo = await peer.ReadFrameAsync(cts.Token);
        Assert.Equal(Hex.Parse("81 7e 012c"), echo.Header);
        Assert.Equal(text, echo.Payload);
    }

    [Fact]
    public async Task ContinuationFrames_KeepTheFirstFramesType()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await LoginRawAsync(server, cts.Token);

        await peer.SendFrameAsync(0x2, GetVersionRecord.AsMemory(0, 40), cts.Token, fin: false);
        await peer.SendFrameAsync(0x0, GetVersionRecord.AsMemory(40), cts.Token);
        var version = await peer.ReadFrameAsync(cts.Token);
        Assert.Equal(Hex.Parse("82 03"), version.Header);
        Assert.Equal(Hex.Parse("011801"), version.Payload);
        await peer.SendFrameAsync(0x1, "ab"u8.ToArray(), cts.Token, fin: false);
        await peer.SendFrameAsync(0x0, "cd"u8.ToArray(), cts.Token);

        Assert.Equal("abcd", Encoding.ASCII.GetString(await peer.ReadBytesAsync(4, 0x1, cts.Token)));
    }

    // ---- The board's own frames ----

    [Fact]
    public async Task ConsoleOutputOver64KiB_SentAsUnmaskedFramesWith16BitLengths()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await LoginRawAsync(server, cts.Token);
        byte[] output = new byte[70_000];
        new Random(70).NextBytes(output);

        await server.Console.PrintAsync(output, cts.Token);

        var first = await peer.ReadFrameAsync(cts.Token);
        var second = await peer.ReadFrameAsync(cts.Token);
        Assert.Equal(Hex.Parse("81 7e ffff"), first.Header);
        Assert.Equal(Hex.Parse("81 7e 1171"), second.Header); // 70000 - 65535 = 4465 = 0x1171
        Assert.Equal(output, first.Payload.Concat(second.Payload).ToArray());
    }

    // ---- Requests ----

    [Fact]
    public async Task GetVersion_SplitAsTheReferenceClientSendsIt_AnswersThreeBytes()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start(console: new EchoConsole(new WebReplVersion(1, 25, 0)));
        await using var peer = await LoginRawAsync(server, cts.Token);

        await peer.SendBinaryAsync(GetVersionRecord.AsMemory(0, 10), cts.Token);
        await peer.SendBinaryAsync(GetVersionRecord.AsMemory(10), cts.Token);

        var reply = await peer.ReadFrameAsync(cts.Token);
        Assert.Equal(Hex.Parse("82 03"), reply.Header);
        Assert.Equal(Hex.Parse("01 19 00"), reply.Payload);
    }

    [Fact]
    public async Task Get_FileOf257Bytes_SendsExactReplySequence()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        byte[] data = new byte[257];
        new Random(257).NextBytes(data);
        await File.WriteAllBytesAsync(Path.Combine(server.Root, "f.bin"), data, cts.Token);
        await using var peer = await LoginRawAsync(server, cts.Token);
        byte[] record = new WebReplRequest(WebReplOperation.GetFile, 0, "f.bin").ToArray();

        await peer.SendBinaryAsync(record.AsMemory(0, 10), cts.Token);
        await peer.SendBinaryAsync(record.AsMemory(10), cts.Token);
        var opened = await peer.ReadFrameAsync(cts.Token);
        await peer.SendBinaryAsync(new byte[] { 0 }, cts.Token);
        var chunk1 = await peer.ReadFrameAsync(cts.Token);
        await peer.SendBinaryAsync(new byte[] { 0 }, cts.Token);
        var chunk2 = await peer.ReadFrameAsync(cts.Token);
        await peer.SendBinaryAsync(new byte[] { 0 }, cts.Token);
        var end = await peer.ReadFrameAsync(cts.Token);
        var done = await peer.ReadFrameAsync(cts.Token);

        Assert.Equal(Hex.Parse("82 04 57420000"), opened.Bytes);
        Assert.Equal(Hex.Parse("82 7e 0102 0001"), chunk1.Bytes[..6]);
        Assert.Equal(data[..256], chunk1.Payload[2..]);
        Assert.Equal(Hex.Parse("82 03 0100").Append(data[256]).ToArray(), chunk2.Bytes);
        Assert.Equal(Hex.Parse("82 02 0000"), end.Bytes);
        Assert.Equal(Hex.Parse("82 04 57420000"), done.Bytes);
    }

    [Fact]
    public async Task Put_RecordSplitAndDataInSeveralFrames_WritesFileAndConfirmsTwice()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await LoginRawAsync(server, cts.Token);
        byte[] record = new WebReplRequest(WebReplOperation.PutFile, 11, "hello.txt").ToArray();

        await peer.SendBinaryAsync(record.AsMemory(0, 10), cts.Token);
        await peer.SendBinaryAsync(record.AsMemory(10), cts.Token);
        var opened = await peer.ReadFrameAsync(cts.Token);
        await peer.SendBinaryAsync("hello"u8.ToArray(), cts.Token);
        await peer.SendBinaryAsync(" "u8.ToArray(), cts.Token);
        await peer.SendBinaryAsync("world"u8.ToArray(), cts.Token);
        var done = await peer.ReadFrameAsync(cts.Token);

        Assert.Equal(Hex.Parse("82 04 57420000"), opened.Bytes);
        Assert.Equal(Hex.Parse("82 04 57420000"), done.Bytes);
        Assert.Equal("hello world", await File.ReadAllTextAsync(Path.Combine(server.Root, "hello.txt"), cts.Token));
    }

    [Fact]
    public async Task Put_RecordAndDataAndNextRequestInOneFrame_AllHandled()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await LoginRawAsync(server, cts.Token);
        byte[] record = new WebReplRequest(WebReplOperation.PutFile, 3, "abc.txt").ToArray();

        await peer.SendBinaryAsync(record.Concat("abc"u8.ToArray()).Concat(GetVersionRecord).ToArray(), cts.Token);

        Assert.Equal(Hex.Parse("57420000"), (await peer.ReadFrameAsync(cts.Token)).Payload);
        Assert.Equal(Hex.Parse("57420000"), (await peer.ReadFrameAsync(cts.Token)).Payload);
        Assert.Equal(Hex.Parse("011801"), (await peer.ReadFrameAsync(cts.Token)).Payload);
        Assert.Equal("abc", await File.ReadAllTextAsync(Path.Combine(server.Root, "abc.txt"), cts.Token));
    }

    [Fact]
    public async Task Put_TextFrameDuringTransfer_IsTerminalInputNotFileData()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await LoginRawAsync(server, cts.Token);

        await peer.SendBinaryAsync(new WebReplRequest(WebReplOperation.PutFile, 4, "t.bin").ToArray(), cts.Token);
        await peer.ReadFrameAsync(cts.Token);
        await peer.SendBinaryAsync("12"u8.ToArray(), cts.Token);
        await peer.SendTextAsync("key", cts.Token);
        var echo = await peer.ReadFrameAsync(cts.Token);
        await peer.SendBinaryAsync("34"u8.ToArray(), cts.Token);
        var done = await peer.ReadFrameAsync(cts.Token);

        Assert.Equal((byte)0x1, echo.Opcode);
        Assert.Equal("key", echo.Text);
        Assert.Equal(Hex.Parse("57420000"), done.Payload);
        Assert.Equal("1234", await File.ReadAllTextAsync(Path.Combine(server.Root, "t.bin"), cts.Token));
    }

    [Fact]
    public async Task Get_MissingFile_NoReplyConsolePrintsErrorConnectionDropped()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await LoginRawAsync(server, cts.Token);

        await peer.SendBinaryAsync(new WebReplRequest(WebReplOperation.GetFile, 0, "missing.py").ToArray(), cts.Token);

        Assert.Empty(await peer.ReadToEndAsync(cts.Token));
        Assert.Contains("dupterm: OSError: [Errno 2] ENOENT\r\n", server.Console.Notices);
        await WaitUntilAsync(() => !server.Server.HasSession, cts.Token);
    }

    // ---- Garbage ----

    [Fact]
    public async Task RecordWithWrongSignature_IsReadByItsOpAsTheFirmwareDoes()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await LoginRawAsync(server, cts.Token);
        byte[] record = [.. GetVersionRecord];
        record[0] = 0;
        record[1] = 0;

        await peer.SendBinaryAsync(record, cts.Token);

        // The firmware never checks "WA": a record that starts with two zero bytes is still a GET_VER.
        Assert.Equal(Hex.Parse("011801"), (await peer.ReadFrameAsync(cts.Token)).Payload);
    }

    [Theory]
    [InlineData("5741 09 00")]
    [InlineData("0000 00 00")] // what three surplus zero bytes after a GET begin
    public async Task RecordWithUnknownOp_NameMissing_DropsSessionAsTheFirmwareDoes(string start)
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await LoginRawAsync(server, cts.Token);
        byte[] record = new WebReplRequest(WebReplOperation.PutFile, 3, "garbage.txt").ToArray();
        Hex.Parse(start).CopyTo(record, 0);

        await peer.SendBinaryAsync(record, cts.Token);

        // Any op but GET_VER opens the name: a failed open raises inside the board's read and drops the socket.
        Assert.Empty(await peer.ReadToEndAsync(cts.Token));
        Assert.Contains("dupterm: OSError: [Errno 2] ENOENT\r\n", server.Console.Notices);
        Assert.Empty(server.AllFiles());
    }

    [Fact]
    public async Task RecordWithUnknownOp_NameExists_RepliesThenReadsNoMoreRequestsButTerminalGoesOn()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await File.WriteAllTextAsync(Path.Combine(server.Root, "x.txt"), "x", cts.Token);
        await using var peer = await LoginRawAsync(server, cts.Token);
        byte[] record = new WebReplRequest(WebReplOperation.GetFile, 0, "x.txt").ToArray();
        record[2] = 0;

        await peer.SendBinaryAsync(record, cts.Token);
        var opened = await peer.ReadFrameAsync(cts.Token);
        await peer.SendBinaryAsync(GetVersionRecord, cts.Token);
        await peer.SendTextAsync("still here", cts.Token);

        Assert.Equal(Hex.Parse("57420000"), opened.Payload);
        // The GET_VER got no answer: the next frame is the terminal's echo.
        var next = await peer.ReadFrameAsync(cts.Token);
        Assert.Equal((byte)0x1, next.Opcode);
        Assert.Equal("still here", next.Text);
    }

    [Fact]
    public async Task RecordWithUnterminatedName_IsIgnoredAndCreatesNothing()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var peer = await LoginRawAsync(server, cts.Token);
        byte[] record = new WebReplRequest(WebReplOperation.PutFile, 0, "x").ToArray();
        record.AsSpan(18).Fill((byte)'a');

        await peer.SendBinaryAsync(record, cts.Token);
        await peer.SendBinaryAsync(GetVersionRecord, cts.Token);

        Assert.Equal(Hex.Parse("011801"), (await peer.ReadFrameAsync(cts.Token)).Payload);
        Assert.Empty(server.AllFiles());
    }

    [Fact]
    public async Task RandomBinaryGarbage_NeitherCrashesServerNorCreatesFiles()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        var random = new Random(1234);
        for (int round = 0; round < 5; round++)
        {
            await using var peer = await LoginRawAsync(server, cts.Token);
            byte[] garbage = new byte[random.Next(1, 2000)];
            random.NextBytes(garbage);
            for (int op = 2; op < garbage.Length; op += WebReplRequest.Length)
            {
                garbage[op] = 9; // an unknown op in every record: never a PUT (the firmware reads no signature)
            }

            await peer.SendBinaryAsync(garbage, cts.Token);
            await peer.WriteAsync(Hex.Parse("88 80 00000000"), cts.Token);
            await peer.ReadToEndAsync(cts.Token);
            await WaitUntilAsync(() => !server.Server.HasSession, cts.Token);
        }

        Assert.Empty(server.AllFiles());
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
        Assert.Equal(new WebReplVersion(1, 24, 1), await client.GetVersionAsync(cts.Token));
    }

    [Fact]
    public async Task TruncatedPutRecordThenDisconnect_CreatesNothingAndNextClientLogsIn()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using (var peer = await LoginRawAsync(server, cts.Token))
        {
            byte[] record = new WebReplRequest(WebReplOperation.PutFile, 100, "partial.txt").ToArray();
            await peer.SendBinaryAsync(record.AsMemory(0, 40), cts.Token);
        }

        await WaitUntilAsync(() => !server.Server.HasSession, cts.Token);
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
        Assert.Equal(new WebReplVersion(1, 24, 1), await client.GetVersionAsync(cts.Token));
        Assert.Empty(server.AllFiles());
    }

    [Fact]
    public async Task PutInterruptedAfterSomeData_LeavesNoFileAndKeepsTheOldOne()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        string existing = Path.Combine(server.Root, "keep.txt");
        await File.WriteAllTextAsync(existing, "old", cts.Token);
        await using (var peer = await LoginRawAsync(server, cts.Token))
        {
            await peer.SendBinaryAsync(new WebReplRequest(WebReplOperation.PutFile, 100, "keep.txt").ToArray(), cts.Token);
            await peer.ReadFrameAsync(cts.Token);
            await peer.SendBinaryAsync(new byte[50], cts.Token);
        }

        await WaitUntilAsync(() => !server.Server.HasSession, cts.Token);
        Assert.Equal([existing], server.AllFiles());
        Assert.Equal("old", await File.ReadAllTextAsync(existing, cts.Token));
    }

    // ---- One connection at a time ----

    [Fact]
    public async Task SecondConnection_Handshaken_ThenClosedWithoutPrompt()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var first = await LoginRawAsync(server, cts.Token);

        await using var second = await RawPeer.ConnectWebSocketAsync(server.EndPoint, cts.Token);

        Assert.Empty(await second.ReadToEndAsync(cts.Token));
        // The first session sees the board's notice and goes on.
        string notice = (await first.ReadFrameAsync(cts.Token)).Text;
        Assert.Matches(@"^\r\nConcurrent WebREPL connection from \('127\.0\.0\.1', \d+\) rejected\r\n$", notice);
        await first.SendTextAsync("z", cts.Token);
        Assert.Equal("z", (await first.ReadFrameAsync(cts.Token)).Text);
    }

    // ---- Paths through the protocol ----

    [Fact]
    public async Task GetOutsideRoot_FailsWhileTheFileExists()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        string secret = Path.Combine(Path.GetDirectoryName(server.Root)!, "secret");
        await File.WriteAllTextAsync(secret, "top secret", cts.Token);
        await File.WriteAllTextAsync(Path.Combine(server.Outside, "secret"), "top secret", cts.Token);

        foreach (string path in new[] { "../secret", "/../secret", "../outside/secret", "a/../../secret" })
        {
            await using var client = await server.ConnectAndLoginAsync(cts.Token);
            var back = new MemoryStream();
            await Assert.ThrowsAsync<WebReplRemoteException>(() => client.GetFileAsync(path, back, cancellationToken: cts.Token));
            Assert.Equal(0, back.Length);
            await client.DisposeAsync();
            await WaitUntilAsync(() => !server.Server.HasSession, cts.Token);
        }
    }

    [Fact]
    public async Task GetThroughSymlinkPointingOutside_Fails()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        string secret = Path.Combine(server.Outside, "secret");
        await File.WriteAllTextAsync(secret, "top secret", cts.Token);
        File.CreateSymbolicLink(Path.Combine(server.Root, "link"), secret);
        Directory.CreateSymbolicLink(Path.Combine(server.Root, "dir"), server.Outside);

        foreach (string path in new[] { "link", "dir/secret" })
        {
            await using var client = await server.ConnectAndLoginAsync(cts.Token);
            var back = new MemoryStream();
            await Assert.ThrowsAsync<WebReplRemoteException>(() => client.GetFileAsync(path, back, cancellationToken: cts.Token));
            Assert.Equal(0, back.Length);
            await client.DisposeAsync();
            await WaitUntilAsync(() => !server.Server.HasSession, cts.Token);
        }
    }

    [Fact]
    public async Task PutOutsideRoot_CreatesNothingOutside()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        Directory.CreateSymbolicLink(Path.Combine(server.Root, "dir"), server.Outside);
        string parent = Path.GetDirectoryName(server.Root)!;

        foreach (string path in new[] { "../evil", "/../evil", "../outside/evil", "dir/evil", "../../evil" })
        {
            await using var client = await server.ConnectAndLoginAsync(cts.Token);
            await Assert.ThrowsAsync<WebReplRemoteException>(() => client.PutFileAsync(new MemoryStream("evil"u8.ToArray()), path, cancellationToken: cts.Token));
            await client.DisposeAsync();
            await WaitUntilAsync(() => !server.Server.HasSession, cts.Token);
        }

        Assert.Empty(server.AllFiles());
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(parent)!, "*evil*"));
    }

    // ---- Lifetime ----

    [Fact]
    public async Task DisposeAsync_WithLiveSession_ClosesItPromptly()
    {
        using var cts = TestTimeout.Start();
        var server = LoopbackServer.Start();
        var endPoint = server.EndPoint;
        await using var peer = await LoginRawAsync(server, cts.Token);

        await server.DisposeAsync().AsTask().WaitAsync(cts.Token);

        await peer.ReadToEndAsync(cts.Token);
        await Assert.ThrowsAnyAsync<SocketException>(async () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(endPoint, cts.Token);
        });
    }

    [Fact]
    public void Constructor_PasswordLongerThanTheFirmwareKeeps_Throws()
    {
        var options = new WebReplServerOptions { Password = new string('p', 10), EndPoint = new IPEndPoint(IPAddress.Loopback, 0) };

        var ex = Assert.Throws<ArgumentException>(() => new WebReplServer(options, new EchoConsole(), new DirectoryFileStore(Path.GetTempPath())));

        Assert.Contains("1 to 9 bytes", ex.Message, StringComparison.Ordinal);
    }

    // ---- Helpers ----

    private static async Task<RawPeer> LoginRawAsync(LoopbackServer server, CancellationToken cancellationToken)
    {
        var peer = await RawPeer.ConnectWebSocketAsync(server.EndPoint, cancellationToken);
        await peer.LoginAsync(LoopbackServer.Password, cancellationToken);
        return peer;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(10, cancellationToken);
        }
    }
}
