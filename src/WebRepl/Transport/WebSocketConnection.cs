using System.Net.Sockets;

namespace WebRepl.Transport;

/// <summary>
/// RFC 6455 framing over a stream, written for WebREPL. Unlike <c>ClientWebSocket</c>, text frames are
/// bytes: boards put unchecked bytes in them, and a connection must survive whatever a program prints.
/// Sends are serialised; receives must come from one reader at a time.
/// </summary>
/// <remarks>
/// The frames' bytes are <see cref="WebSocketFrameCodec"/>'s, the reading <see cref="FrameReceiveBuffer"/>'s, the
/// writing <see cref="FrameWriter"/>'s; how this end behaves (masking, the firmware's write pattern and limits) is
/// a <see cref="WebSocketBehavior"/>. Connecting is <see cref="WebSocketConnector"/>'s.
/// </remarks>
public sealed class WebSocketConnection : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly Socket? _socket;
    private readonly WebSocketBehavior _behavior;
    private readonly long _maxFrameBytes;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly FrameReceiveBuffer _receive;
    private readonly FrameWriter _writer;
    private WebSocketFrameType _messageType = WebSocketFrameType.Text;
    private bool _closeSent;
    private bool _sendContinues;
    private bool _closeReceived;
    private int _disposed;

    internal WebSocketConnection(Stream stream, Socket? socket, WebSocketBehavior behavior, ReadOnlyMemory<byte> leftover, long maxFrameBytes = 16 * 1024 * 1024, int receiveBufferSize = FrameReceiveBuffer.DefaultSize)
    {
        _stream = stream;
        _socket = socket;
        _behavior = behavior;
        _maxFrameBytes = maxFrameBytes;
        _receive = new FrameReceiveBuffer(stream, leftover, receiveBufferSize);
        _writer = new FrameWriter(stream, behavior);
    }

    internal WebSocketConnection(Stream stream, Socket? socket, WebSocketRole role, ReadOnlyMemory<byte> leftover, long maxFrameBytes = 16 * 1024 * 1024, int receiveBufferSize = FrameReceiveBuffer.DefaultSize)
        : this(stream, socket, WebSocketBehavior.For(role), leftover, maxFrameBytes, receiveBufferSize)
    {
    }

    /// <summary>The connection's role.</summary>
    public WebSocketRole Role => _behavior.Role;

    /// <summary>True once a close frame was sent or received, or the connection was disposed.</summary>
    public bool IsClosed => _closeSent || _closeReceived || IsDisposed;

    /// <summary>The underlying socket, when there is one.</summary>
    internal Socket? Socket => _socket;

    /// <summary>How this end frames.</summary>
    internal WebSocketBehavior Behavior => _behavior;

    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Opens a client connection: TCP (or TLS), then the opening handshake.</summary>
    /// <exception cref="WebReplConnectionException">The board cannot be reached or refused the upgrade.</exception>
    /// <exception cref="WebReplTimeoutException">No connection within <see cref="WebSocketConnectOptions.ConnectTimeout"/>.</exception>
    public static Task<WebSocketConnection> ConnectAsync(WebReplTarget target, WebSocketConnectOptions options, CancellationToken cancellationToken = default) =>
        WebSocketConnector.ConnectAsync(target, options, cancellationToken);

    /// <summary>
    /// Wraps a stream on which a server has completed the opening handshake (an upgraded ASP.NET Core request,
    /// for instance) as the server's end: <see cref="WebSocketRole.Server"/>. Text frames stay bytes here too.
    /// </summary>
    /// <param name="stream">The upgraded stream; the connection owns it.</param>
    /// <param name="maxFrameBytes">The largest frame accepted; a larger one makes <see cref="ReceiveAsync"/> throw <see cref="WebReplFrameTooLargeException"/>.</param>
    /// <param name="receiveBufferSize">The receive buffer (at least 1 KiB): small buffers suit many idle connections.</param>
    public static WebSocketConnection CreateServer(Stream stream, long maxFrameBytes = 16 * 1024 * 1024, int receiveBufferSize = FrameReceiveBuffer.DefaultSize)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return new WebSocketConnection(stream, null, WebSocketBehavior.Server, ReadOnlyMemory<byte>.Empty, maxFrameBytes, receiveBufferSize);
    }

    /// <summary>Wraps an accepted stream (after the handshake) as the board's end; <paramref name="splitWrites"/> as the firmware writes.</summary>
    internal static WebSocketConnection CreateBoard(Stream stream, Socket? socket, ReadOnlyMemory<byte> leftover, bool splitWrites) =>
        new(stream, socket, WebSocketBehavior.Board with { SplitWrites = splitWrites }, leftover);

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
            WebSocketFrameType.Text => WebSocketFrameCodec.Text,
            WebSocketFrameType.Binary => WebSocketFrameCodec.Binary,
            _ => throw new ArgumentOutOfRangeException(nameof(type), "Use CloseAsync to close."),
        };
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_closeSent || IsDisposed)
            {
                throw new WebReplConnectionException("The connection is closed.");
            }

            do
            {
                var part = payload[..Math.Min(payload.Length, _behavior.MaxPayloadPerFrame)];
                payload = payload[part.Length..];
                // After a frame without FIN, the message goes on in continuation frames (opcode 0).
                byte code = _sendContinues ? WebSocketFrameCodec.Continuation : opcode;
                await _writer.WriteFrameAsync(code, part, endOfMessage, flush, cancellationToken).ConfigureAwait(false);
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
    public int BufferedSendBytes => _writer.PendingBytes;

    /// <summary>Writes the frames that sends without flush left in the send buffer, if any.</summary>
    /// <exception cref="WebReplConnectionException">The connection broke.</exception>
    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_writer.PendingBytes == 0)
        {
            return;
        }

        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (IsDisposed)
            {
                throw new WebReplConnectionException("The connection is closed.");
            }

            await _writer.FlushAsync(cancellationToken).ConfigureAwait(false);
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
    public bool HasBufferedFrame => _receive.HasWholeDataFrame;

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
        if (!_behavior.MaySendPings)
        {
            throw new InvalidOperationException("A board does not send pings.");
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThan(payload.Length, WebSocketFrameCodec.MaxControlPayload, nameof(payload));
        return SendControlAsync(WebSocketFrameCodec.Ping, payload, cancellationToken);
    }

    /// <summary>Sends a close frame (once). A board sends a bare close; a client or a server sends the status and reason.</summary>
    public async ValueTask CloseAsync(int? status = 1000, string? reason = null, CancellationToken cancellationToken = default)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_closeSent || IsDisposed)
            {
                return;
            }

            _closeSent = true;
            byte[] body = status is int code && _behavior.ClosesWithStatus ? WebSocketFrameCodec.EncodeCloseBody(code, reason) : [];
            await _writer.WriteFrameAsync(WebSocketFrameCodec.Close, body, fin: true, flush: true, cancellationToken).ConfigureAwait(false);
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
    /// Receives the next data or close frame. Pings are answered by clients and servers and ignored by boards,
    /// pongs are dropped. After a close frame, or when the peer drops the connection, returns a close frame.
    /// </summary>
    /// <exception cref="WebReplFrameTooLargeException">A frame over the size limit.</exception>
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

            if (!await _receive.FillAsync(2, cancellationToken).ConfigureAwait(false))
            {
                _closeReceived = true;
                return new WebSocketFrame(WebSocketFrameType.Close, ReadOnlyMemory<byte>.Empty, CloseReason: "connection dropped without a close frame");
            }

            var header = await ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
            byte[] payload = await _receive.ReadPayloadAsync((int)header.PayloadLength, cancellationToken).ConfigureAwait(false);
            if (header.Masked)
            {
                WebSocketFrameCodec.ApplyMask(payload, header.MaskKey);
            }

            if (await HandleAsync(header, payload, cancellationToken).ConfigureAwait(false) is { } frame)
            {
                return frame;
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

        _receive.Disposed = true;
        try
        {
            _socket?.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        await _stream.DisposeAsync().ConfigureAwait(false);
        _socket?.Dispose();
        if (await _sendLock.WaitAsync(TimeSpan.Zero).ConfigureAwait(false))
        {
            // Frames never flushed are dropped with the connection; the buffer goes back to the pool.
            _writer.Discard();
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

    /// <summary>Reads a whole header (its first two bytes are buffered) and checks it against the limits.</summary>
    private async ValueTask<FrameHeader> ReadHeaderAsync(CancellationToken cancellationToken)
    {
        if (_behavior.RefusesLongLength && WebSocketFrameCodec.HasLongLength(_receive.Buffered[1]))
        {
            throw new WebReplProtocolException("A frame with a 64-bit length: boards close the connection.");
        }

        int headerLength = WebSocketFrameCodec.HeaderLength(_receive.Buffered[1]);
        if (!await _receive.FillAsync(headerLength, cancellationToken).ConfigureAwait(false))
        {
            throw FrameReceiveBuffer.Dropped();
        }

        WebSocketFrameCodec.TryReadHeader(_receive.Buffered, out var header);
        if (header.PayloadLength > _maxFrameBytes || header.PayloadLength < 0)
        {
            throw new WebReplFrameTooLargeException(header.PayloadLength, _maxFrameBytes);
        }

        _receive.Skip(header.HeaderLength);
        return header;
    }

    /// <summary>A data or close frame to return, or null for a control frame handled here (ping, pong).</summary>
    private async ValueTask<WebSocketFrame?> HandleAsync(FrameHeader header, byte[] payload, CancellationToken cancellationToken)
    {
        switch (header.Opcode)
        {
            case WebSocketFrameCodec.Continuation:
                return new WebSocketFrame(_messageType, payload, header.Fin);
            case WebSocketFrameCodec.Text:
                _messageType = WebSocketFrameType.Text;
                return new WebSocketFrame(WebSocketFrameType.Text, payload, header.Fin);
            case WebSocketFrameCodec.Binary:
                _messageType = WebSocketFrameType.Binary;
                return new WebSocketFrame(WebSocketFrameType.Binary, payload, header.Fin);
            case WebSocketFrameCodec.Close:
                _closeReceived = true;
                var (status, reason) = WebSocketFrameCodec.DecodeCloseBody(payload);
                await CloseAsync(status ?? 1000, null, cancellationToken).ConfigureAwait(false);
                return new WebSocketFrame(WebSocketFrameType.Close, ReadOnlyMemory<byte>.Empty, true, status, reason);
            case WebSocketFrameCodec.Ping:
                if (_behavior.AnswersPings)
                {
                    await SendControlAsync(WebSocketFrameCodec.Pong, payload, cancellationToken).ConfigureAwait(false);
                }

                return null; // a board never answers a ping
            case WebSocketFrameCodec.Pong:
                return null;
            default:
                throw new WebReplProtocolException($"A frame with the unknown opcode {header.Opcode}.");
        }
    }

    private async ValueTask SendControlAsync(byte opcode, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_closeSent && !IsDisposed)
            {
                await _writer.WriteFrameAsync(opcode, payload, fin: true, flush: true, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _sendLock.Release();
        }
    }
}
