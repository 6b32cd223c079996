using System.Security.Cryptography;
using System.Text;
using WebRepl.Gateway.Tests.Support;
using WebRepl.Protocol;
using WebRepl.Transport;

namespace WebRepl.Gateway.Tests;

/// <summary>
/// How the gateway relays at speed without changing what the board sees: GET read-ahead (the next chunk is
/// asked for on the client's behalf, the client's own request byte is not sent twice) and bursts of frames
/// written to the board together (each frame still whole, in order).
/// </summary>
public sealed class RelayTests
{
    [Fact]
    public async Task GetReadAhead_BoardAskedBeforeClient_ClientsRequestsNotRepeated_NextRequestIntact()
    {
        using var cts = TestTimeout.Start();
        await using var peer = new ScriptedPeer();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        var firstAsked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondAsked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var clientCaughtUp = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var boardSaw = new List<byte[]>();

        var boardTask = Task.Run(async () =>
        {
            await using var board = await peer.AcceptAsync(cts.Token);
            await board.SendAsync("Password: "u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
            await ReadTextUntilAsync(board, "\r", cts.Token);
            await board.SendAsync("\r\nWebREPL connected\r\n>>> "u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);

            boardSaw.Add(await ReadBinaryAsync(board, WebReplRequest.Length, cts.Token)); // the GET record
            await board.SendAsync("WB\0\0"u8.ToArray(), WebSocketFrameType.Binary, true, cts.Token);
            boardSaw.Add(await ReadBinaryAsync(board, 1, cts.Token));
            firstAsked.SetResult();
            await clientCaughtUp.Task.WaitAsync(cts.Token);
            await board.SendAsync(new byte[] { 3, 0, (byte)'a', (byte)'b', (byte)'c' }, WebSocketFrameType.Binary, true, cts.Token);
            boardSaw.Add(await ReadBinaryAsync(board, 1, cts.Token));
            secondAsked.SetResult();
            await board.SendAsync(new byte[] { 0, 0 }, WebSocketFrameType.Binary, true, cts.Token);
            await board.SendAsync("WB\0\0"u8.ToArray(), WebSocketFrameType.Binary, true, cts.Token);

            boardSaw.Add(await ReadBinaryAsync(board, WebReplRequest.Length, cts.Token)); // the next request
            await board.SendAsync(new byte[] { 1, 27, 0 }, WebSocketFrameType.Binary, true, cts.Token);
            await board.ReceiveAsync(cts.Token); // the close
        }, cts.Token);

        await using var client = await RawClient.LoginAsync(gateway.Forward(peer.Url), cts.Token);
        await client.SendAsync(new WebReplRequest(WebReplOperation.GetFile, 0, "f.txt").ToArray(), WebSocketFrameType.Binary, true, cts.Token);
        Assert.Equal("WB\0\0"u8.ToArray(), await ReadBinaryAsync(client, 4, cts.Token));

        // The board was asked for the first chunk before this client asked: the gateway did it on the status.
        await firstAsked.Task.WaitAsync(cts.Token);
        await client.SendAsync(new byte[] { 0 }, WebSocketFrameType.Binary, true, cts.Token);
        // The gateway runs one chunk ahead at most: the board answers once the client's byte has reached the gateway.
        await Task.Delay(200, cts.Token);
        clientCaughtUp.SetResult();
        Assert.Equal(new byte[] { 3, 0, (byte)'a', (byte)'b', (byte)'c' }, await ReadBinaryAsync(client, 5, cts.Token));
        await secondAsked.Task.WaitAsync(cts.Token);
        await client.SendAsync(new byte[] { 0 }, WebSocketFrameType.Binary, true, cts.Token);
        Assert.Equal(new byte[] { 0, 0 }, await ReadBinaryAsync(client, 2, cts.Token));
        Assert.Equal("WB\0\0"u8.ToArray(), await ReadBinaryAsync(client, 4, cts.Token));

        // The next request reaches the board whole: the client's two request bytes were not sent again.
        await client.SendAsync(new WebReplRequest(WebReplOperation.GetVersion, 0, string.Empty).ToArray(), WebSocketFrameType.Binary, true, cts.Token);
        Assert.Equal(new byte[] { 1, 27, 0 }, await ReadBinaryAsync(client, 3, cts.Token));
        await client.CloseAsync(1000, "done", cts.Token);
        await boardTask.WaitAsync(cts.Token);

        Assert.Equal([0], boardSaw[1]);
        Assert.Equal([0], boardSaw[2]);
        Assert.True(WebReplRequest.TryRead(boardSaw[3], out var next));
        Assert.Equal(WebReplOperation.GetVersion, next.Operation);
    }

    [Fact]
    public async Task GetReadAhead_OneChunkAheadAtMost_GoesOnWhenTheClientCatchesUp()
    {
        using var cts = TestTimeout.Start();
        await using var peer = new ScriptedPeer();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        var boardTask = Task.Run(async () =>
        {
            var board = await peer.AcceptAsync(cts.Token);
            await LoginAsBoardAsync(board, cts.Token);
            await ReadBinaryAsync(board, WebReplRequest.Length, cts.Token);
            await board.SendAsync("WB\0\0"u8.ToArray(), WebSocketFrameType.Binary, true, cts.Token);
            await ReadBinaryAsync(board, 1, cts.Token); // the gateway's, for the first chunk
            await board.SendAsync(new byte[] { 1, 0, (byte)'x' }, WebSocketFrameType.Binary, true, cts.Token);
            // The client has not asked for anything yet: the gateway does not run further ahead.
            var early = board.ReceiveAsync(cts.Token).AsTask();
            bool more = await Task.WhenAny(early, Task.Delay(500, cts.Token)) == early;
            return (board, more, early);
        }, cts.Token);

        await using var client = await RawClient.LoginAsync(gateway.Forward(peer.Url), cts.Token);
        await client.SendAsync(new WebReplRequest(WebReplOperation.GetFile, 0, "f.txt").ToArray(), WebSocketFrameType.Binary, true, cts.Token);
        Assert.Equal("WB\0\0"u8.ToArray(), await ReadBinaryAsync(client, 4, cts.Token));
        Assert.Equal(new byte[] { 1, 0, (byte)'x' }, await ReadBinaryAsync(client, 3, cts.Token));
        var (board, more, early) = await boardTask.WaitAsync(cts.Token);
        await using var boardConnection = board;
        Assert.False(more);

        // Its byte for the first chunk (sent already, dropped) shows it caught up: the gateway asks for the second.
        await client.SendAsync(new byte[] { 0 }, WebSocketFrameType.Binary, true, cts.Token);
        var asked = await early.WaitAsync(cts.Token);
        Assert.Equal(WebSocketFrameType.Binary, asked.Type);
        Assert.Equal([0], asked.Payload.ToArray());
    }

    [Fact]
    public async Task GetReadAhead_ClientPausesPastStallTimeout_ItsLateRequestBytesDropped_NextRecordIntact()
    {
        using var cts = TestTimeout.Start();
        await using var peer = new ScriptedPeer();
        await using var gateway = await TestGateway.StartAsync(o => o with { TransferStallTimeout = TimeSpan.FromMilliseconds(300) }, cts.Token);
        var boardTask = Task.Run(async () =>
        {
            await using var board = await peer.AcceptAsync(cts.Token);
            await LoginAsBoardAsync(board, cts.Token);
            await ReadBinaryAsync(board, WebReplRequest.Length, cts.Token);
            await board.SendAsync("WB\0\0"u8.ToArray(), WebSocketFrameType.Binary, true, cts.Token);
            await ReadBinaryAsync(board, 1, cts.Token); // read-ahead: the whole file is one short chunk
            await board.SendAsync(new byte[] { 3, 0, (byte)'a', (byte)'b', (byte)'c' }, WebSocketFrameType.Binary, true, cts.Token);
            await ReadBinaryAsync(board, 1, cts.Token); // the client's request after the chunk
            await board.SendAsync(new byte[] { 0, 0 }, WebSocketFrameType.Binary, true, cts.Token);
            await board.SendAsync("WB\0\0"u8.ToArray(), WebSocketFrameType.Binary, true, cts.Token);
            return await ReadBinaryAsync(board, WebReplRequest.Length, cts.Token);
        }, cts.Token);

        await using var client = await RawClient.LoginAsync(gateway.Forward(peer.Url), cts.Token);
        await client.SendAsync(new WebReplRequest(WebReplOperation.GetFile, 0, "f.txt").ToArray(), WebSocketFrameType.Binary, true, cts.Token);
        Assert.Equal("WB\0\0"u8.ToArray(), await ReadBinaryAsync(client, 4, cts.Token));
        await Task.Delay(1500, cts.Token); // paused past the stall timeout (Ctrl-Z, a debugger, a slow link)
        await client.SendAsync(new byte[] { 0 }, WebSocketFrameType.Binary, true, cts.Token);
        Assert.Equal(5, (await ReadBinaryAsync(client, 5, cts.Token)).Length);
        await client.SendAsync(new byte[] { 0 }, WebSocketFrameType.Binary, true, cts.Token);
        Assert.Equal(6, (await ReadBinaryAsync(client, 6, cts.Token)).Length); // empty chunk, status
        await client.SendAsync(new WebReplRequest(WebReplOperation.GetVersion, 0, string.Empty).ToArray(), WebSocketFrameType.Binary, true, cts.Token);

        byte[] next = await boardTask.WaitAsync(cts.Token);
        Assert.True(WebReplRequest.TryRead(next, out var request), "the board read " + Convert.ToHexString(next.AsSpan(0, 8)));
        Assert.Equal(WebReplOperation.GetVersion, request.Operation);
    }

    [Fact]
    public async Task StallTimer_ReleasesAbandonedRequest_WaitingClientsRequestGoesOn()
    {
        using var cts = TestTimeout.Start();
        await using var peer = new ScriptedPeer();
        await using var gateway = await TestGateway.StartAsync(o => o with { TransferStallTimeout = TimeSpan.FromMilliseconds(300) }, cts.Token);
        var gotFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var boardTask = Task.Run(async () =>
        {
            await using var board = await peer.AcceptAsync(cts.Token);
            await LoginAsBoardAsync(board, cts.Token);
            await ReadBinaryAsync(board, WebReplRequest.Length, cts.Token); // a GET of a missing file: no reply at all
            gotFirst.SetResult();
            byte[] next = await ReadBinaryAsync(board, WebReplRequest.Length, cts.Token);
            await board.SendAsync(new byte[] { 1, 27, 0 }, WebSocketFrameType.Binary, true, cts.Token);
            return next;
        }, cts.Token);

        var a = await RawClient.LoginAsync(gateway.Forward(peer.Url), cts.Token);
        await using var b = await RawClient.LoginAsync(gateway.Forward(peer.Url), cts.Token);
        await a.SendAsync(new WebReplRequest(WebReplOperation.GetFile, 0, "missing.txt").ToArray(), WebSocketFrameType.Binary, true, cts.Token);
        await gotFirst.Task.WaitAsync(cts.Token);
        await b.SendAsync(new WebReplRequest(WebReplOperation.GetVersion, 0, string.Empty).ToArray(), WebSocketFrameType.Binary, true, cts.Token);
        await a.CloseAsync(1000, "gave up", cts.Token); // the gateway now owns the unanswered request
        await a.DisposeAsync();

        // The stall timer releases it, and the waiting client's request goes to the board.
        byte[] seen = await boardTask.WaitAsync(cts.Token);
        Assert.True(WebReplRequest.TryRead(seen, out var request));
        Assert.Equal(WebReplOperation.GetVersion, request.Operation);
        Assert.Equal(new byte[] { 1, 27, 0 }, await ReadBinaryAsync(b, 3, cts.Token));
    }

    [Fact]
    public async Task GetReadAheadOff_BoardAskedOnlyByTheClient()
    {
        using var cts = TestTimeout.Start();
        await using var peer = new ScriptedPeer();
        await using var gateway = await TestGateway.StartAsync(o => o with { GetReadAhead = false }, cts.Token);

        var boardTask = Task.Run(async () =>
        {
            await using var board = await peer.AcceptAsync(cts.Token);
            await board.SendAsync("Password: "u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
            await ReadTextUntilAsync(board, "\r", cts.Token);
            await board.SendAsync("\r\nWebREPL connected\r\n>>> "u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
            await ReadBinaryAsync(board, WebReplRequest.Length, cts.Token);
            await board.SendAsync("WB\0\0"u8.ToArray(), WebSocketFrameType.Binary, true, cts.Token);
            return await board.ReceiveAsync(cts.Token);
        }, cts.Token);

        await using var client = await RawClient.LoginAsync(gateway.Forward(peer.Url), cts.Token);
        await client.SendAsync(new WebReplRequest(WebReplOperation.GetFile, 0, "f.txt").ToArray(), WebSocketFrameType.Binary, true, cts.Token);
        await ReadBinaryAsync(client, 4, cts.Token);
        await Task.Delay(200, cts.Token);
        Assert.False(boardTask.IsCompleted); // nothing asked yet

        await client.SendAsync(new byte[] { 7 }, WebSocketFrameType.Binary, true, cts.Token);
        var asked = await boardTask.WaitAsync(cts.Token);
        Assert.Equal([7], asked.Payload.ToArray()); // the client's own byte, as it sent it
    }

    [Fact]
    public async Task BurstOfFrames_ReachesBoardWholeAndInOrder()
    {
        using var cts = TestTimeout.Start(30);
        await using var peer = new ScriptedPeer();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        var random = new Random(42);
        var sent = new List<(byte[] Payload, bool End)>();
        for (int i = 0; i < 600; i++)
        {
            byte[] payload = new byte[random.Next(0, 3000)];
            random.NextBytes(payload);
            sent.Add((payload, i % 7 != 3)); // now and then a message in two frames
        }

        var boardTask = Task.Run(async () =>
        {
            await using var board = await peer.AcceptAsync(cts.Token);
            await board.SendAsync("Password: "u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
            await ReadTextUntilAsync(board, "\r", cts.Token);
            await board.SendAsync("\r\nWebREPL connected\r\n>>> "u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
            var frames = new List<(byte[] Payload, bool End)>();
            while (frames.Count < sent.Count)
            {
                var frame = await board.ReceiveAsync(cts.Token);
                Assert.Equal(WebSocketFrameType.Text, frame.Type);
                frames.Add((frame.Payload.ToArray(), frame.EndOfMessage));
            }

            return frames;
        }, cts.Token);

        await using var client = await RawClient.LoginAsync(gateway.Forward(peer.Url), cts.Token);
        foreach (var (payload, end) in sent)
        {
            await client.SendAsync(payload, WebSocketFrameType.Text, end, cts.Token);
        }

        var received = await boardTask.WaitAsync(cts.Token);
        Assert.Equal(sent.Count, received.Count);
        for (int i = 0; i < sent.Count; i++)
        {
            Assert.True(sent[i].Payload.AsSpan().SequenceEqual(received[i].Payload), $"frame {i}");
            Assert.Equal(sent[i].End, received[i].End);
        }
    }

    [Fact]
    public async Task Put_ClientSendingSlowly_EachFrameReachesTheBoardAtOnce()
    {
        // A client whose frames come apart (a browser far away) gets no holding: the board never waits for the
        // gateway to gather more of the file.
        using var cts = TestTimeout.Start(30);
        await using var peer = new ScriptedPeer();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        var received = System.Threading.Channels.Channel.CreateUnbounded<byte[]>();
        var boardTask = Task.Run(async () =>
        {
            await using var board = await peer.AcceptAsync(cts.Token);
            await LoginAsBoardAsync(board, cts.Token);
            await ReadBinaryAsync(board, WebReplRequest.Length, cts.Token);
            await board.SendAsync("WB\0\0"u8.ToArray(), WebSocketFrameType.Binary, true, cts.Token);
            for (int total = 0; total < 3 * 1024;)
            {
                var frame = await board.ReceiveAsync(cts.Token);
                Assert.Equal(WebSocketFrameType.Binary, frame.Type);
                total += frame.Payload.Length;
                await received.Writer.WriteAsync(frame.Payload.ToArray(), cts.Token);
            }
        }, cts.Token);

        await using var client = await RawClient.LoginAsync(gateway.Forward(peer.Url), cts.Token);
        await client.SendAsync(new WebReplRequest(WebReplOperation.PutFile, 3 * 1024, "slow.bin").ToArray(), WebSocketFrameType.Binary, true, cts.Token);
        Assert.Equal("WB\0\0"u8.ToArray(), await ReadBinaryAsync(client, 4, cts.Token));
        for (int i = 0; i < 3; i++)
        {
            await Task.Delay(20, cts.Token);
            byte[] chunk = Enumerable.Repeat((byte)(0x41 + i), 1024).ToArray();
            await client.SendAsync(chunk, WebSocketFrameType.Binary, true, cts.Token);
            // The board has this frame before the client sends the next one.
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
            wait.CancelAfter(TimeSpan.FromSeconds(5));
            Assert.Equal(chunk, await received.Reader.ReadAsync(wait.Token));
        }

        await boardTask.WaitAsync(cts.Token);
    }

    [Fact]
    public async Task Put_ClientStreamingFast_WholeFileInOrderAndTheStatusComesBack()
    {
        // Frames that come close together may be gathered for the board; none may be lost, reordered or held past
        // the last one (the board answers only once all has come).
        using var cts = TestTimeout.Start(30);
        await using var board = TestBoard.Start();
        await using var gateway = await TestGateway.StartAsync(cancellationToken: cts.Token);
        await using var client = await RawClient.LoginAsync(gateway.Forward(board.Url), cts.Token);
        foreach (int size in new[] { 1000, 32 * 1024 - 1, 32 * 1024 + 1, 200 * 1024 + 7 })
        {
            byte[] data = RandomNumberGenerator.GetBytes(size);
            await client.SendAsync(new WebReplRequest(WebReplOperation.PutFile, (uint)size, "fast.bin").ToArray(), WebSocketFrameType.Binary, true, cts.Token);
            Assert.Equal("WB\0\0"u8.ToArray(), await ReadBinaryAsync(client, 4, cts.Token));
            for (int offset = 0; offset < size; offset += 1024)
            {
                await client.SendAsync(data.AsMemory(offset, Math.Min(1024, size - offset)), WebSocketFrameType.Binary, true, cts.Token);
            }

            Assert.Equal("WB\0\0"u8.ToArray(), await ReadBinaryAsync(client, 4, cts.Token));
            Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(board.Root, "fast.bin"), cts.Token));
        }
    }

    private static async Task<byte[]> ReadBinaryAsync(WebSocketConnection connection, int count, CancellationToken cancellationToken)
    {
        var data = new List<byte>();
        while (data.Count < count)
        {
            var frame = await connection.ReceiveAsync(cancellationToken);
            Assert.NotEqual(WebSocketFrameType.Close, frame.Type);
            if (frame.Type == WebSocketFrameType.Binary)
            {
                data.AddRange(frame.Payload.Span);
            }
        }

        Assert.Equal(count, data.Count);
        return [.. data];
    }

    private static async Task LoginAsBoardAsync(WebSocketConnection board, CancellationToken cancellationToken)
    {
        await board.SendAsync("Password: "u8.ToArray(), WebSocketFrameType.Text, true, cancellationToken);
        await ReadTextUntilAsync(board, "\r", cancellationToken);
        await board.SendAsync("\r\nWebREPL connected\r\n>>> "u8.ToArray(), WebSocketFrameType.Text, true, cancellationToken);
    }

    private static async Task ReadTextUntilAsync(WebSocketConnection connection, string end, CancellationToken cancellationToken)
    {
        var seen = new StringBuilder();
        while (!seen.ToString().Contains(end, StringComparison.Ordinal))
        {
            var frame = await connection.ReceiveAsync(cancellationToken);
            Assert.Equal(WebSocketFrameType.Text, frame.Type);
            seen.Append(Encoding.Latin1.GetString(frame.Payload.Span));
        }
    }
}
