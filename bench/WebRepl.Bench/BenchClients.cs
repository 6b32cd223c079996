using System.Buffers.Binary;
using System.Net.WebSockets;
using System.Text;

namespace WebRepl.Bench;

/// <summary>What every measured client does: one keystroke round trip, a PUT, a GET.</summary>
internal interface IBenchClient : IAsyncDisposable
{
    /// <summary>Sends <paramref name="key"/> as terminal input and waits until the board has echoed it.</summary>
    Task EchoAsync(byte key, CancellationToken cancellationToken);

    /// <summary>PUT_FILE of <paramref name="data"/> as <paramref name="remotePath"/>.</summary>
    Task PutAsync(ReadOnlyMemory<byte> data, string remotePath, CancellationToken cancellationToken);

    /// <summary>GET_FILE of <paramref name="remotePath"/>; returns the bytes received. <paramref name="onChunk"/> is called as each data chunk arrives.</summary>
    Task<byte[]> GetAsync(string remotePath, int expectedLength, Action? onChunk, CancellationToken cancellationToken);
}

/// <summary>The library's <see cref="WebReplClient"/>.</summary>
internal sealed class LibraryBenchClient : IBenchClient
{
    private readonly WebReplClient _client;
    private readonly byte[] _key = new byte[1];

    private LibraryBenchClient(WebReplClient client) => _client = client;

    public static async Task<IBenchClient> ConnectAsync(string target, string password, bool immediateAck, CancellationToken cancellationToken)
    {
        var client = await WebReplClient.ConnectAndLoginAsync(target, password, new WebReplClientOptions { ImmediateAck = immediateAck }, cancellationToken);
        try
        {
            // The prompt that follows "WebREPL connected".
            await ExpectAsync(client, ">>> "u8.ToArray(), cancellationToken);
            return new LibraryBenchClient(client);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    public async Task EchoAsync(byte key, CancellationToken cancellationToken)
    {
        _key[0] = key;
        await _client.SendInputAsync(_key, cancellationToken);
        await ExpectAsync(_client, _key, cancellationToken);
    }

    public Task PutAsync(ReadOnlyMemory<byte> data, string remotePath, CancellationToken cancellationToken) =>
        _client.PutFileAsync(new ReadOnlyMemoryStream(data), remotePath, cancellationToken: cancellationToken);

    public async Task<byte[]> GetAsync(string remotePath, int expectedLength, Action? onChunk, CancellationToken cancellationToken)
    {
        var destination = new MemoryStream(expectedLength);
        await _client.GetFileAsync(remotePath, destination, onChunk is null ? null : new SyncProgress(onChunk), cancellationToken);
        return destination.ToArray();
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();

    /// <summary>Reads terminal output until exactly <paramref name="expected"/> has arrived (anything else is an error).</summary>
    private static async Task ExpectAsync(WebReplClient client, byte[] expected, CancellationToken cancellationToken)
    {
        int matched = 0;
        while (matched < expected.Length)
        {
            var chunk = await client.Output.ReadAsync(cancellationToken);
            if (chunk.Length > expected.Length - matched || !chunk.Span.SequenceEqual(expected.AsSpan(matched, chunk.Length)))
            {
                throw new InvalidOperationException(
                    $"Expected '{Encoding.ASCII.GetString(expected)}' from the board, got '{Encoding.ASCII.GetString(chunk.Span)}'.");
            }

            matched += chunk.Length;
        }
    }
}

/// <summary>
/// What "the naive way" gets: .NET's <see cref="ClientWebSocket"/> speaking the WebREPL protocol directly,
/// with the platform's TCP defaults (delayed ACKs). Good enough for ASCII echo and file transfer; it would
/// abort on a text frame with invalid UTF-8 (docs/protocol.md, "Transport").
/// </summary>
internal sealed class NaiveBenchClient : IBenchClient
{
    private const int PutChunk = 1024;
    private readonly ClientWebSocket _socket;
    private readonly byte[] _receive = new byte[64 * 1024];
    private readonly byte[] _key = new byte[1];
    private readonly byte[] _more = [0];
    private int _binaryStart;
    private int _binaryEnd;

    private NaiveBenchClient(ClientWebSocket socket) => _socket = socket;

    public static async Task<IBenchClient> ConnectAsync(string host, int port, string password, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero; // boards never answer pings
        var client = new NaiveBenchClient(socket);
        try
        {
            await socket.ConnectAsync(new Uri($"ws://{host}:{port}/"), cancellationToken);
            await client.ReadTextUntilAsync("Password: ", cancellationToken);
            await socket.SendAsync(Encoding.ASCII.GetBytes(password + "\r"), WebSocketMessageType.Text, true, cancellationToken);
            await client.ReadTextUntilAsync("WebREPL connected\r\n>>> ", cancellationToken);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    public async Task EchoAsync(byte key, CancellationToken cancellationToken)
    {
        _key[0] = key;
        await _socket.SendAsync(_key, WebSocketMessageType.Text, true, cancellationToken);
        var result = await _socket.ReceiveAsync(_receive.AsMemory(), cancellationToken);
        if (result.MessageType != WebSocketMessageType.Text || result.Count != 1 || _receive[0] != key)
        {
            throw new InvalidOperationException($"Expected the echo of one key, got {result.MessageType} of {result.Count} bytes.");
        }
    }

    public async Task PutAsync(ReadOnlyMemory<byte> data, string remotePath, CancellationToken cancellationToken)
    {
        await _socket.SendAsync(Request(1, (uint)data.Length, remotePath), WebSocketMessageType.Binary, true, cancellationToken);
        await ExpectStatusAsync(cancellationToken);
        for (int sent = 0; sent < data.Length; sent += PutChunk)
        {
            await _socket.SendAsync(data[sent..Math.Min(data.Length, sent + PutChunk)], WebSocketMessageType.Binary, true, cancellationToken);
        }

        await ExpectStatusAsync(cancellationToken);
    }

    public async Task<byte[]> GetAsync(string remotePath, int expectedLength, Action? onChunk, CancellationToken cancellationToken)
    {
        await _socket.SendAsync(Request(2, 0, remotePath), WebSocketMessageType.Binary, true, cancellationToken);
        await ExpectStatusAsync(cancellationToken);
        var destination = new MemoryStream(expectedLength);
        byte[] header = new byte[2];
        byte[] chunk = new byte[256];
        while (true)
        {
            await _socket.SendAsync(_more, WebSocketMessageType.Binary, true, cancellationToken);
            await ReadBinaryAsync(header, cancellationToken);
            int length = BinaryPrimitives.ReadUInt16LittleEndian(header);
            if (length == 0)
            {
                break;
            }

            if (length > chunk.Length)
            {
                chunk = new byte[length];
            }

            await ReadBinaryAsync(chunk.AsMemory(0, length), cancellationToken);
            await destination.WriteAsync(chunk.AsMemory(0, length), cancellationToken);
            onChunk?.Invoke();
        }

        await ExpectStatusAsync(cancellationToken);
        return destination.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            try
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", quick.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                // The board may have gone already; the socket is disposed below anyway.
            }
        }

        _socket.Dispose();
    }

    private static byte[] Request(byte op, uint size, string name)
    {
        byte[] record = new byte[82];
        record[0] = (byte)'W';
        record[1] = (byte)'A';
        record[2] = op;
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(12), size);
        int nameLength = Encoding.UTF8.GetBytes(name, record.AsSpan(18, 63));
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(16), (ushort)nameLength);
        return record;
    }

    private async Task ExpectStatusAsync(CancellationToken cancellationToken)
    {
        byte[] status = new byte[4];
        await ReadBinaryAsync(status, cancellationToken);
        if (status[0] != 'W' || status[1] != 'B' || status[2] != 0 || status[3] != 0)
        {
            throw new InvalidOperationException($"Unexpected status reply {Convert.ToHexString(status)}.");
        }
    }

    /// <summary>Reads exactly <paramref name="destination"/>'s length from binary frames, as one byte stream.</summary>
    private async Task ReadBinaryAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        while (!destination.IsEmpty)
        {
            if (_binaryStart == _binaryEnd)
            {
                var result = await _socket.ReceiveAsync(_receive.AsMemory(), cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    throw new InvalidOperationException("The board closed the connection.");
                }

                if (result.MessageType == WebSocketMessageType.Text)
                {
                    continue; // console output during a transfer: not ours
                }

                _binaryStart = 0;
                _binaryEnd = result.Count;
                continue;
            }

            int n = Math.Min(destination.Length, _binaryEnd - _binaryStart);
            _receive.AsMemory(_binaryStart, n).CopyTo(destination);
            _binaryStart += n;
            destination = destination[n..];
        }
    }

    private async Task ReadTextUntilAsync(string marker, CancellationToken cancellationToken)
    {
        var seen = new StringBuilder();
        while (!seen.ToString().EndsWith(marker, StringComparison.Ordinal))
        {
            var result = await _socket.ReceiveAsync(_receive.AsMemory(), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException($"The board closed the connection before '{marker.Trim()}'.");
            }

            seen.Append(Encoding.ASCII.GetString(_receive, 0, result.Count));
        }
    }
}

/// <summary>A progress sink called synchronously, on the reporting thread (<see cref="Progress{T}"/> would post).</summary>
internal sealed class SyncProgress(Action onReport) : IProgress<long>
{
    public void Report(long value) => onReport();
}

/// <summary>A read-only, seekable stream over memory (a PUT source that costs no copy).</summary>
internal sealed class ReadOnlyMemoryStream(ReadOnlyMemory<byte> data) : Stream
{
    private int _position;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => data.Length;

    public override long Position
    {
        get => _position;
        set => _position = (int)Math.Clamp(value, 0, data.Length);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = Math.Min(buffer.Length, data.Length - _position);
        data.Span.Slice(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => data.Length + offset,
        };
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
