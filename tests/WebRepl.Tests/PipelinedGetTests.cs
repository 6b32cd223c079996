using WebRepl.Device;
using WebRepl.Protocol;
using WebRepl.Tests.Support;

namespace WebRepl.Tests;

/// <summary>
/// GET with several chunk requests in flight (docs/protocol.md, "GET pipelining"), against <see cref="WebReplServer"/>
/// reading requests as the firmware does: byte by byte, one chunk per byte, op at byte 2, no signature check.
/// </summary>
public sealed class PipelinedGetTests
{
    private static readonly byte[] GetVersionRecord = new WebReplRequest(WebReplOperation.GetVersion, 0, string.Empty).ToArray();

    // ---- The board's side, driven with exact bytes ----

    [Fact]
    public async Task Server_RecordAndEveryZeroInOneFrame_AnswersEachZeroThenStatus()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        byte[] data = RandomBytes(1000, 1);
        await File.WriteAllBytesAsync(Path.Combine(server.Root, "f.bin"), data, cts.Token);
        await using var peer = await LoginRawAsync(server, cts.Token);

        // 1000 bytes: four data chunks and the empty one, so five zero bytes.
        await peer.SendBinaryAsync(new WebReplRequest(WebReplOperation.GetFile, 0, "f.bin").ToArray().Concat(new byte[5]).ToArray(), cts.Token);

        Assert.Equal(Hex.Parse("57420000"), (await peer.ReadFrameAsync(cts.Token)).Payload);
        var received = new List<byte>();
        for (int i = 0; i < 4; i++)
        {
            var chunk = (await peer.ReadFrameAsync(cts.Token)).Payload;
            Assert.Equal(chunk.Length - 2, WebReplChunk.ReadHeader(chunk));
            received.AddRange(chunk[2..]);
        }

        Assert.Equal(Hex.Parse("0000"), (await peer.ReadFrameAsync(cts.Token)).Payload);
        Assert.Equal(Hex.Parse("57420000"), (await peer.ReadFrameAsync(cts.Token)).Payload);
        Assert.Equal(data, received.ToArray());
        await peer.SendBinaryAsync(GetVersionRecord, cts.Token);
        Assert.Equal(Hex.Parse("011801"), (await peer.ReadFrameAsync(cts.Token)).Payload);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Server_SurplusZerosCompletedAsGetVersion_AnswersVersionAndGoesOn(int surplus)
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await File.WriteAllBytesAsync(Path.Combine(server.Root, "f.bin"), RandomBytes(10, 2), cts.Token);
        await using var peer = await LoginRawAsync(server, cts.Token);

        await peer.SendBinaryAsync(new WebReplRequest(WebReplOperation.GetFile, 0, "f.bin").ToArray().Concat(new byte[2 + surplus]).ToArray(), cts.Token);
        await peer.SendBinaryAsync(GetVersionRecord.AsMemory(surplus), cts.Token);

        Assert.Equal(Hex.Parse("57420000"), (await peer.ReadFrameAsync(cts.Token)).Payload);
        Assert.Equal(12, (await peer.ReadFrameAsync(cts.Token)).Payload.Length);
        Assert.Equal(Hex.Parse("0000"), (await peer.ReadFrameAsync(cts.Token)).Payload);
        Assert.Equal(Hex.Parse("57420000"), (await peer.ReadFrameAsync(cts.Token)).Payload);
        Assert.Equal(Hex.Parse("011801"), (await peer.ReadFrameAsync(cts.Token)).Payload);
        await peer.SendBinaryAsync(GetVersionRecord, cts.Token);
        Assert.Equal(Hex.Parse("011801"), (await peer.ReadFrameAsync(cts.Token)).Payload);
    }

    // ---- The client ----

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(4096)]
    [InlineData(1_048_576)]
    public async Task GetFileAsync_KnownSize_ByteExactAndSessionGoesOn(int size)
    {
        using var cts = TestTimeout.Start(30);
        await using var server = LoopbackServer.Start();
        byte[] data = RandomBytes(size, size);
        await File.WriteAllBytesAsync(Path.Combine(server.Root, "f.bin"), data, cts.Token);
        await using var client = await server.ConnectAndLoginAsync(cts.Token);

        var back = new MemoryStream();
        long length = await client.GetFileAsync("f.bin", back, null, new WebReplGetOptions { ExpectedSize = size }, cts.Token);

        Assert.Equal(size, length);
        Assert.Equal(data, back.ToArray());
        Assert.Equal(new WebReplVersion(1, 24, 1), await client.GetVersionAsync(cts.Token));
        var again = new MemoryStream();
        await client.GetFileAsync("f.bin", again, null, new WebReplGetOptions { ExpectedSize = size }, cts.Token);
        Assert.Equal(data, again.ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(100_000)]
    public async Task GetFileAsync_UnknownSize_ByteExactAndSessionGoesOn(int size)
    {
        using var cts = TestTimeout.Start(30);
        await using var server = LoopbackServer.Start();
        byte[] data = RandomBytes(size, size + 7);
        await File.WriteAllBytesAsync(Path.Combine(server.Root, "f.bin"), data, cts.Token);
        await using var client = await server.ConnectAndLoginAsync(cts.Token);

        var back = new MemoryStream();
        await client.GetFileAsync("f.bin", back, cancellationToken: cts.Token);

        Assert.Equal(data, back.ToArray());
        Assert.Equal(new WebReplVersion(1, 24, 1), await client.GetVersionAsync(cts.Token));
        await client.PutFileAsync(new MemoryStream("after"u8.ToArray()), "after.txt", cancellationToken: cts.Token);
        Assert.Equal("after", await File.ReadAllTextAsync(Path.Combine(server.Root, "after.txt"), cts.Token));
    }

    [Theory]
    [InlineData(300)]
    [InlineData(100_000)]
    public async Task GetFileAsync_SessionEndsAfter_ByteExactThenTransfersRefusedTerminalWorksNextSessionClean(int size)
    {
        using var cts = TestTimeout.Start(30);
        await using var server = LoopbackServer.Start();
        byte[] data = RandomBytes(size, 3);
        await File.WriteAllBytesAsync(Path.Combine(server.Root, "f.bin"), data, cts.Token);
        await using var client = await server.ConnectAndLoginAsync(cts.Token);

        var back = new MemoryStream();
        await client.GetFileAsync("f.bin", back, null, new WebReplGetOptions { SessionEndsAfter = true }, cts.Token);

        Assert.Equal(data, back.ToArray());
        // Dozens of requests were still in flight at the end: the board holds them as a partial record.
        var refused = await Assert.ThrowsAsync<WebReplConnectionException>(() => client.GetVersionAsync(cts.Token));
        Assert.Contains("Connect again", refused.Message, StringComparison.Ordinal);
        await client.SendInputAsync("typed", cts.Token);
        Assert.Contains("typed", await ReadOutputUntilAsync(client, "typed", cts.Token), StringComparison.Ordinal);

        await client.DisposeAsync();
        await using var next = await server.ConnectAndLoginAsync(cts.Token);
        Assert.Equal(new WebReplVersion(1, 24, 1), await next.GetVersionAsync(cts.Token));
    }

    [Fact]
    public async Task GetFileAsync_KnownSizeAgainstEsp8266Timing_ByteExact()
    {
        using var cts = TestTimeout.Start(30);
        await using var server = LoopbackServer.Start(configure: o => o with { TransferChunkDelay = TimeSpan.FromMilliseconds(20) });
        byte[] data = RandomBytes(10 * 256 + 5, 4);
        await File.WriteAllBytesAsync(Path.Combine(server.Root, "f.bin"), data, cts.Token);
        await using var client = await server.ConnectAndLoginAsync(cts.Token);

        var back = new MemoryStream();
        await client.GetFileAsync("f.bin", back, null, new WebReplGetOptions { ExpectedSize = data.Length }, cts.Token);

        Assert.Equal(data, back.ToArray());
        Assert.Equal(new WebReplVersion(1, 24, 1), await client.GetVersionAsync(cts.Token));
    }

    [Fact]
    public async Task GetFileAsync_FileGrowsDuringGet_FileChangedNoLocalFileConnectionClosed()
    {
        using var cts = TestTimeout.Start(30);
        byte[] data = RandomBytes(40 * 256, 5);
        await using var server = LoopbackServer.Start(files: root => new ChangingFileStore(root, 8192, path => AppendBytes(path, RandomBytes(5000, 6))));
        await File.WriteAllBytesAsync(Path.Combine(server.Root, "f.bin"), data, cts.Token);
        string folder = Directory.CreateTempSubdirectory("webrepl-get-").FullName;
        string local = Path.Combine(folder, "f.bin");
        await using var client = await server.ConnectAndLoginAsync(cts.Token);

        var ex = await Assert.ThrowsAsync<WebReplFileChangedException>(() =>
            client.GetFileAsync("f.bin", local, null, new WebReplGetOptions { ExpectedSize = data.Length }, cts.Token));

        Assert.Contains("the file changed on the board", ex.Message, StringComparison.Ordinal);
        Assert.False(ex.ConnectionKept);
        Assert.Empty(Directory.GetFiles(folder));
        await client.Completion.WaitAsync(cts.Token);
        await using var next = await server.ConnectAndLoginAsync(cts.Token);
        Assert.Equal(new WebReplVersion(1, 24, 1), await next.GetVersionAsync(cts.Token));
        Directory.Delete(folder, true);
    }

    [Fact]
    public async Task GetFileAsync_BoardFileNeverEnds_StopsAtTheListedSize()
    {
        using var cts = TestTimeout.Start(30);
        await using var server = LoopbackServer.Start(files: root => new EndlessFileStore());
        var sink = new MemoryStream();
        await using var client = await server.ConnectAndLoginAsync(cts.Token);

        var ex = await Assert.ThrowsAsync<WebReplFileChangedException>(() =>
            client.GetFileAsync("endless", sink, null, new WebReplGetOptions { ExpectedSize = 10_000 }, cts.Token));

        Assert.Contains("grew beyond the 10000 bytes listed", ex.Message, StringComparison.Ordinal);
        Assert.InRange(sink.Length, 0, 10_000);
    }

    [Theory]
    [InlineData(38, true)] // two chunks fewer: two surplus requests, completed as GET_VER
    [InlineData(39, true)]
    [InlineData(36, false)] // four fewer: the board holds the start of a record with op 0, so the connection is closed
    public async Task GetFileAsync_FileShrinksDuringGet_FileChangedAndSessionRecoveredOrClosed(int chunksLeft, bool kept)
    {
        using var cts = TestTimeout.Start(30);
        byte[] data = RandomBytes(40 * 256, 7);
        await using var server = LoopbackServer.Start(files: root => new ChangingFileStore(root, 8192, path => TruncateFile(path, chunksLeft * 256)));
        await File.WriteAllBytesAsync(Path.Combine(server.Root, "f.bin"), data, cts.Token);
        await using var client = await server.ConnectAndLoginAsync(cts.Token);

        var sink = new MemoryStream();
        var ex = await Assert.ThrowsAsync<WebReplFileChangedException>(() =>
            client.GetFileAsync("f.bin", sink, null, new WebReplGetOptions { ExpectedSize = data.Length }, cts.Token));

        Assert.Equal(kept, ex.ConnectionKept);
        Assert.Contains("the file changed on the board", ex.Message, StringComparison.Ordinal);
        if (kept)
        {
            Assert.Equal(new WebReplVersion(1, 24, 1), await client.GetVersionAsync(cts.Token));
            await client.PutFileAsync(new MemoryStream("ok"u8.ToArray()), "ok.txt", cancellationToken: cts.Token);
            Assert.Equal("ok", await File.ReadAllTextAsync(Path.Combine(server.Root, "ok.txt"), cts.Token));
        }
        else
        {
            await client.Completion.WaitAsync(cts.Token);
            await using var next = await server.ConnectAndLoginAsync(cts.Token);
            Assert.Equal(new WebReplVersion(1, 24, 1), await next.GetVersionAsync(cts.Token));
        }
    }

    // ---- The window's arithmetic ----

    [Theory]
    [InlineData(0L, 1)]
    [InlineData(1L, 2)]
    [InlineData(256L, 2)]
    [InlineData(257L, 3)]
    [InlineData(1_048_576L, 4097)]
    public void Window_KnownSize_NeverMoreThanChunksPlusOne(long size, int total)
    {
        var window = new GetRequestWindow(size, 100_000, sessionEndsAfter: false);
        long remaining = size;
        while (!window.Ended)
        {
            int due = window.Due();
            window.OnSent(due);
            Assert.True(window.InFlight > 0);
            int length = (int)Math.Min(256, remaining);
            remaining -= length;
            window.OnChunk(length);
        }

        Assert.Equal(total, window.Sent);
        Assert.Equal(0, window.Surplus);
    }

    [Theory]
    [InlineData(false, 3)]
    [InlineData(true, 82)]
    public void Window_UnknownSize_NeverMoreInFlightThanTheBound(bool endsAfter, int bound)
    {
        var window = new GetRequestWindow(null, 2048, endsAfter);
        for (int i = 0; i < 1000; i++)
        {
            window.OnSent(window.Due());
            Assert.InRange(window.InFlight, 1, bound);
            window.OnChunk(256);
        }

        window.OnSent(window.Due());
        window.OnChunk(0);
        Assert.InRange(window.Surplus, 0, bound - 1);
    }

    private static byte[] RandomBytes(int size, int seed)
    {
        byte[] data = new byte[size];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static void AppendBytes(string path, byte[] bytes)
    {
        using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        file.Write(bytes);
    }

    private static void TruncateFile(string path, long length)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        file.SetLength(length);
    }

    private static async Task<string> ReadOutputUntilAsync(WebReplClient client, string marker, CancellationToken cancellationToken)
    {
        string seen = string.Empty;
        while (!seen.Contains(marker, StringComparison.Ordinal))
        {
            seen += System.Text.Encoding.UTF8.GetString((await client.Output.ReadAsync(cancellationToken)).Span);
        }

        return seen;
    }

    private static async Task<RawPeer> LoginRawAsync(LoopbackServer server, CancellationToken cancellationToken)
    {
        var peer = await RawPeer.ConnectWebSocketAsync(server.EndPoint, cancellationToken);
        await peer.LoginAsync(LoopbackServer.Password, cancellationToken);
        return peer;
    }

    /// <summary>A board file that never ends, as a hostile board or a device file would send.</summary>
    private sealed class EndlessFileStore : IWebReplFileStore
    {
        public ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken) => ValueTask.FromResult<Stream>(new EndlessStream());

        public ValueTask<IWebReplFileUpload> CreateAsync(string path, CancellationToken cancellationToken) => throw new IOException("read-only");

        private sealed class EndlessStream : Stream
        {
            public override bool CanRead => true;

            public override bool CanSeek => false;

            public override bool CanWrite => false;

            public override long Length => throw new NotSupportedException();

            public override long Position { get => 0; set => throw new NotSupportedException(); }

            public override int Read(byte[] buffer, int offset, int count)
            {
                buffer.AsSpan(offset, count).Fill((byte)'x');
                return count;
            }

            public override void Flush()
            {
            }

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();

            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        }
    }
}
