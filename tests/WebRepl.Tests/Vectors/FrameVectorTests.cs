using System.Text.Json;
using WebRepl.Tests.Support;
using WebRepl.Transport;

namespace WebRepl.Tests.Vectors;

/// <summary>
/// Frames against <c>tests/vectors/frames.json</c> (extmod/modwebsocket.c): the headers a board writes (our board
/// end writes the same, and our client reads them), what a board reads, and the lengths our client uses.
/// </summary>
public sealed class FrameVectorTests
{
    private static readonly JsonElement Vectors = VectorFile.Load("frames.json");

    public static TheoryData<string> BoardWrites => VectorFile.Items("frames.json", "boardWrites");

    public static TheoryData<string> BoardReads => VectorFile.Items("frames.json", "boardReads");

    public static TheoryData<string> ClientLengths => VectorFile.Items("frames.json", "clientLengths");

    [Theory]
    [MemberData(nameof(BoardWrites))]
    public async Task SendAsync_BoardEnd_WritesTheFirmwaresHeader(string json)
    {
        using var cts = TestTimeout.Start();
        var vector = VectorFile.Parse(json);
        byte[] payload = Payload(vector.GetProperty("payloadLength").GetInt32());
        var type = vector.GetProperty("opcode").GetInt32() == 1 ? WebSocketFrameType.Text : WebSocketFrameType.Binary;
        var stream = new DuplexStream([]);
        await using var board = WebSocketConnection.CreateBoard(stream, null, ReadOnlyMemory<byte>.Empty, splitWrites: true);

        await board.SendAsync(payload, type, cancellationToken: cts.Token);

        byte[] header = vector.Bytes("header");
        byte[] written = stream.Written;
        Assert.Equal(Convert.ToHexStringLower(header), Convert.ToHexStringLower(written[..header.Length]));
        Assert.Equal(payload, written[header.Length..]);
    }

    [Theory]
    [MemberData(nameof(BoardWrites))]
    public async Task ReceiveAsync_Client_ReadsWhatABoardWrites(string json)
    {
        using var cts = TestTimeout.Start();
        var vector = VectorFile.Parse(json);
        byte[] payload = Payload(vector.GetProperty("payloadLength").GetInt32());
        byte[] frame = [.. vector.Bytes("header"), .. payload];
        await using var peer = new ScriptedBoard(async (raw, token) =>
        {
            await raw.AcceptWebSocketAsync(token);
            await raw.WriteAsync(frame, token);
            await raw.ReadToEndAsync(token);
        });
        await using var client = await WebSocketConnection.ConnectAsync(WebReplTarget.Parse(peer.Target), WebSocketConnectOptions.Default, cts.Token);

        var received = await client.ReceiveAsync(cts.Token);

        Assert.Equal(vector.GetProperty("opcode").GetInt32() == 1 ? WebSocketFrameType.Text : WebSocketFrameType.Binary, received.Type);
        Assert.Equal(payload, received.Payload.ToArray());
    }

    [Theory]
    [MemberData(nameof(BoardReads))]
    public async Task ReceiveAsync_BoardEnd_ReadsTheMessagesABoardReads(string json)
    {
        using var cts = TestTimeout.Start();
        var vector = VectorFile.Parse(json);
        await using var board = WebSocketConnection.CreateBoard(new DuplexStream(vector.Bytes()), null, ReadOnlyMemory<byte>.Empty, splitWrites: true);

        foreach (var message in vector.GetProperty("messages").EnumerateArray())
        {
            var expectedType = message[0].GetString() == "text" ? WebSocketFrameType.Text : WebSocketFrameType.Binary;
            var bytes = new List<byte>();
            WebSocketFrame frame;
            do
            {
                frame = await board.ReceiveAsync(cts.Token);
                Assert.Equal(expectedType, frame.Type);
                bytes.AddRange(frame.Payload.Span);
            }
            while (!frame.EndOfMessage);

            Assert.Equal(Convert.FromHexString(message[1].GetString()!), bytes);
        }
    }

    [Fact]
    public async Task ReceiveAsync_BoardEnd_64BitLength_EndsTheConnectionAsABoardDoes()
    {
        using var cts = TestTimeout.Start();
        var vector = Vectors.GetProperty("boardRejects")[0];
        await using var board = WebSocketConnection.CreateBoard(new DuplexStream(vector.Bytes()), null, ReadOnlyMemory<byte>.Empty, splitWrites: true);

        await Assert.ThrowsAsync<WebReplProtocolException>(async () => await board.ReceiveAsync(cts.Token));
    }

    [Theory]
    [MemberData(nameof(ClientLengths))]
    public async Task SendAsync_Client_UsesTheSmallestLengthAndMasks(string json)
    {
        using var cts = TestTimeout.Start();
        var vector = VectorFile.Parse(json);
        int length = vector.GetProperty("payloadLength").GetInt32();
        var received = new TaskCompletionSource<RawFrame>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var peer = new ScriptedBoard(async (raw, token) =>
        {
            await raw.AcceptWebSocketAsync(token);
            received.TrySetResult(await raw.ReadFrameAsync(token));
            await raw.ReadToEndAsync(token);
        });
        await using var client = await WebSocketConnection.ConnectAsync(WebReplTarget.Parse(peer.Target), WebSocketConnectOptions.Default, cts.Token);

        await client.SendAsync(Payload(length), WebSocketFrameType.Binary, cancellationToken: cts.Token);

        var frame = await received.Task.WaitAsync(cts.Token);
        Assert.True(frame.Masked);
        Assert.Equal(vector.GetProperty("lengthBits").GetInt32(), frame.LengthBits);
        // A board reads 7- and 16-bit lengths only: the library's puts stay within them (PutChunkSize is at most 65535).
        Assert.Equal(vector.GetProperty("boardReads").GetBoolean(), frame.LengthBits <= 16);
    }

    private static byte[] Payload(int length) => [.. Enumerable.Range(0, length).Select(i => (byte)(i % 251))];

    /// <summary>A stream that reads given bytes (then ends) and keeps what is written.</summary>
    private sealed class DuplexStream(byte[] input) : Stream
    {
        private readonly MemoryStream _in = new(input);
        private readonly MemoryStream _out = new();

        public byte[] Written => _out.ToArray();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => _in.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(_in.Read(buffer.Span));

        public override void Write(byte[] buffer, int offset, int count) => _out.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _out.Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
