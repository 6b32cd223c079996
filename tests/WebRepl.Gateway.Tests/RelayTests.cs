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
