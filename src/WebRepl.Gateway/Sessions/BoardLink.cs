using System.Net;
using WebRepl.Transport;

namespace WebRepl.Gateway.Sessions;

/// <summary>
/// The session's one connection to its board: connects (again while the board still lets go of the last session's
/// connection), writes what the clients send in the board's framing, counts the bytes, and closes with a status.
/// A fragmented message keeps the board to itself until its last frame, so that the board's framing stays whole.
/// </summary>
#pragma warning disable CA1001 // Its semaphore has no wait handle: nothing to release, and late writers may still touch it.
internal sealed class BoardLink(WebReplTarget target, IPAddress? address, GatewayOptions options, CancellationToken stop)
#pragma warning restore CA1001
{
    /// <summary>The largest frame written to a board: a board closes the connection on a 64-bit length.</summary>
    public const int MaxFrame = 65535;

    private readonly SemaphoreSlim _write = new(1, 1);
    private WebSocketConnection? _connection;
    private object? _midMessage;
    private long _bytesOut;
    private long _bytesIn;

    /// <summary>True once connected.</summary>
    public bool IsConnected => Volatile.Read(ref _connection) is not null;

    /// <summary>The writer whose fragmented message is under way (it has the board to itself), or null.</summary>
    public object? MidMessage => Volatile.Read(ref _midMessage);

    /// <summary>Bytes waiting in the connection's send buffer (written without flush).</summary>
    public int BufferedSendBytes => Volatile.Read(ref _connection)?.BufferedSendBytes ?? 0;

    /// <summary>Payload bytes written to the board.</summary>
    public long BytesOut => Interlocked.Read(ref _bytesOut);

    /// <summary>Payload bytes received from the board.</summary>
    public long BytesIn => Interlocked.Read(ref _bytesIn);

    /// <summary>
    /// Connects and returns the board's first frame. A board takes a moment to let go of the previous session's
    /// connection and refuses the next one until then (it handshakes, then closes): while nothing was sent and
    /// <paramref name="releasedRecently"/> says the last session let go of it just now, it connects again.
    /// <paramref name="connected"/> runs once a connection is made (before its first frame is read).
    /// </summary>
    public async Task<WebSocketFrame> ConnectAsync(Action connected, Func<bool> releasedRecently)
    {
        var board = await ConnectOnceAsync(connected).ConfigureAwait(false);
        var frame = await ReceiveAsync().ConfigureAwait(false);
        for (int attempt = 0; frame.Type == WebSocketFrameType.Close && frame.CloseStatus is null && attempt < 10 && BytesOut == 0 && releasedRecently(); attempt++)
        {
            await Task.Delay(100, stop).ConfigureAwait(false);
            await board.DisposeAsync().ConfigureAwait(false);
            board = await ConnectOnceAsync(connected).ConfigureAwait(false);
            frame = await ReceiveAsync().ConfigureAwait(false);
        }

        return frame;
    }

    /// <summary>
    /// Why the board's connection ended, from its close frame: the status and reason the clients are closed with
    /// (<paramref name="passwordRefused"/>: the board answered the password with <c>Access denied</c>).
    /// </summary>
    public static (int Code, string Reason) CloseOf(WebSocketFrame frame, bool passwordRefused)
    {
        if (passwordRefused)
        {
            return (CloseReason.PolicyViolation, "Access denied: the board refused the password");
        }

        if (frame.CloseStatus is int status)
        {
            return (CloseReason.IsSendable(status) ? status : CloseReason.Normal,
                string.IsNullOrEmpty(frame.CloseReason) ? "the board closed the connection" : frame.CloseReason);
        }

        return frame.CloseReason is not null
            ? (CloseReason.InternalError, "the board dropped the connection")
            : (CloseReason.Normal, "the board closed the connection");
    }

    /// <summary>The board's next frame (its payload counted).</summary>
    public async ValueTask<WebSocketFrame> ReceiveAsync()
    {
        var frame = await _connection!.ReceiveAsync(stop).ConfigureAwait(false);
        Interlocked.Add(ref _bytesIn, frame.Payload.Length);
        return frame;
    }

    /// <summary>
    /// Writes a client's (or the gateway's: <paramref name="sender"/> is the session) payload: over 65535 bytes as
    /// continuation frames; a message not ended keeps the board to <paramref name="sender"/> until it is. False when
    /// the board is gone (the board loop sees why) or not connected.
    /// </summary>
    public async ValueTask<bool> WriteAsync(object sender, ReadOnlyMemory<byte> payload, WebSocketFrameType type, bool endOfMessage, bool flush = true)
    {
        var board = Volatile.Read(ref _connection);
        if (board is null)
        {
            return false;
        }

        if (!ReferenceEquals(Volatile.Read(ref _midMessage), sender))
        {
            try
            {
                await _write.WaitAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        bool release = true;
        try
        {
            while (payload.Length > MaxFrame)
            {
                await board.SendAsync(payload[..MaxFrame], type, false, stop).ConfigureAwait(false);
                Interlocked.Add(ref _bytesOut, MaxFrame);
                payload = payload[MaxFrame..];
            }

            await board.SendAsync(payload, type, endOfMessage, flush, stop).ConfigureAwait(false);
            Interlocked.Add(ref _bytesOut, payload.Length);
            release = endOfMessage;
            Volatile.Write(ref _midMessage, endOfMessage ? null : sender);
            return true;
        }
        catch (Exception ex) when (ex is WebReplException or OperationCanceledException or ObjectDisposedException)
        {
            // The board loop sees the broken connection and ends the session with the reason.
            Volatile.Write(ref _midMessage, null);
            return false;
        }
        finally
        {
            if (release)
            {
                _write.Release();
            }
        }
    }

    /// <summary>Writes what sends without flush left in the connection's buffer.</summary>
    public async ValueTask FlushAsync()
    {
        if (Volatile.Read(ref _connection) is { } board)
        {
            try
            {
                await board.FlushAsync(stop).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebReplException or OperationCanceledException or ObjectDisposedException)
            {
                // The board loop sees the broken connection and ends the session with the reason.
            }
        }
    }

    /// <summary>
    /// Sends a close frame with the client's status, as the board's own client would; the board answers with a bare
    /// close, which ends the board loop. False when not connected.
    /// </summary>
    public async Task<bool> CloseAsync(int? status, string reason)
    {
        if (Volatile.Read(ref _connection) is not { } board)
        {
            return false;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await board.CloseAsync(CloseReason.IsSendable(status) ? status : CloseReason.Normal, CloseReason.Fit(reason), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
        }

        return true;
    }

    /// <summary>Lets go of the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _connection) is { } board)
        {
            await board.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<WebSocketConnection> ConnectOnceAsync(Action connected)
    {
        var board = await WebSocketConnection.ConnectAsync(
            target,
            new WebSocketConnectOptions
            {
                ConnectTimeout = options.ConnectTimeout,
                ConnectAddress = address,
                RemoteCertificateValidation = options.TargetCertificateValidation,
                ReceiveBufferSize = 4096,
                MaxFrameBytes = Math.Max(options.MaxMessageBytes, 1 << 20),
            },
            stop).ConfigureAwait(false);
        Volatile.Write(ref _connection, board);
        connected();
        return board;
    }
}
