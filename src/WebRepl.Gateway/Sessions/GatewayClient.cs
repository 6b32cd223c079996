using WebRepl.Protocol;
using WebRepl.Transport;

namespace WebRepl.Gateway.Sessions;

/// <summary>Where a client is in its session.</summary>
internal enum ClientState
{
    /// <summary>A client joining a session: it must type the session's password first.</summary>
    AwaitingPassword,

    /// <summary>The client that opened the board, while the board asks for the password.</summary>
    LoggingIn,

    /// <summary>Receives the board's output (and, unless a viewer, may type and transfer files).</summary>
    Authenticated,
}

/// <summary>
/// One WebSocket client of the gateway: the server end of its connection (our framing, so that text frames
/// stay bytes both ways), its password line, and its counters. What the session's machines know of it (held
/// input and binary frames, raw REPL claims) they keep themselves.
/// </summary>
internal sealed class GatewayClient : IAsyncDisposable
{
    private static int s_nextId;

    private readonly Utf8Sanitizer? _sanitizer;
    private readonly TimeSpan _sendTimeout;
    private readonly CancellationTokenSource _stop = new();
    private long _bytesIn;
    private long _bytesOut;
    private long _sendStarted;
    private long _lastSent = Environment.TickCount64;
    private int _pinging;
    private int _closing;

    public GatewayClient(WebSocketConnection connection, string remote, string? origin, bool viewer, TimeSpan sendTimeout, System.Net.IPAddress? address = null)
    {
        Address = address;
        Id = Interlocked.Increment(ref s_nextId);
        Connection = connection;
        Remote = remote;
        Origin = origin;
        IsViewer = viewer;
        _sendTimeout = sendTimeout;
        // Browsers drop a connection on a text message that is not UTF-8; programs get the board's bytes unchanged.
        _sanitizer = origin is null ? null : new Utf8Sanitizer();
    }

    public int Id { get; }

    public string Name => $"#{Id}";

    public WebSocketConnection Connection { get; }

    public string Remote { get; }

    /// <summary>The client's IP address, when known (wrong passwords are counted by it).</summary>
    public System.Net.IPAddress? Address { get; }

    public string? Origin { get; }

    public bool IsViewer { get; }

    public DateTimeOffset Since { get; } = DateTimeOffset.UtcNow;

    /// <summary>When the client came (<see cref="Environment.TickCount64"/>), for the login deadline.</summary>
    public long SinceTick { get; } = Environment.TickCount64;

    /// <summary>True once the client was closed for not logging in within the login timeout (the session's lock).</summary>
    public bool LoginExpired { get; set; }

    /// <summary>The address key under which the client counts as logging in, until it has logged in or left (the registry's lock).</summary>
    public string? PendingKey { get; set; }

    /// <summary>
    /// The password line the gateway types for this client (a named board's password, for a client on this
    /// machine from a named origin), or null: the client answers the prompt itself. Wiped once used.
    /// </summary>
    public byte[]? AutoPassword { get; set; }

    /// <summary>Cancelled when the gateway ends this client's receive loop.</summary>
    public CancellationToken Stopping => _stop.Token;

    /// <summary>Guarded by the session's lock.</summary>
    public ClientState State { get; set; } = ClientState.AwaitingPassword;

    /// <summary>What the client typed at the password prompt (guarded by the session's lock).</summary>
    public PasswordLine Password { get; } = new();

    /// <summary>When the client's last frame arrived (a <see cref="System.Diagnostics.Stopwatch"/> timestamp; its receive loop only).</summary>
    public long LastFrameAt { get; set; }

    /// <summary>True when the client's last frame came right after the one before (its receive loop only).</summary>
    public bool StreamingFast { get; set; }

    /// <summary>True while PUT data of this client waits in the board's send buffer for more (its receive loop only).</summary>
    public bool HoldsPutData { get; set; }

    /// <summary>The type of the client's fragmented message under way, if any.</summary>
    public WebSocketFrameType? MessageInProgress { get; set; }

    public long BytesIn => Interlocked.Read(ref _bytesIn);

    public long BytesOut => Interlocked.Read(ref _bytesOut);

    public void CountIn(int bytes) => Interlocked.Add(ref _bytesIn, bytes);

    /// <summary>Sends a frame; false when the client is gone or did not take it within the send timeout.</summary>
    public async ValueTask<bool> SendAsync(ReadOnlyMemory<byte> payload, WebSocketFrameType type, bool endOfMessage = true)
    {
        if (type == WebSocketFrameType.Text && _sanitizer is not null)
        {
            payload = _sanitizer.Sanitize(payload);
            if (payload.IsEmpty && endOfMessage)
            {
                return true; // only the start of a character: it goes out with the next frame
            }
        }

        // No timer per send: the session's timer drops a client whose send has been pending too long (IsStalled).
        Interlocked.Exchange(ref _sendStarted, Environment.TickCount64);
        try
        {
            await Connection.SendAsync(payload, type, endOfMessage, _stop.Token).ConfigureAwait(false);
            Interlocked.Add(ref _bytesOut, payload.Length);
            Interlocked.Exchange(ref _lastSent, Environment.TickCount64);
            return true;
        }
        catch (Exception ex) when (ex is WebReplException or OperationCanceledException or ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            Interlocked.Exchange(ref _sendStarted, 0);
        }
    }

    /// <summary>True when a send to this client has been pending for longer than the send timeout.</summary>
    public bool IsStalled(long now)
    {
        long started = Interlocked.Read(ref _sendStarted);
        return started != 0 && now - started > (long)_sendTimeout.TotalMilliseconds;
    }

    /// <summary>
    /// Sends a ping when nothing has gone to the client for <paramref name="intervalMs"/> (and no send is under way):
    /// a proxy in front of the gateway (nginx) closes a WebSocket that stays silent for its read timeout, and a
    /// logged-in terminal may well be idle that long. Browsers and our client answer with a pong; clients that
    /// answer nothing (webrepl_cli.py skips the frame) are kept all the same: the ping is only traffic.
    /// </summary>
    public void KeepAlive(long now, long intervalMs)
    {
        if (now - Interlocked.Read(ref _lastSent) < intervalMs || Interlocked.Read(ref _sendStarted) != 0 ||
            Volatile.Read(ref _closing) != 0 || Interlocked.Exchange(ref _pinging, 1) != 0)
        {
            return;
        }

        _ = PingAsync();
    }

    private async Task PingAsync()
    {
        try
        {
            Interlocked.Exchange(ref _lastSent, Environment.TickCount64);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(_sendTimeout);
            await Connection.PingAsync(default, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Not taken within the send timeout (or the client is leaving): a frame may be half written, so end it.
            Abort();
        }
        catch (Exception ex) when (ex is WebReplException or ObjectDisposedException)
        {
            // The connection is gone; its receive loop ends the client.
        }
        finally
        {
            Volatile.Write(ref _pinging, 0);
        }
    }

    /// <summary>
    /// Sends a close frame with a status and reason, then gives the client a moment to answer before its
    /// receive loop is ended. Safe to call more than once; only the first counts.
    /// </summary>
    public async Task CloseAsync(int status, string reason)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(_sendTimeout);
            await Connection.CloseAsync(status, CloseReason.Fit(reason), timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
        }

        // The client answers with its own close frame, which ends the receive loop; if it does not, end it.
        try
        {
            _stop.CancelAfter(TimeSpan.FromSeconds(2));
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Ends the receive loop at once.</summary>
    public void Abort()
    {
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        Password.Dispose();
        if (AutoPassword is { } auto)
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(auto);
        }

        await Connection.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}

/// <summary>WebSocket close codes the gateway uses, and reasons that fit a close frame.</summary>
internal static class CloseReason
{
    public const int Normal = 1000;
    public const int GoingAway = 1001;
    public const int PolicyViolation = 1008;
    public const int MessageTooBig = 1009;
    public const int InternalError = 1011;
    public const int TryAgainLater = 1013;

    /// <summary>A close frame carries at most 123 bytes of reason; cut at a character boundary, never inside one.</summary>
    public static string Fit(string reason)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(reason) <= 123)
        {
            return reason;
        }

        var builder = new System.Text.StringBuilder();
        int bytes = 0;
        foreach (var rune in (reason.Length > 200 ? reason[..200] : reason).EnumerateRunes())
        {
            if (bytes + rune.Utf8SequenceLength > 120)
            {
                break;
            }

            builder.Append(rune.ToString());
            bytes += rune.Utf8SequenceLength;
        }

        return builder.Append("...").ToString();
    }

    /// <summary>True for a code that may be sent in a close frame (1005, 1006 and 1015 are reserved for reporting).</summary>
    public static bool IsSendable(int? code) =>
        code is >= 1000 and <= 4999 and not (1004 or 1005 or 1006 or 1015) and (>= 3000 or <= 1014);
}
