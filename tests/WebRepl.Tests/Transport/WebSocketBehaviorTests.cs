using WebRepl.Tests.Support;
using WebRepl.Transport;

namespace WebRepl.Tests.Transport;

/// <summary>
/// How each end frames, as its <see cref="WebSocketBehavior"/> says: the writes a connection makes on its stream,
/// and what it accepts. A board's must be the firmware's (docs/protocol.md, "Transport").
/// </summary>
public sealed class WebSocketBehaviorTests
{
    [Fact]
    public async Task Board_SplitWrites_HeaderAndPayloadAreTwoWrites_AsTheFirmware()
    {
        using var cts = TestTimeout.Start();
        var stream = new RecordingStream();
        await using var board = new WebSocketConnection(stream, null, WebSocketBehavior.Board with { SplitWrites = true }, default);

        await board.SendAsync("hello"u8.ToArray(), WebSocketFrameType.Text, cancellationToken: cts.Token);

        Assert.Equal(new[] { Hex.Parse("8105"), "hello"u8.ToArray() }, stream.Writes);
    }

    [Fact]
    public async Task Board_PayloadOver64KiB_GoesAsWholeFramesWith16BitLengths()
    {
        using var cts = TestTimeout.Start();
        var stream = new RecordingStream();
        await using var board = new WebSocketConnection(stream, null, WebSocketBehavior.Board, default);
        byte[] payload = new byte[70_000];
        new Random(1).NextBytes(payload);

        await board.SendAsync(payload, WebSocketFrameType.Binary, cancellationToken: cts.Token);

        var frames = Frames(stream.Written);
        Assert.Equal(new[] { 65535L, 70_000L - 65535 }, frames.Select(f => f.Header.PayloadLength));
        Assert.All(frames, f => Assert.Equal((true, WebSocketFrameCodec.Binary, false, 4), (f.Header.Fin, f.Header.Opcode, f.Header.Masked, f.Header.HeaderLength)));
        Assert.Equal(payload, frames.SelectMany(f => f.Payload).ToArray());
    }

    [Fact]
    public async Task Client_MasksEachFrame_OneWrite_WithAFreshKey()
    {
        using var cts = TestTimeout.Start();
        var stream = new RecordingStream();
        await using var client = new WebSocketConnection(stream, null, WebSocketBehavior.Client, default);

        await client.SendAsync("print(1)\r"u8.ToArray(), WebSocketFrameType.Text, cancellationToken: cts.Token);
        await client.SendAsync("print(1)\r"u8.ToArray(), WebSocketFrameType.Text, cancellationToken: cts.Token);

        Assert.Equal(2, stream.Writes.Count);
        var frames = Frames(stream.Written);
        Assert.All(frames, f => Assert.True(f.Header.Masked));
        Assert.All(frames, f => Assert.Equal("print(1)\r"u8.ToArray(), f.Payload));
        Assert.NotEqual(frames[0].Header.MaskKey, frames[1].Header.MaskKey);
    }

    [Fact]
    public async Task Close_BoardsIsBare_OthersCarryStatusAndReason()
    {
        using var cts = TestTimeout.Start();
        var boardStream = new RecordingStream();
        var serverStream = new RecordingStream();
        await using var board = new WebSocketConnection(boardStream, null, WebSocketBehavior.Board, default);
        await using var server = new WebSocketConnection(serverStream, null, WebSocketBehavior.Server, default);

        await board.CloseAsync(1000, "bye", cts.Token);
        await server.CloseAsync(1001, "bye", cts.Token);

        Assert.Equal(Hex.Parse("8800"), boardStream.Written);
        byte[] statusAndReason = [.. Hex.Parse("8805 03E9"), .. "bye"u8.ToArray()];
        Assert.Equal(statusAndReason, serverStream.Written);
    }

    [Fact]
    public async Task Ping_ABoardSendsNone_AServerAnswersOne_ABoardIgnoresOne()
    {
        using var cts = TestTimeout.Start();
        byte[] ping = WebSocketFrameCodec.EncodeFrame(WebSocketFrameCodec.Ping, true, "hi"u8, 0x01020304);
        byte[] text = WebSocketFrameCodec.EncodeFrame(WebSocketFrameCodec.Text, true, "x"u8, 0x01020304);
        var boardStream = new RecordingStream([.. ping, .. text]);
        var serverStream = new RecordingStream([.. ping, .. text]);
        await using var board = new WebSocketConnection(boardStream, null, WebSocketBehavior.Board, default);
        await using var server = new WebSocketConnection(serverStream, null, WebSocketBehavior.Server, default);

        await Assert.ThrowsAsync<InvalidOperationException>(() => board.PingAsync(cancellationToken: cts.Token).AsTask());
        Assert.Equal("x"u8.ToArray(), (await board.ReceiveAsync(cts.Token)).Payload.ToArray());
        Assert.Equal("x"u8.ToArray(), (await server.ReceiveAsync(cts.Token)).Payload.ToArray());

        Assert.Empty(boardStream.Written);
        Assert.Equal(Hex.Parse("8A02 6869"), serverStream.Written);
    }

    [Fact]
    public async Task LongLength_ABoardRefusesIt_AServerTakesIt()
    {
        using var cts = TestTimeout.Start();
        byte[] frame = [.. Hex.Parse("82 7F 0000000000000003"), 1, 2, 3];
        await using var board = new WebSocketConnection(new RecordingStream(frame), null, WebSocketBehavior.Board, default);
        await using var server = new WebSocketConnection(new RecordingStream(frame), null, WebSocketBehavior.Server, default);

        var refused = await Assert.ThrowsAsync<WebReplProtocolException>(() => board.ReceiveAsync(cts.Token).AsTask());
        Assert.Contains("64-bit", refused.Message, StringComparison.Ordinal);
        Assert.Equal(new byte[] { 1, 2, 3 }, (await server.ReceiveAsync(cts.Token)).Payload.ToArray());
    }

    [Theory]
    [InlineData(WebSocketRole.Client)]
    [InlineData(WebSocketRole.Board)]
    [InlineData(WebSocketRole.Server)]
    public async Task Role_IsTheBehaviorsRole(WebSocketRole role)
    {
        await using var connection = new WebSocketConnection(new RecordingStream(), null, role, default);

        Assert.Equal(role, connection.Role);
        Assert.Equal(role == WebSocketRole.Client, WebSocketBehavior.For(role).MasksFrames);
    }

    private static List<(FrameHeader Header, byte[] Payload)> Frames(byte[] written)
    {
        var frames = new List<(FrameHeader, byte[])>();
        var rest = written.AsSpan();
        while (!rest.IsEmpty)
        {
            Assert.True(WebSocketFrameCodec.TryReadHeader(rest, out var header));
            byte[] payload = rest.Slice(header.HeaderLength, (int)header.PayloadLength).ToArray();
            if (header.Masked)
            {
                WebSocketFrameCodec.ApplyMask(payload, header.MaskKey);
            }

            frames.Add((header, payload));
            rest = rest[(header.HeaderLength + (int)header.PayloadLength)..];
        }

        return frames;
    }

    /// <summary>A peer in memory: reads <c>incoming</c>, then the end of the stream; keeps each write as it was made.</summary>
    private sealed class RecordingStream(byte[]? incoming = null) : Stream
    {
        private readonly MemoryStream _incoming = new(incoming ?? []);

        public List<byte[]> Writes { get; } = [];

        public byte[] Written => [.. Writes.SelectMany(w => w)];

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

        public override int Read(byte[] buffer, int offset, int count) => _incoming.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(_incoming.Read(buffer.Span));

        public override void Write(byte[] buffer, int offset, int count) => Writes.Add(buffer.AsSpan(offset, count).ToArray());

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Writes.Add(buffer.ToArray());
            return ValueTask.CompletedTask;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
