using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using WebRepl.Tests.Support;
using WebRepl.Transport;

namespace WebRepl.Tests.Transport;

/// <summary>The client end of the framing against scripted boards that check and send exact bytes.</summary>
public sealed class WebSocketConnectionTests
{
    [Fact]
    public async Task ConnectAsync_ProxyUrl_SendsPathExactlyToTheProxy()
    {
        using var cts = TestTimeout.Start();
        var request = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var proxy = new ScriptedBoard(async (peer, token) =>
        {
            request.TrySetResult(await peer.AcceptWebSocketAsync(token));
            await peer.ReadToEndAsync(token);
        });
        // The proxy form: this connects to the loopback "proxy" only; the board address is just the path.
        var target = WebReplTarget.Parse($"ws://127.0.0.1:{proxy.Port}/ws://192.168.2.197:8266");

        await using var connection = await WebSocketConnection.ConnectAsync(target, WebSocketConnectOptions.Default, cts.Token);

        string[] lines = (await request.Task.WaitAsync(cts.Token)).Split("\r\n");
        Assert.Equal("GET /ws://192.168.2.197:8266 HTTP/1.1", lines[0]);
        Assert.Contains($"Host: 127.0.0.1:{proxy.Port}", lines);
        Assert.Contains("Upgrade: websocket", lines);
        Assert.Contains("Sec-WebSocket-Version: 13", lines);
        Assert.Contains(lines, l => l.StartsWith("Connection:", StringComparison.Ordinal) && l.Contains("Upgrade", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("Sec-WebSocket-Key: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ConnectAsync_ExtraHeaders_AreSent()
    {
        using var cts = TestTimeout.Start();
        var request = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            request.TrySetResult(await peer.AcceptWebSocketAsync(token));
            await peer.ReadToEndAsync(token);
        });
        var options = WebSocketConnectOptions.Default with { RequestHeaders = [new("Origin", "http://edrys.test")] };

        await using var connection = await WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), options, cts.Token);

        Assert.Contains("Origin: http://edrys.test", (await request.Task.WaitAsync(cts.Token)).Split("\r\n"));
    }

    [Fact]
    public async Task ConnectAsync_WrongAccept_ThrowsConnectionException()
    {
        using var cts = TestTimeout.Start();
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.ReadHttpHeadAsync(token);
            await peer.WriteAsync(Encoding.ASCII.GetBytes(
                $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {RawPeer.SampleAccept}\r\n\r\n"), token);
            await peer.ReadToEndAsync(token);
        });

        var ex = await Assert.ThrowsAsync<WebReplConnectionException>(
            () => WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), WebSocketConnectOptions.Default, cts.Token));

        Assert.Contains("Sec-WebSocket-Accept", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectAsync_Not101_ThrowsWithTheStatusLine()
    {
        using var cts = TestTimeout.Start();
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.ReadHttpHeadAsync(token);
            await peer.WriteAsync("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), token);
            await peer.ReadToEndAsync(token);
        });

        var ex = await Assert.ThrowsAsync<WebReplConnectionException>(
            () => WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), WebSocketConnectOptions.Default, cts.Token));

        Assert.Contains("404 Not Found", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectAsync_PeerClosesDuringHandshake_ThrowsConnectionException()
    {
        using var cts = TestTimeout.Start();
        await using var board = new ScriptedBoard(async (peer, token) => await peer.ReadHttpHeadAsync(token));

        var ex = await Assert.ThrowsAsync<WebReplConnectionException>(
            () => WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), WebSocketConnectOptions.Default, cts.Token));

        Assert.Contains("closed the connection during the WebSocket handshake", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectAsync_NothingListening_ThrowsConnectionRefused()
    {
        using var cts = TestTimeout.Start();
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }

        var ex = await Assert.ThrowsAsync<WebReplConnectionException>(
            () => WebSocketConnection.ConnectAsync(WebReplTarget.Parse($"127.0.0.1:{port}"), WebSocketConnectOptions.Default, cts.Token));

        Assert.Contains("connection refused", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectAsync_NoHandshakeAnswer_ThrowsTimeoutWithinConnectTimeout()
    {
        using var cts = TestTimeout.Start();
        await using var board = new ScriptedBoard(async (peer, token) => await peer.ReadToEndAsync(token));
        var options = WebSocketConnectOptions.Default with { ConnectTimeout = TimeSpan.FromMilliseconds(500) };
        var clock = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<WebReplTimeoutException>(
            () => WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), options, cts.Token));

        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(3));
        Assert.Contains("0.5 s", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectAsync_CallerCancels_ThrowsOperationCanceled()
    {
        using var cts = TestTimeout.Start();
        await using var board = new ScriptedBoard(async (peer, token) => await peer.ReadToEndAsync(token));
        using var caller = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        caller.CancelAfter(200);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), WebSocketConnectOptions.Default, caller.Token));
    }

    [Fact]
    public async Task ConnectAsync_HandshakeAnswerAndFirstFrameInOneWrite_KeepsTheFrame()
    {
        using var cts = TestTimeout.Start();
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            string head = await peer.ReadHttpHeadAsync(token);
            string key = head.Split("\r\n").Single(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.Ordinal))[18..].Trim();
            byte[] answer = Encoding.ASCII.GetBytes(
                $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {RawPeer.AcceptFor(key)}\r\n\r\n");
            await peer.WriteAsync(answer.Concat(RawPeer.BuildFrame(0x1, "Password: "u8, fin: true, mask: false)).ToArray(), token);
            await peer.ReadToEndAsync(token);
        });

        await using var connection = await WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), WebSocketConnectOptions.Default, cts.Token);
        var frame = await connection.ReceiveAsync(cts.Token);

        Assert.Equal(WebSocketFrameType.Text, frame.Type);
        Assert.Equal("Password: ", Encoding.ASCII.GetString(frame.Payload.Span));
    }

    [Theory]
    [InlineData(5, 7)]
    [InlineData(200, 16)]
    [InlineData(70_000, 64)]
    public async Task SendAsync_Client_MasksFramesWithTheSmallestLength(int size, int lengthBits)
    {
        using var cts = TestTimeout.Start();
        var received = new TaskCompletionSource<RawFrame>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            received.TrySetResult(await peer.ReadFrameAsync(token));
            await peer.ReadToEndAsync(token);
        });
        await using var connection = await WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), WebSocketConnectOptions.Default, cts.Token);
        byte[] payload = new byte[size];
        new Random(size).NextBytes(payload);

        await connection.SendAsync(payload, WebSocketFrameType.Binary, cancellationToken: cts.Token);

        var frame = await received.Task.WaitAsync(cts.Token);
        Assert.Equal(0x82, frame.Header[0]);
        Assert.True(frame.Masked);
        Assert.Equal(lengthBits, frame.LengthBits);
        Assert.Equal(payload, frame.Payload);
    }

    [Fact]
    public async Task SendAsync_WithoutFlush_FramesGoOutWholeAndInOrder_OnFlushSendOrClose()
    {
        using var cts = TestTimeout.Start();
        var frames = new TaskCompletionSource<List<RawFrame>>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            var seen = new List<RawFrame>();
            while (seen.Count == 0 || seen[^1].Header[0] != 0x88)
            {
                seen.Add(await peer.ReadFrameAsync(token));
            }

            frames.TrySetResult(seen);
            await peer.ReadToEndAsync(token);
        });
        await using var connection = await WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), WebSocketConnectOptions.Default, cts.Token);
        var random = new Random(5);
        var sent = new List<byte[]>();
        for (int i = 0; i < 120; i++)
        {
            // 120 frames of up to 2 KiB: more than the 64 KiB send buffer, so some go out when it fills.
            byte[] payload = new byte[random.Next(0, 2048)];
            random.NextBytes(payload);
            sent.Add(payload);
            bool flush = i == 40; // one flushing send in the middle
            await connection.SendAsync(payload, WebSocketFrameType.Binary, true, flush, cts.Token);
            if (i == 80)
            {
                await connection.FlushAsync(cts.Token);
            }
        }

        await connection.CloseAsync(1000, "bye", cts.Token); // writes what is still buffered first

        var received = await frames.Task.WaitAsync(cts.Token);
        Assert.Equal(sent.Count + 1, received.Count);
        for (int i = 0; i < sent.Count; i++)
        {
            Assert.Equal(0x82, received[i].Header[0]);
            Assert.True(received[i].Masked);
            Assert.Equal(sent[i], received[i].Payload);
        }
    }

    [Fact]
    public async Task SendAsync_AfterDispose_ThrowsConnectionException_NotObjectDisposed()
    {
        // A board's output sink can still send as its session's connection is disposed; it must get the documented
        // exception, which the console treats as "the session is going away" (an ObjectDisposedException from the
        // send lock stopped the virtual board's reading of its interpreter).
        using var cts = TestTimeout.Start();
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            await peer.ReadToEndAsync(token);
        });
        var connection = await WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), WebSocketConnectOptions.Default, cts.Token);
        await connection.SendAsync("buffered"u8.ToArray(), WebSocketFrameType.Text, true, flush: false, cts.Token);

        await connection.DisposeAsync();

        await Assert.ThrowsAsync<WebReplConnectionException>(async () => await connection.SendAsync("late"u8.ToArray(), WebSocketFrameType.Text, cancellationToken: cts.Token));
        await Assert.ThrowsAsync<WebReplConnectionException>(async () => await connection.SendAsync("late"u8.ToArray(), WebSocketFrameType.Text, true, flush: false, cts.Token));
        await connection.CloseAsync(cancellationToken: cts.Token); // nothing left to tell the peer: no error
    }

    [Fact]
    public async Task HasBufferedFrame_TrueOnlyWhileAWholeDataFrameWaits()
    {
        using var cts = TestTimeout.Start();
        var sendRest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            byte[] second = RawPeer.BuildFrame(0x1, "two"u8, fin: true, mask: false);
            // Two frames and the first two bytes of a third in one write; the rest of the third later.
            await peer.WriteAsync((byte[])[.. RawPeer.BuildFrame(0x2, "one"u8, true, false), .. second, .. second[..2]], token);
            await sendRest.Task.WaitAsync(token);
            await peer.WriteAsync(second.AsMemory(2), token);
            await peer.ReadToEndAsync(token);
        });
        await using var connection = await WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), WebSocketConnectOptions.Default, cts.Token);

        Assert.Equal("one"u8.ToArray(), (await connection.ReceiveAsync(cts.Token)).Payload.ToArray());
        Assert.True(connection.HasBufferedFrame);
        Assert.Equal("two"u8.ToArray(), (await connection.ReceiveAsync(cts.Token)).Payload.ToArray());
        Assert.False(connection.HasBufferedFrame); // only a partial frame is here
        sendRest.SetResult();
        Assert.Equal("two"u8.ToArray(), (await connection.ReceiveAsync(cts.Token)).Payload.ToArray());
        Assert.False(connection.HasBufferedFrame);
    }

    [Fact]
    public async Task SendAsync_NotEndOfMessage_ContinuesWithContinuationFrames()
    {
        using var cts = TestTimeout.Start();
        var received = new TaskCompletionSource<RawFrame[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            received.TrySetResult([await peer.ReadFrameAsync(token), await peer.ReadFrameAsync(token), await peer.ReadFrameAsync(token), await peer.ReadFrameAsync(token)]);
            await peer.ReadToEndAsync(token);
        });
        await using var connection = await WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), WebSocketConnectOptions.Default, cts.Token);

        await connection.SendAsync("ab"u8.ToArray(), WebSocketFrameType.Text, endOfMessage: false, cts.Token);
        await connection.SendAsync("cd"u8.ToArray(), WebSocketFrameType.Text, endOfMessage: false, cts.Token);
        await connection.SendAsync("ef"u8.ToArray(), WebSocketFrameType.Text, endOfMessage: true, cts.Token);
        await connection.SendAsync("gh"u8.ToArray(), WebSocketFrameType.Binary, cancellationToken: cts.Token);

        var frames = await received.Task.WaitAsync(cts.Token);
        Assert.Equal([0x01, 0x00, 0x80, 0x82], frames.Select(f => f.Header[0]));
        Assert.Equal("abcdefgh", string.Concat(frames.Select(f => f.Text)));
    }

    [Fact]
    public async Task ReceiveAsync_TextFrameNotUtf8_ReturnsBytesAndConnectionSurvives()
    {
        using var cts = TestTimeout.Start();
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            await peer.SendFrameAsync(0x1, Hex.Parse("ff fe c3"), token);
            await peer.SendFrameAsync(0x1, Hex.Parse("a9"), token);
            await peer.ReadToEndAsync(token);
        });
        await using var connection = await WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), WebSocketConnectOptions.Default, cts.Token);

        var first = await connection.ReceiveAsync(cts.Token);
        var second = await connection.ReceiveAsync(cts.Token);

        Assert.Equal(WebSocketFrameType.Text, first.Type);
        Assert.Equal(Hex.Parse("ff fe c3"), first.Payload.ToArray());
        Assert.Equal(Hex.Parse("a9"), second.Payload.ToArray());
        Assert.False(connection.IsClosed);
    }

    [Fact]
    public async Task ReceiveAsync_Ping_AnsweredWithMaskedPongCarryingThePayload()
    {
        using var cts = TestTimeout.Start();
        var pong = new TaskCompletionSource<RawFrame>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            await peer.SendFrameAsync(0x9, "hb"u8.ToArray(), token);
            await peer.SendFrameAsync(0xA, "unsolicited"u8.ToArray(), token);
            await peer.SendTextAsync("after", token);
            pong.TrySetResult(await peer.ReadFrameAsync(token));
            await peer.ReadToEndAsync(token);
        });
        await using var connection = await WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), WebSocketConnectOptions.Default, cts.Token);

        var frame = await connection.ReceiveAsync(cts.Token);

        Assert.Equal("after", Encoding.ASCII.GetString(frame.Payload.Span));
        var answer = await pong.Task.WaitAsync(cts.Token);
        Assert.Equal(0x8A, answer.Header[0]);
        Assert.True(answer.Masked);
        Assert.Equal("hb", answer.Text);
    }

    [Fact]
    public async Task ReceiveAsync_ContinuationFrames_KeepTheMessageType()
    {
        using var cts = TestTimeout.Start();
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            await peer.SendFrameAsync(0x2, Hex.Parse("01"), token, fin: false);
            await peer.SendFrameAsync(0x0, Hex.Parse("02"), token);
            await peer.SendFrameAsync(0x1, "t"u8.ToArray(), token, fin: false);
            await peer.SendFrameAsync(0x0, "u"u8.ToArray(), token);
            await peer.ReadToEndAsync(token);
        });
        await using var connection = await WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), WebSocketConnectOptions.Default, cts.Token);

        var frames = new[]
        {
            await connection.ReceiveAsync(cts.Token), await connection.ReceiveAsync(cts.Token),
            await connection.ReceiveAsync(cts.Token), await connection.ReceiveAsync(cts.Token),
        };

        Assert.Equal([WebSocketFrameType.Binary, WebSocketFrameType.Binary, WebSocketFrameType.Text, WebSocketFrameType.Text], frames.Select(f => f.Type));
        Assert.Equal([false, true, false, true], frames.Select(f => f.EndOfMessage));
    }

    [Fact]
    public async Task ReceiveAsync_CloseWithStatus_ReturnsItAndAnswersWithClose()
    {
        using var cts = TestTimeout.Start();
        var answer = new TaskCompletionSource<RawFrame>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            await peer.SendFrameAsync(0x8, Hex.Parse("03e9").Concat("bye"u8.ToArray()).ToArray(), token);
            answer.TrySetResult(await peer.ReadFrameAsync(token));
            await peer.ReadToEndAsync(token);
        });
        await using var connection = await WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), WebSocketConnectOptions.Default, cts.Token);

        var frame = await connection.ReceiveAsync(cts.Token);

        Assert.Equal(WebSocketFrameType.Close, frame.Type);
        Assert.Equal(1001, frame.CloseStatus);
        Assert.Equal("bye", frame.CloseReason);
        Assert.True(connection.IsClosed);
        var close = await answer.Task.WaitAsync(cts.Token);
        Assert.Equal(0x88, close.Header[0]);
        Assert.True(close.Masked);
        Assert.Equal(Hex.Parse("03e9"), close.Payload[..2]);
        await Assert.ThrowsAsync<WebReplConnectionException>(async () => await connection.SendAsync("x"u8.ToArray(), WebSocketFrameType.Text, cancellationToken: cts.Token));
    }

    [Fact]
    public async Task ReceiveAsync_BoardDropsWithoutClose_ReturnsCloseSayingSo()
    {
        using var cts = TestTimeout.Start();
        await using var board = new ScriptedBoard(async (peer, token) => await peer.AcceptWebSocketAsync(token));
        await using var connection = await WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), WebSocketConnectOptions.Default, cts.Token);

        var frame = await connection.ReceiveAsync(cts.Token);

        Assert.Equal(WebSocketFrameType.Close, frame.Type);
        Assert.Null(frame.CloseStatus);
        Assert.Contains("without a close frame", frame.CloseReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReceiveAsync_BoardDropsInTheMiddleOfAFrame_ThrowsConnectionException()
    {
        using var cts = TestTimeout.Start();
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            await peer.WriteAsync(Hex.Parse("82 7e 0100 0102030405"), token);
        });
        await using var connection = await WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), WebSocketConnectOptions.Default, cts.Token);

        await Assert.ThrowsAsync<WebReplConnectionException>(async () => await connection.ReceiveAsync(cts.Token));
    }

    [Fact]
    public async Task ReceiveAsync_FrameOverMaxFrameBytes_ThrowsFrameTooLargeException()
    {
        using var cts = TestTimeout.Start();
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            await peer.SendBinaryAsync(new byte[2000], token);
            await peer.ReadToEndAsync(token);
        });
        var options = WebSocketConnectOptions.Default with { MaxFrameBytes = 1000 };
        await using var connection = await WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), options, cts.Token);

        var ex = await Assert.ThrowsAsync<WebReplFrameTooLargeException>(async () => await connection.ReceiveAsync(cts.Token));

        Assert.IsAssignableFrom<WebReplProtocolException>(ex);
        Assert.Equal(2000, ex.Length);
        Assert.Equal(1000, ex.Limit);
        Assert.Contains("2000", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReceiveAsync_64BitLengthFromServer_IsAcceptedByClient()
    {
        using var cts = TestTimeout.Start();
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            await peer.WriteAsync(Hex.Parse("82 7f 0000000000000003 616263"), token);
            await peer.ReadToEndAsync(token);
        });
        await using var connection = await WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), WebSocketConnectOptions.Default, cts.Token);

        var frame = await connection.ReceiveAsync(cts.Token);

        Assert.Equal("abc", Encoding.ASCII.GetString(frame.Payload.Span));
    }

    [Fact]
    public async Task ReceiveAsync_UnknownOpcode_ThrowsProtocolException()
    {
        using var cts = TestTimeout.Start();
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            await peer.WriteAsync(Hex.Parse("83 00"), token);
            await peer.ReadToEndAsync(token);
        });
        await using var connection = await WebSocketConnection.ConnectAsync(WebReplTarget.Parse(board.Target), WebSocketConnectOptions.Default, cts.Token);

        await Assert.ThrowsAsync<WebReplProtocolException>(async () => await connection.ReceiveAsync(cts.Token));
    }
}
