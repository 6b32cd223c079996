using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace WebRepl.Tests.Support;

/// <summary>A frame as it was on the wire: the exact header bytes and the (unmasked) payload.</summary>
internal sealed record RawFrame(byte[] Header, byte Opcode, bool Fin, bool Masked, byte[] Payload)
{
    public string Text => Encoding.UTF8.GetString(Payload);

    /// <summary>The whole frame as it was sent (payload unmasked).</summary>
    public byte[] Bytes => [.. Header, .. Payload];

    /// <summary>How the length was written: 7, 16 or 64 bits.</summary>
    public int LengthBits => (Header[1] & 0x7f) switch
    {
        126 => 16,
        127 => 64,
        _ => 7,
    };
}

/// <summary>
/// One end of a WebSocket written byte by byte, independent of the library: the tests drive the server with
/// exact bytes (as a client) and script boards for the client (as a board).
/// </summary>
internal sealed class RawPeer : IAsyncDisposable
{
    /// <summary>The example key of RFC 6455, section 1.3, and its accept value.</summary>
    public const string SampleKey = "dGhlIHNhbXBsZSBub25jZQ==";
    public const string SampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly bool _isClient;
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    public RawPeer(Socket socket, bool isClient)
    {
        _socket = socket;
        _socket.NoDelay = true;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _isClient = isClient;
    }

    public Socket Socket => _socket;

    /// <summary>Opens a TCP connection only (no handshake).</summary>
    public static async Task<RawPeer> ConnectAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(endPoint, cancellationToken);
        return new RawPeer(socket, isClient: true);
    }

    /// <summary>Connects and performs the client's opening handshake, checking the 101 answer.</summary>
    public static async Task<RawPeer> ConnectWebSocketAsync(IPEndPoint endPoint, CancellationToken cancellationToken)
    {
        var peer = await ConnectAsync(endPoint, cancellationToken);
        await peer.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET / HTTP/1.1\r\nHost: {endPoint}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
            $"Sec-WebSocket-Key: {SampleKey}\r\nSec-WebSocket-Version: 13\r\n\r\n"), cancellationToken);
        string head = await peer.ReadHttpHeadAsync(cancellationToken);
        Assert.StartsWith("HTTP/1.1 101 ", head, StringComparison.Ordinal);
        Assert.Contains($"\r\nSec-WebSocket-Accept: {SampleAccept}\r\n", head + "\r\n", StringComparison.Ordinal);
        return peer;
    }

    /// <summary>The server's answer to a key, computed here as RFC 6455 defines it.</summary>
    public static string AcceptFor(string key)
    {
#pragma warning disable CA5350 // SHA-1 is what RFC 6455 specifies.
        return Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
#pragma warning restore CA5350
    }

    /// <summary>As a board: reads the client's request and answers 101. Returns the request head.</summary>
    public async Task<string> AcceptWebSocketAsync(CancellationToken cancellationToken)
    {
        string head = await ReadHttpHeadAsync(cancellationToken);
        string key = head.Split("\r\n").Single(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))["Sec-WebSocket-Key:".Length..].Trim();
        await WriteAsync(Encoding.ASCII.GetBytes(
            $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {AcceptFor(key)}\r\n\r\n"), cancellationToken);
        return head;
    }

    /// <summary>As a board: the password exchange of the firmware, accepting any password.</summary>
    public async Task<string> AcceptLoginAsync(CancellationToken cancellationToken)
    {
        await SendTextAsync("Password: ", cancellationToken);
        var password = new List<byte>();
        while (true)
        {
            var frame = await ReadFrameAsync(cancellationToken);
            foreach (byte b in frame.Payload)
            {
                if (b is (byte)'\r' or (byte)'\n')
                {
                    await SendTextAsync("\r\nWebREPL connected\r\n>>> ", cancellationToken);
                    return Encoding.UTF8.GetString([.. password]);
                }

                password.Add(b);
            }
        }
    }

    /// <summary>As a client: reads the prompt, sends the password, and reads up to the REPL prompt.</summary>
    public async Task LoginAsync(string password, CancellationToken cancellationToken)
    {
        var prompt = await ReadFrameAsync(cancellationToken);
        Assert.Equal("Password: ", prompt.Text);
        await SendTextAsync(password + "\r", cancellationToken);
        string seen = string.Empty;
        while (!seen.EndsWith(">>> ", StringComparison.Ordinal))
        {
            seen += (await ReadFrameAsync(cancellationToken)).Text;
        }

        Assert.Equal("\r\nWebREPL connected\r\n>>> ", seen);
    }

    public async Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(bytes, cancellationToken);
        await _stream.FlushAsync(cancellationToken);
    }

    public Task SendTextAsync(string text, CancellationToken cancellationToken) =>
        SendFrameAsync(0x1, Encoding.UTF8.GetBytes(text), cancellationToken);

    public Task SendBinaryAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        SendFrameAsync(0x2, payload, cancellationToken);

    /// <summary>Sends a frame; a client masks by default, a board does not. The length takes the smallest form.</summary>
    public Task SendFrameAsync(byte opcode, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken, bool fin = true, bool? mask = null) =>
        WriteAsync(BuildFrame(opcode, payload.Span, fin, mask ?? _isClient), cancellationToken);

    public static byte[] BuildFrame(byte opcode, ReadOnlySpan<byte> payload, bool fin, bool mask)
    {
        var frame = new List<byte> { (byte)((fin ? 0x80 : 0) | opcode) };
        byte maskBit = mask ? (byte)0x80 : (byte)0;
        if (payload.Length < 126)
        {
            frame.Add((byte)(maskBit | payload.Length));
        }
        else if (payload.Length <= 0xffff)
        {
            frame.Add((byte)(maskBit | 126));
            frame.Add((byte)(payload.Length >> 8));
            frame.Add((byte)payload.Length);
        }
        else
        {
            frame.Add((byte)(maskBit | 127));
            byte[] length = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(length, (ulong)payload.Length);
            frame.AddRange(length);
        }

        byte[] key = mask ? RandomNumberGenerator.GetBytes(4) : [];
        frame.AddRange(key);
        for (int i = 0; i < payload.Length; i++)
        {
            frame.Add(mask ? (byte)(payload[i] ^ key[i & 3]) : payload[i]);
        }

        return [.. frame];
    }

    /// <summary>Reads one frame; fails the test when the connection ends first.</summary>
    public async Task<RawFrame> ReadFrameAsync(CancellationToken cancellationToken)
    {
        await FillAsync(2, cancellationToken);
        byte b0 = _buffer[_start];
        byte b1 = _buffer[_start + 1];
        bool masked = (b1 & 0x80) != 0;
        int lengthCode = b1 & 0x7f;
        int headerLength = 2 + (lengthCode == 126 ? 2 : lengthCode == 127 ? 8 : 0) + (masked ? 4 : 0);
        await FillAsync(headerLength, cancellationToken);
        byte[] header = _buffer.AsSpan(_start, headerLength).ToArray();
        long length = lengthCode switch
        {
            126 => BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2)),
            127 => (long)BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(2)),
            _ => lengthCode,
        };
        _start += headerLength;
        await FillAsync((int)length, cancellationToken);
        byte[] payload = _buffer.AsSpan(_start, (int)length).ToArray();
        _start += (int)length;
        if (masked)
        {
            byte[] key = header[^4..];
            for (int i = 0; i < payload.Length; i++)
            {
                payload[i] ^= key[i & 3];
            }
        }

        return new RawFrame(header, (byte)(b0 & 0x0f), (b0 & 0x80) != 0, masked, payload);
    }

    /// <summary>
    /// Reads frames of one type as a byte stream, as a board reads its socket, until <paramref name="count"/> bytes
    /// have arrived; the bytes, exactly. What a frame holds beyond them is kept for the next call.
    /// </summary>
    public async Task<byte[]> ReadBytesAsync(int count, byte opcode, CancellationToken cancellationToken)
    {
        var bytes = new List<byte>();
        if (_leftoverOpcode == opcode)
        {
            bytes.AddRange(_leftover);
            _leftover = [];
        }

        while (bytes.Count < count)
        {
            var frame = await ReadFrameAsync(cancellationToken);
            Assert.Equal(opcode, frame.Opcode);
            bytes.AddRange(frame.Payload);
        }

        _leftover = [.. bytes.Skip(count)];
        _leftoverOpcode = opcode;
        return [.. bytes.Take(count)];
    }

    private byte[] _leftover = [];
    private byte _leftoverOpcode;

    /// <summary>Reads everything until the peer closes (FIN or reset); what arrived before, as bytes.</summary>
    public async Task<byte[]> ReadToEndAsync(CancellationToken cancellationToken)
    {
        var rest = new MemoryStream();
        rest.Write(_buffer, _start, _end - _start);
        _start = _end = 0;
        byte[] chunk = new byte[8192];
        while (true)
        {
            int read;
            try
            {
                read = await _stream.ReadAsync(chunk, cancellationToken);
            }
            catch (IOException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
            {
                read = 0;
            }

            if (read == 0)
            {
                return rest.ToArray();
            }

            rest.Write(chunk, 0, read);
        }
    }

    /// <summary>Reads an HTTP head up to the blank line; the rest stays buffered.</summary>
    public async Task<string> ReadHttpHeadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            int end = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                string head = Encoding.Latin1.GetString(_buffer, _start, end);
                _start += end + 4;
                return head;
            }

            await FillAsync(_end - _start + 1, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _socket.Dispose();
    }

    private async Task FillAsync(int count, CancellationToken cancellationToken)
    {
        if (count > _buffer.Length)
        {
            Array.Resize(ref _buffer, count);
        }

        while (_end - _start < count)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            int read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (read == 0)
            {
                throw new EndOfStreamException($"The peer closed the connection with {_end - _start} of {count} bytes read.");
            }

            _end += read;
        }
    }
}
