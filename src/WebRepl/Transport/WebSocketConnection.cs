using System.Buffers;
using System.Buffers.Binary;
using System.Net.Security;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Net.Sockets;
using System.Text;

namespace WebRepl.Transport;

/// <summary>The type of a WebSocket data frame (a continuation frame takes its message's type).</summary>
public enum WebSocketFrameType
{
    /// <summary>Text: on WebREPL, terminal bytes, not checked as UTF-8.</summary>
    Text,

    /// <summary>Binary: WebREPL file transfer.</summary>
    Binary,

    /// <summary>The peer closed the connection.</summary>
    Close,
}

/// <summary>A received frame.</summary>
/// <param name="Type">Text, binary, or close.</param>
/// <param name="Payload">The payload; owned by the caller.</param>
/// <param name="EndOfMessage">The FIN bit: false when more frames of the same message follow.</param>
/// <param name="CloseStatus">For a close frame: the status code, when the peer sent one.</param>
/// <param name="CloseReason">For a close frame: the reason, when the peer sent one.</param>
public readonly record struct WebSocketFrame(
    WebSocketFrameType Type,
    ReadOnlyMemory<byte> Payload,
    bool EndOfMessage = true,
    int? CloseStatus = null,
    string? CloseReason = null);

/// <summary>Which end of a connection this is, and so how frames are written.</summary>
public enum WebSocketRole
{
    /// <summary>A client: masks its frames and writes each frame in one write.</summary>
    Client,

    /// <summary>
    /// A board, as the firmware behaves: unmasked frames, header and payload as two writes, payloads
    /// below 64 KiB, pings ignored, a 64-bit length closes the connection.
    /// </summary>
    Board,

    /// <summary>
    /// A WebSocket server that is not a board (a gateway's side towards its clients): unmasked frames in one
    /// write, any length, pings answered, close frames with a status and a reason.
    /// </summary>
    Server,
}

/// <summary>
/// RFC 6455 framing over a stream, written for WebREPL. Unlike <c>ClientWebSocket</c>, text frames are
/// bytes: boards put unchecked bytes in them, and a connection must survive whatever a program prints.
/// Sends are serialised; receives must come from one reader at a time.
/// </summary>
public sealed class WebSocketConnection : IAsyncDisposable
{
    private const int BufferSize = 64 * 1024 + 16;
    private const int MaxBoardPayload = 65535;
    private const int MinBufferSize = 1024;
    private const int PendingCapacity = 64 * 1024;

    private readonly Stream _stream;
    private readonly Socket? _socket;
    private readonly WebSocketRole _role;
    private readonly long _maxFrameBytes;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private byte[] _receiveBuffer;
    private int _receiveStart;
    private int _receiveEnd;
    private WebSocketFrameType _messageType = WebSocketFrameType.Text;
    private bool _splitWrites;
    private bool _closeSent;
    private bool _sendContinues;
    private bool _closeReceived;
    private int _disposed;
    private byte[]? _pending;
    private int _pendingLength;

    internal WebSocketConnection(Stream stream, Socket? socket, WebSocketRole role, ReadOnlyMemory<byte> leftover, long maxFrameBytes = 16 * 1024 * 1024, int receiveBufferSize = BufferSize)
    {
        // Large payloads are read straight into their own array, so a small buffer only costs more reads.
        _receiveBuffer = new byte[Math.Max(Math.Max(receiveBufferSize, MinBufferSize), leftover.Length)];
        _stream = stream;
        _socket = socket;
        _role = role;
        _maxFrameBytes = maxFrameBytes;
        leftover.CopyTo(_receiveBuffer);
        _receiveEnd = leftover.Length;
    }

    /// <summary>The connection's role.</summary>
    public WebSocketRole Role => _role;

    /// <summary>True once a close frame was sent or received, or the connection was disposed.</summary>
    public bool IsClosed => _closeSent || _closeReceived || Volatile.Read(ref _disposed) != 0;

    /// <summary>The underlying socket, when there is one.</summary>
    internal Socket? Socket => _socket;

    /// <summary>Opens a client connection: TCP (or TLS), then the opening handshake.</summary>
    /// <exception cref="WebReplConnectionException">The board cannot be reached or refused the upgrade.</exception>
    /// <exception cref="WebReplTimeoutException">No connection within <see cref="WebSocketConnectOptions.ConnectTimeout"/>.</exception>
    public static async Task<WebSocketConnection> ConnectAsync(WebReplTarget target, WebSocketConnectOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(options);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        try
        {
            if (options.ConnectAddress is { } address)
            {
                await socket.ConnectAsync(address, target.Port, timeout.Token).ConfigureAwait(false);
            }
            else
            {
                await socket.ConnectAsync(target.Host, target.Port, timeout.Token).ConfigureAwait(false);
            }

            stream = new QuickAckStream(socket, options.ImmediateAck);
            if (target.IsSecure)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(
                    new SslClientAuthenticationOptions
                    {
                        TargetHost = target.Host,
                        RemoteCertificateValidationCallback = options.RemoteCertificateValidation,
                    },
                    timeout.Token).ConfigureAwait(false);
            }

            string key = WebSocketHandshake.CreateKey();
            byte[] request = WebSocketHandshake.BuildClientRequest(target, key, options.RequestHeaders);
            await stream.WriteAsync(request, timeout.Token).ConfigureAwait(false);
            HttpHead head = await WebSocketHandshake.ReadHeadAsync(stream, timeout.Token).ConfigureAwait(false)
                ?? throw new WebReplConnectionException($"{target} closed the connection during the WebSocket handshake. Is it a WebREPL board (or a gateway) at that address?");
            WebSocketHandshake.CheckServerResponse(head, key, target);
            return new WebSocketConnection(stream, socket, WebSocketRole.Client, head.Leftover, options.MaxFrameBytes, options.ReceiveBufferSize);
        }
        catch (Exception ex)
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            socket.Dispose();
            if (ex is WebReplException)
            {
                throw;
            }

            if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw new WebReplTimeoutException(
                    $"No connection to {target} within {options.ConnectTimeout.TotalSeconds:0.#} s. Is the board on, on this network, and running WebREPL?", ex);
            }

            if (ex is OperationCanceledException)
            {
                throw;
            }

            throw new WebReplConnectionException(DescribeConnectFailure(target, ex), ex);
        }
    }

    /// <summary>
    /// Wraps a stream on which a server has completed the opening handshake (an upgraded ASP.NET Core request,
    /// for instance) as the server's end: <see cref="WebSocketRole.Server"/>. Text frames stay bytes here too.
    /// </summary>
    /// <param name="stream">The upgraded stream; the connection owns it.</param>
    /// <param name="maxFrameBytes">The largest frame accepted; a larger one makes <see cref="ReceiveAsync"/> throw <see cref="WebReplProtocolException"/>.</param>
    /// <param name="receiveBufferSize">The receive buffer (at least 1 KiB): small buffers suit many idle connections.</param>
    public static WebSocketConnection CreateServer(Stream stream, long maxFrameBytes = 16 * 1024 * 1024, int receiveBufferSize = BufferSize)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return new WebSocketConnection(stream, null, WebSocketRole.Server, ReadOnlyMemory<byte>.Empty, maxFrameBytes, receiveBufferSize);
    }

    /// <summary>Wraps an accepted stream (after the handshake) as the board's end.</summary>
    internal static WebSocketConnection CreateBoard(Stream stream, Socket? socket, ReadOnlyMemory<byte> leftover, bool splitWrites) =>
        new(stream, socket, WebSocketRole.Board, leftover) { _splitWrites = splitWrites };

    /// <summary>
    /// Sends a message, or part of one when <paramref name="endOfMessage"/> is false (the next sends continue it).
    /// A board sends a payload over 65535 bytes as several whole frames, as the firmware never uses a 64-bit length.
    /// </summary>
    /// <exception cref="WebReplConnectionException">The connection is closed or broke.</exception>
    public ValueTask SendAsync(ReadOnlyMemory<byte> payload, WebSocketFrameType type, bool endOfMessage = true, CancellationToken cancellationToken = default) =>
        SendAsync(payload, type, endOfMessage, flush: true, cancellationToken);

    /// <summary>
    /// Sends as <see cref="SendAsync(ReadOnlyMemory{byte}, WebSocketFrameType, bool, CancellationToken)"/>; with
    /// <paramref name="flush"/> false the frame may wait in the connection's send buffer (up to 64 KiB) until the
    /// next flushing send, <see cref="FlushAsync"/> or close, so that a relay forwarding a burst of frames writes
    /// them in one go. Frames stay whole and in order; a board (split writes) always flushes.
    /// </summary>
    /// <exception cref="WebReplConnectionException">The connection is closed or broke.</exception>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> payload, WebSocketFrameType type, bool endOfMessage, bool flush, CancellationToken cancellationToken)
    {
        byte opcode = type switch
        {
            WebSocketFrameType.Text => 0x1,
            WebSocketFrameType.Binary => 0x2,
            _ => throw new ArgumentOutOfRangeException(nameof(type), "Use CloseAsync to close."),
        };
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_closeSent || Volatile.Read(ref _disposed) != 0)
            {
                throw new WebReplConnectionException("The connection is closed.");
            }

            // The firmware never sends a 64-bit length: a board splits larger output into whole frames.
            int maxPart = _role == WebSocketRole.Board ? MaxBoardPayload : int.MaxValue;
            do
            {
                var part = payload[..Math.Min(payload.Length, maxPart)];
                payload = payload[part.Length..];
                // After a frame without FIN, the message goes on in continuation frames (opcode 0).
                await WriteFrameAsync(_sendContinues ? (byte)0x0 : opcode, part, endOfMessage, cancellationToken, flush).ConfigureAwait(false);
                _sendContinues = !endOfMessage;
            }
            while (!payload.IsEmpty);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>The bytes of frames that sends without flush left in the send buffer (written by the next flush).</summary>
    public int BufferedSendBytes => Volatile.Read(ref _pendingLength);

    /// <summary>Writes the frames that sends without flush left in the send buffer, if any.</summary>
    /// <exception cref="WebReplConnectionException">The connection broke.</exception>
    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _pendingLength) == 0)
        {
            return;
        }

        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                throw new WebReplConnectionException("The connection is closed.");
            }

            await WritePendingAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            throw new WebReplConnectionException("The connection to the peer was lost while sending.", ex);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>
    /// True when a whole data frame has already been received into the buffer, so that the next
    /// <see cref="ReceiveAsync"/> returns it without waiting for the network. For the receiving side only.
    /// </summary>
    public bool HasBufferedFrame
    {
        get
        {
            var buffered = _receiveBuffer.AsSpan(_receiveStart, _receiveEnd - _receiveStart);
            if (buffered.Length < 2 || (buffered[0] & 0x0f) > 0x2)
            {
                return false;
            }

            int headerLength = HeaderLength(buffered[1]);
            if (buffered.Length < headerLength)
            {
                return false;
            }

            long length = PayloadLength(buffered);
            return length >= 0 && buffered.Length - headerLength >= length;
        }
    }

    /// <summary>
    /// Sends a ping (a control frame, which may come between the frames of a message): the peer answers with a
    /// pong, which <see cref="ReceiveAsync"/> drops. A server keeps an idle connection alive with it through
    /// proxies that close silent connections (nginx's <c>proxy_read_timeout</c>). Not for boards, which never
    /// send one; nothing is sent once the connection is closing.
    /// </summary>
    /// <exception cref="InvalidOperationException">The connection is a board's.</exception>
    /// <exception cref="WebReplConnectionException">The connection broke.</exception>
    public ValueTask PingAsync(ReadOnlyMemory<byte> payload = default, CancellationToken cancellationToken = default)
    {
        if (_role == WebSocketRole.Board)
        {
            throw new InvalidOperationException("A board does not send pings.");
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThan(payload.Length, 125, nameof(payload));
        return SendControlAsync(0x9, payload, cancellationToken);
    }

    /// <summary>Sends a close frame (once). A board sends a bare close; a client or a server sends the status and reason.</summary>
    public async ValueTask CloseAsync(int? status = 1000, string? reason = null, CancellationToken cancellationToken = default)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_closeSent || Volatile.Read(ref _disposed) != 0)
            {
                return;
            }

            _closeSent = true;
            byte[] body = [];
            if (status is int code && _role != WebSocketRole.Board)
            {
                byte[] text = Encoding.UTF8.GetBytes(reason ?? string.Empty);
                body = new byte[2 + Math.Min(text.Length, 123)];
                BinaryPrimitives.WriteUInt16BigEndian(body, (ushort)code);
                text.AsSpan(0, body.Length - 2).CopyTo(body.AsSpan(2));
            }

            await WriteFrameAsync(0x8, body, true, cancellationToken).ConfigureAwait(false);
        }
        catch (WebReplConnectionException)
        {
            // The peer is gone already: nothing left to tell it.
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>
    /// Receives the next data or close frame. Pings are answered by clients and ignored by boards, pongs are
    /// dropped. After a close frame, or when the peer drops the connection, returns a close frame.
    /// </summary>
    /// <exception cref="WebReplProtocolException">A frame the role does not accept (a board given a 64-bit length).</exception>
    /// <exception cref="WebReplConnectionException">The connection broke.</exception>
    public async ValueTask<WebSocketFrame> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (_closeReceived)
            {
                return new WebSocketFrame(WebSocketFrameType.Close, ReadOnlyMemory<byte>.Empty);
            }

            if (!await FillAsync(2, cancellationToken).ConfigureAwait(false))
            {
                _closeReceived = true;
                return new WebSocketFrame(WebSocketFrameType.Close, ReadOnlyMemory<byte>.Empty, CloseReason: "connection dropped without a close frame");
            }

            byte b0 = _receiveBuffer[_receiveStart];
            byte b1 = _receiveBuffer[_receiveStart + 1];
            bool fin = (b0 & 0x80) != 0;
            int opcode = b0 & 0x0f;
            bool masked = (b1 & 0x80) != 0;
            if ((b1 & 0x7f) == 127 && _role == WebSocketRole.Board)
            {
                throw new WebReplProtocolException("A frame with a 64-bit length: boards close the connection.");
            }

            int headerLength = HeaderLength(b1);
            if (!await FillAsync(headerLength, cancellationToken).ConfigureAwait(false))
            {
                throw Dropped();
            }

            var header = _receiveBuffer.AsSpan(_receiveStart, headerLength);
            long length = PayloadLength(header);

            if (length > _maxFrameBytes || length < 0)
            {
                throw new WebReplFrameTooLargeException(length, _maxFrameBytes);
            }

            uint mask = masked ? BinaryPrimitives.ReadUInt32LittleEndian(header[(headerLength - 4)..]) : 0;
            _receiveStart += headerLength;
            byte[] payload = await ReadPayloadAsync((int)length, cancellationToken).ConfigureAwait(false);
            if (masked)
            {
                ApplyMask(payload, mask);
            }

            switch (opcode)
            {
                case 0x0:
                    return new WebSocketFrame(_messageType, payload, fin);
                case 0x1:
                    _messageType = WebSocketFrameType.Text;
                    return new WebSocketFrame(WebSocketFrameType.Text, payload, fin);
                case 0x2:
                    _messageType = WebSocketFrameType.Binary;
                    return new WebSocketFrame(WebSocketFrameType.Binary, payload, fin);
                case 0x8:
                    _closeReceived = true;
                    int? status = payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(payload) : null;
                    string? reason = payload.Length > 2 ? Encoding.UTF8.GetString(payload, 2, payload.Length - 2) : null;
                    await CloseAsync(_role != WebSocketRole.Board ? status ?? 1000 : null, null, cancellationToken).ConfigureAwait(false);
                    return new WebSocketFrame(WebSocketFrameType.Close, ReadOnlyMemory<byte>.Empty, true, status, reason);
                case 0x9:
                    if (_role != WebSocketRole.Board)
                    {
                        await SendControlAsync(0xA, payload, cancellationToken).ConfigureAwait(false);
                    }

                    continue; // a board never answers a ping
                case 0xA:
                    continue;
                default:
                    throw new WebReplProtocolException($"A frame with the unknown opcode {opcode}.");
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            _socket?.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        await _stream.DisposeAsync().ConfigureAwait(false);
        _socket?.Dispose();
        if (await _sendLock.WaitAsync(TimeSpan.Zero).ConfigureAwait(false))
        {
            // Frames never flushed are dropped with the connection; the buffer goes back to the pool.
            if (_pending is { } pending)
            {
                _pending = null;
                _pendingLength = 0;
                ArrayPool<byte>.Shared.Return(pending);
            }

            _sendLock.Release();
        }

        // The send lock is not disposed: it has no wait handle to free, and a send racing this dispose (a board's
        // output sink as its session ends) must still take and release it, then fail with the documented
        // WebReplConnectionException; a disposed lock would throw ObjectDisposedException at the sender instead.
    }

    /// <summary>Aborts the connection at once: no close frame, the socket is closed.</summary>
    public void Abort()
    {
        try
        {
            _socket?.Close(0);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async ValueTask SendControlAsync(byte opcode, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_closeSent && Volatile.Read(ref _disposed) == 0)
            {
                await WriteFrameAsync(opcode, payload, true, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async ValueTask WritePendingAsync(CancellationToken cancellationToken)
    {
        if (_pending is not { } pending || _pendingLength == 0)
        {
            return;
        }

        int length = _pendingLength;
        Volatile.Write(ref _pendingLength, 0);
        _pending = null;
        try
        {
            await _stream.WriteAsync(pending.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(pending);
        }
    }

    private async ValueTask WriteFrameAsync(byte opcode, ReadOnlyMemory<byte> payload, bool fin, CancellationToken cancellationToken, bool flush = true)
    {
        bool mask = _role == WebSocketRole.Client;
        int lengthBytes = payload.Length < 126 ? 0 : payload.Length <= 0xffff ? 2 : 8;
        int headerLength = 2 + lengthBytes + (mask ? 4 : 0);
        int frameLength = headerLength + payload.Length;
        // Into the send buffer, behind the frames already waiting there (written when a send flushes), unless
        // the frame is larger than the buffer; built in place either way.
        bool buffered = !_splitWrites && (!flush || _pendingLength > 0) && frameLength <= PendingCapacity;
        byte[]? frame = null;
        try
        {
            if (!_splitWrites && _pendingLength > 0 && (!buffered || _pendingLength + frameLength > PendingCapacity))
            {
                await WritePendingAsync(cancellationToken).ConfigureAwait(false);
            }

            Span<byte> target;
            if (buffered)
            {
                _pending ??= ArrayPool<byte>.Shared.Rent(PendingCapacity);
                target = _pending.AsSpan(_pendingLength, frameLength);
            }
            else
            {
                frame = ArrayPool<byte>.Shared.Rent(frameLength);
                target = frame.AsSpan(0, frameLength);
            }

            target[0] = (byte)((fin ? 0x80 : 0) | opcode);
            byte maskBit = mask ? (byte)0x80 : (byte)0;
            switch (lengthBytes)
            {
                case 0:
                    target[1] = (byte)(maskBit | payload.Length);
                    break;
                case 2:
                    target[1] = (byte)(maskBit | 126);
                    BinaryPrimitives.WriteUInt16BigEndian(target[2..], (ushort)payload.Length);
                    break;
                default:
                    target[1] = (byte)(maskBit | 127);
                    BinaryPrimitives.WriteUInt64BigEndian(target[2..], (ulong)payload.Length);
                    break;
            }

            payload.Span.CopyTo(target[headerLength..]);
            if (mask)
            {
                uint key = (uint)Random.Shared.Next() ^ ((uint)Random.Shared.Next() << 1);
                BinaryPrimitives.WriteUInt32LittleEndian(target[(headerLength - 4)..], key);
                ApplyMask(target[headerLength..], key);
            }

            if (buffered)
            {
                Volatile.Write(ref _pendingLength, _pendingLength + frameLength);
                if (flush)
                {
                    await WritePendingAsync(cancellationToken).ConfigureAwait(false);
                }

                return;
            }

            if (_splitWrites)
            {
                // As the firmware does: the header and the payload are two writes.
                await _stream.WriteAsync(frame.AsMemory(0, headerLength), cancellationToken).ConfigureAwait(false);
                if (payload.Length > 0)
                {
                    await _stream.WriteAsync(frame.AsMemory(headerLength, payload.Length), cancellationToken).ConfigureAwait(false);
                }
            }
            else
            {
                await _stream.WriteAsync(frame.AsMemory(0, frameLength), cancellationToken).ConfigureAwait(false);
            }

            await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            throw new WebReplConnectionException("The connection to the peer was lost while sending.", ex);
        }
        finally
        {
            if (frame is not null)
            {
                ArrayPool<byte>.Shared.Return(frame);
            }
        }
    }

    private async ValueTask<byte[]> ReadPayloadAsync(int length, CancellationToken cancellationToken)
    {
        byte[] payload = length == 0 ? [] : new byte[length];
        int copied = Math.Min(length, _receiveEnd - _receiveStart);
        _receiveBuffer.AsSpan(_receiveStart, copied).CopyTo(payload);
        _receiveStart += copied;
        while (copied < length)
        {
            // Large payloads go straight into their array; small ones through the buffer to save reads.
            int remaining = length - copied;
            if (remaining >= _receiveBuffer.Length / 2)
            {
                int read = await ReadStreamAsync(payload.AsMemory(copied), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw Dropped();
                }

                copied += read;
            }
            else
            {
                if (!await FillAsync(remaining, cancellationToken).ConfigureAwait(false))
                {
                    throw Dropped();
                }

                _receiveBuffer.AsSpan(_receiveStart, remaining).CopyTo(payload.AsSpan(copied));
                _receiveStart += remaining;
                copied += remaining;
            }
        }

        return payload;
    }

    /// <summary>Makes at least <paramref name="count"/> bytes available; false when the stream ends first.</summary>
    private async ValueTask<bool> FillAsync(int count, CancellationToken cancellationToken)
    {
        while (_receiveEnd - _receiveStart < count)
        {
            if (_receiveStart > 0)
            {
                _receiveBuffer.AsSpan(_receiveStart, _receiveEnd - _receiveStart).CopyTo(_receiveBuffer);
                _receiveEnd -= _receiveStart;
                _receiveStart = 0;
            }

            int read = await ReadStreamAsync(_receiveBuffer.AsMemory(_receiveEnd), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return false;
            }

            _receiveEnd += read;
            if (_receiveEnd == _receiveBuffer.Length && _receiveBuffer.Length < BufferSize)
            {
                // A read filled the small buffer: the peer sends in bursts (a PUT, a paste). A larger buffer from
                // now on takes a burst in fewer reads, and a relay can pass more frames on in one write.
                var larger = new byte[BufferSize];
                _receiveBuffer.AsSpan(0, _receiveEnd).CopyTo(larger);
                _receiveBuffer = larger;
            }
        }

        return true;
    }

    private async ValueTask<int> ReadStreamAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        try
        {
            return await _stream.ReadAsync(destination, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            if (Volatile.Read(ref _disposed) != 0 || ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
            {
                return 0;
            }

            throw new WebReplConnectionException("The connection to the peer was lost.", ex);
        }
    }

    /// <summary>A frame header's length, from its second byte: 2, the extended length (2 or 8), the mask (4).</summary>
    private static int HeaderLength(byte second) =>
        2 + ((second & 0x80) != 0 ? 4 : 0) + (second & 0x7f) switch
        {
            126 => 2,
            127 => 8,
            _ => 0,
        };

    /// <summary>The payload length of a whole frame header (negative when a 64-bit length has its top bit set).</summary>
    private static long PayloadLength(ReadOnlySpan<byte> header) =>
        (header[1] & 0x7f) switch
        {
            126 => BinaryPrimitives.ReadUInt16BigEndian(header[2..]),
            127 => (long)BinaryPrimitives.ReadUInt64BigEndian(header[2..]),
            int length => length,
        };

    private static WebReplConnectionException Dropped() =>
        new("The peer dropped the connection in the middle of a frame.");

    /// <summary>XORs with the 4-byte masking key (in the frame's byte order): whole vectors, then words, then bytes.</summary>
    /// <remarks>Compiled optimised at once: every frame of a relay passes through it twice, and vector code before tier-up is slow.</remarks>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static void ApplyMask(Span<byte> data, uint key)
    {
        int i = 0;
        if (BitConverter.IsLittleEndian)
        {
            // The key repeats every 4 bytes, so a vector or a word of repeated keys lines up at every multiple of 8.
            ulong key64 = key | ((ulong)key << 32);
            if (Vector.IsHardwareAccelerated && data.Length >= Vector<byte>.Count)
            {
                var keys = Vector.AsVectorByte(new Vector<ulong>(key64));
                for (; i <= data.Length - Vector<byte>.Count; i += Vector<byte>.Count)
                {
                    var block = data.Slice(i, Vector<byte>.Count);
                    (new Vector<byte>(block) ^ keys).CopyTo(block);
                }
            }

            for (; i <= data.Length - sizeof(ulong); i += sizeof(ulong))
            {
                var word = data.Slice(i, sizeof(ulong));
                MemoryMarshal.Write(word, MemoryMarshal.Read<ulong>(word) ^ key64);
            }
        }

        for (; i < data.Length; i++)
        {
            data[i] ^= (byte)(key >> (8 * (i & 3)));
        }
    }

    private static string DescribeConnectFailure(WebReplTarget target, Exception ex) => ex switch
    {
        SocketException { SocketErrorCode: SocketError.ConnectionRefused } =>
            $"Cannot connect to {target}: connection refused. Is WebREPL running on the board (import webrepl; webrepl.start()) and the port right?",
        SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain } =>
            $"Cannot connect to {target}: the host name '{target.Host}' does not resolve. Check the address.",
        SocketException { SocketErrorCode: SocketError.NetworkUnreachable or SocketError.HostUnreachable } =>
            $"Cannot connect to {target}: no route to the host. Is this computer on the board's network?",
        System.Security.Authentication.AuthenticationException =>
            $"Cannot connect to {target}: the TLS handshake failed ({ex.Message}). Check the certificate, or use ws:// for a board.",
        _ => $"Cannot connect to {target}: {ex.Message}",
    };
}

/// <summary>How a client connection is opened.</summary>
public sealed record WebSocketConnectOptions
{
    /// <summary>The defaults.</summary>
    public static WebSocketConnectOptions Default { get; } = new();

    /// <summary>How long TCP connect, TLS and the handshake may take together.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Acknowledge received data at once (Linux TCP_QUICKACK); see PROTOCOL.md on the board's write pattern.</summary>
    public bool ImmediateAck { get; init; } = true;

    /// <summary>Certificate check for <c>wss://</c>; null uses the system's trust.</summary>
    public RemoteCertificateValidationCallback? RemoteCertificateValidation { get; init; }

    /// <summary>Extra request headers (an <c>Origin</c>, for instance).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> RequestHeaders { get; init; } = [];

    /// <summary>The largest frame accepted.</summary>
    public long MaxFrameBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>
    /// Connect to this address instead of resolving <see cref="WebReplTarget.Host"/> (which still names the
    /// host for TLS and the handshake): a caller that checked the resolved address connects to exactly that one.
    /// </summary>
    public System.Net.IPAddress? ConnectAddress { get; init; }

    /// <summary>The receive buffer (at least 1 KiB; 64 KiB by default): small buffers suit many idle connections.</summary>
    public int ReceiveBufferSize { get; init; } = 64 * 1024 + 16;
}
