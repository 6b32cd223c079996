using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using WebRepl.Protocol;
using WebRepl.Transport;
using static WebRepl.Gateway.Sessions.SessionLog;

namespace WebRepl.Gateway.Sessions;

/// <summary>
/// One connection to a board, shared by the clients that open it through the gateway.
/// <code>
///  client A (opened it) ─┐   text: every authenticated client, in order      ┌─ board (one connection,
///  client B (joined)    ─┼─► BoardSession ──────────────────────────────────►│   immediate ACKs,
///  viewer C (?view)     ─┘   binary: one client's transfer at a time, others  │   frames below 64 KiB)
///                            held; replies go back to the requesting client  ┘
/// </code>
/// A coordinator: it runs the client loops and the board loop, holds the lock, and hands each frame to the relay that
/// carries out its state machine's decisions (<see cref="LoginRelay"/>, <see cref="InputRelay"/>,
/// <see cref="TransferRelay"/>, <see cref="OutputRelay"/>); <see cref="ClientRoster"/> keeps who is in it.
/// </summary>
#pragma warning disable CA1001 // Its semaphores have no wait handles and its token source no timer left once ended: nothing to release, and late callbacks may still touch them.
internal sealed class BoardSession : ISessionCore
#pragma warning restore CA1001
{
    private readonly SessionRegistry _registry;
    private readonly GatewayOptions _options;
    private readonly ILogger _logger;
    private readonly IPAddress? _address;
    private readonly Lock _gate = new();
    private readonly ClientRoster _clients;

    // Whose turn it is to send text to the clients: the board's output, the gateway's own lines, and a joiner let in
    // and told "WebREPL connected" (it gets everything the board prints after that answer, and nothing before it).
    private readonly OutputRelay _relay;
    private readonly TransferRelay _transfers;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly LoginRelay _login;
    private readonly InputRelay _input;

    private readonly BoardLink _board;
    private SessionState _state = SessionState.Connecting;
    private int? _endCode;
    private string? _endReason;
    private long _lastActivity = Environment.TickCount64;

    public BoardSession(SessionRegistry registry, string key, WebReplTarget target, IPAddress? address, string? name, GatewayOptions options, ILogger logger)
    {
        _registry = registry;
        Key = key;
        Target = target;
        _address = address;
        Name = name;
        _options = options;
        _logger = logger;
        _board = new BoardLink(target, address, options, _stop.Token);
        _clients = new ClientRoster(_gate, options, logger);
        _relay = new OutputRelay(Drop);
        _input = new InputRelay(this, _relay, () => _clients.Receivers, logger);
        _transfers = new TransferRelay(this, _board, options, logger);
        _login = new LoginRelay(this, registry, key, _relay, options, logger);
    }

    private enum SessionState
    {
        Connecting,
        LoggingIn,
        LoggedIn,
        Closing,
    }

    public string Key { get; }

    public WebReplTarget Target { get; }

    public string? Name { get; }

    public DateTimeOffset Since { get; } = DateTimeOffset.UtcNow;

    /// <summary>Completes when the board connection is closed and the session has left the registry.</summary>
    public Task Released => _released.Task;

    /// <summary>The board as the logs name it.</summary>
    public string BoardText => Name is null ? Target.ToString() : $"{Name} ({Target})";

    Lock ISessionCore.Gate => _gate;

    bool ISessionCore.IsClosing => _state == SessionState.Closing;

    GatewayClient? ISessionCore.PresentOpener => _clients.PresentOpener;

    CancellationToken ISessionCore.Stopping => _stop.Token;

    ValueTask<bool> ISessionCore.WriteAsSessionAsync(ReadOnlyMemory<byte> payload, WebSocketFrameType type) =>
        WriteToBoardAsync(this, payload, type, true);

    Task ISessionCore.Connected => _connected.Task;

    bool ISessionCore.IsLoggingIn => _state == SessionState.LoggingIn;

    int ISessionCore.Authenticate(GatewayClient client)
    {
        client.State = ClientState.Authenticated;
        _clients.RefreshReceivers();
        return _clients.Count;
    }


    /// <summary>Adds a client; false with a reason when it cannot join, false without one when the session is closing.</summary>
    public bool TryAdd(GatewayClient client, out string? refusal)
    {
        lock (_gate)
        {
            refusal = null;
            if (_state == SessionState.Closing)
            {
                return false;
            }

            return _clients.TryAdd(client, out refusal);
        }
    }

    /// <summary>Connects to the board in the background (after <paramref name="previous"/>, the last session on this board, has let go of it).</summary>
    public void Start(Task? previous) => _ = RunBoardAsync(previous);

    /// <summary>Ends the session: every client is closed with this code and reason, then the board connection.</summary>
    public void End(int code, string reason)
    {
        lock (_gate)
        {
            _endCode ??= code;
            _endReason ??= reason;
        }

        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Runs one client until it leaves or the session ends.</summary>
    public async Task RunClientAsync(GatewayClient client, CancellationToken cancellationToken)
    {
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, client.Stopping);
        int? closeStatus = null;
        string closeReason = "the client closed the connection";
        bool opener;
        lock (_gate)
        {
            opener = ReferenceEquals(client, _clients.Opener);
        }

        if (!await _login.GreetAsync(client, opener).ConfigureAwait(false))
        {
            return;
        }

        try
        {
            while (true)
            {
                if (!client.Connection.HasBufferedFrame && !client.HoldsPutData)
                {
                    // About to wait for the network: what this client's burst left in the board's send buffer goes now.
                    await _board.FlushAsync().ConfigureAwait(false);
                }

                var frame = await client.Connection.ReceiveAsync(stopping.Token).ConfigureAwait(false);
                if (frame.Type == WebSocketFrameType.Close)
                {
                    closeStatus = frame.CloseStatus;
                    closeReason = frame.CloseStatus is null && frame.CloseReason is not null
                        ? "the client dropped the connection"
                        : string.IsNullOrEmpty(frame.CloseReason) ? "the client closed the connection" : $"the client closed the connection ({frame.CloseReason})";
                    break;
                }

                client.CountIn(frame.Payload.Length);
                long arrived = Stopwatch.GetTimestamp();
                client.StreamingFast = arrived - client.LastFrameAt < TransferRelay.PutHoldGap;
                client.LastFrameAt = arrived;
                Touch();
                if (!await OnClientFrameAsync(client, frame).ConfigureAwait(false))
                {
                    closeReason = "closed by the gateway";
                    break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            closeReason = "closed by the gateway";
        }
        catch (WebReplFrameTooLargeException)
        {
            closeReason = $"a message larger than {_options.MaxMessageBytes} bytes";
            LogClientDropped(_logger, client.Name, closeReason + " (--max-message)");
            await client.CloseAsync(CloseReason.MessageTooBig, $"message too big: the gateway accepts up to {_options.MaxMessageBytes} bytes (--max-message)").ConfigureAwait(false);
        }
        catch (WebReplException ex)
        {
            closeReason = "the connection was lost: " + ex.Message;
        }
        finally
        {
            await _board.FlushAsync().ConfigureAwait(false);
            await LeaveAsync(client, closeStatus, closeReason).ConfigureAwait(false);
        }
    }

    /// <summary>The session for <c>GET /api/sessions</c>.</summary>
    public SessionInfo Describe()
    {
        lock (_gate)
        {
            string? transfer = _transfers.Describe();
            return new SessionInfo(
                Target.ToString(),
                Name,
                _state switch
                {
                    SessionState.Connecting => "connecting",
                    SessionState.LoggingIn => "logging-in",
                    SessionState.LoggedIn => "logged-in",
                    _ => "closing",
                },
                Since,
                _board.BytesOut,
                _board.BytesIn,
                transfer,
                _clients.Describe());
        }
    }

    /// <summary>Called by the registry's timer: ends an idle session, pings idle clients, releases a stalled transfer.</summary>
    public void CheckTimers(long now)
    {
        if (_options.IdleTimeout > TimeSpan.Zero && now - Interlocked.Read(ref _lastActivity) > (long)_options.IdleTimeout.TotalMilliseconds)
        {
            End(CloseReason.GoingAway, $"no activity for {_options.IdleTimeout.TotalSeconds:0} s (--idle-timeout)");
            return;
        }

        _clients.CheckTimers(now, Drop);
        _transfers.CheckStall(now);
    }

    private void Touch() => Interlocked.Exchange(ref _lastActivity, Environment.TickCount64);

    private async ValueTask<bool> OnClientFrameAsync(GatewayClient client, WebSocketFrame frame)
    {
        ClientState state;
        SessionState sessionState;
        lock (_gate)
        {
            state = client.State;
            sessionState = _state;
        }

        if (state is ClientState.LoggingIn or ClientState.AwaitingPassword)
        {
            return await _login.OnFrameAsync(client, frame, state, sessionState == SessionState.Connecting).ConfigureAwait(false);
        }

        return await ForwardAsync(client, frame.Payload, frame.Type, frame.EndOfMessage).ConfigureAwait(false);
    }

    /// <summary>
    /// An authenticated client's frame: text to the board at once, binary through the transfer queue. When the
    /// client's next frame is already here (a burst: a PUT, a paste), the write waits in the board connection's
    /// send buffer for it, so that a burst costs one write; the client loop flushes before it waits again.
    /// </summary>
    public async ValueTask<bool> ForwardAsync(GatewayClient client, ReadOnlyMemory<byte> payload, WebSocketFrameType type, bool endOfMessage)
    {
        bool flush = !client.Connection.HasBufferedFrame;
        client.HoldsPutData = false;
        if (client.IsViewer)
        {
            LogViewerInput(_logger, client.Name, payload.Length);
            return true;
        }

        if (type == WebSocketFrameType.Text)
        {
            return await _input.ForwardAsync(client, payload, endOfMessage, flush).ConfigureAwait(false);
        }

        return await _transfers.ForwardAsync(client, payload, endOfMessage, flush).ConfigureAwait(false);
    }

    /// <summary>Writes to the board (<see cref="BoardLink.WriteAsync"/>), and follows a client's fragmented message.</summary>
    public async ValueTask<bool> WriteToBoardAsync(object sender, ReadOnlyMemory<byte> payload, WebSocketFrameType type, bool endOfMessage, bool flush = true)
    {
        if (!await _board.WriteAsync(sender, payload, type, endOfMessage, flush).ConfigureAwait(false))
        {
            return false;
        }

        if (sender is GatewayClient client)
        {
            client.MessageInProgress = endOfMessage ? null : type;
        }

        return true;
    }

    /// <summary>What a client's leaving undoes (<see cref="Detach"/>).</summary>
    private readonly record struct Departure(
        bool Last,
        bool OpenerLeftEarly,
        TransferLeave Transfer,
        string? Operation,
        bool LeftRaw,
        bool LeftPasting,
        bool DrainText,
        WebSocketFrameType? Unfinished);

    /// <summary>Takes a client out of the session and its machines (under the lock); null when it had left already.</summary>
    private Departure? Detach(GatewayClient client)
    {
        lock (_gate)
        {
            if (!_clients.Remove(client))
            {
                return null;
            }

            _registry.LoginDone(client);
            bool last = _clients.Count == 0;
            if (last)
            {
                // No one may join a session whose board is being closed: a new client opens a new session, which
                // connects once this one has let go of the board.
                _state = SessionState.Closing;
            }

            var unfinished = ReferenceEquals(_board.MidMessage, client) ? client.MessageInProgress : null;
            bool openerLeftEarly = ReferenceEquals(client, _clients.Opener) && _state is SessionState.Connecting or SessionState.LoggingIn && !last;
            bool othersStay = !last && _state != SessionState.Closing;

            // Its raw REPL ends with it: the board goes back to the friendly REPL for the others (a raw-paste
            // under way is ended with Ctrl-C first: in raw-paste, Ctrl-B would be taken as code).
            _input.Arbiter.Leave(client, othersStay, out bool leftRaw, out bool leftPasting, out bool drainText);
            var transfer = _transfers.Arbiter.Leave(client, othersStay);
            _relay.Forget(client);
            _clients.RefreshReceivers();
            return new Departure(last, openerLeftEarly, transfer, _transfers.Arbiter.Operation, leftRaw, leftPasting, drainText, unfinished);
        }
    }

    /// <summary>Takes a client out of the session and undoes what it leaves behind (<see cref="Detach"/>).</summary>
    public async Task LeaveAsync(GatewayClient client, int? status, string reason)
    {
        if (Detach(client) is not { } departure)
        {
            return;
        }

        var (last, openerLeftEarly, transfer, operation, leftRaw, leftPasting, drainText, unfinished) = departure;
        LogLeft(_logger, client.Name, BoardText, reason);
        if (transfer is not (TransferLeave.None or TransferLeave.EndSession))
        {
            LogAbandoned(_logger, client.Name, operation ?? "a request", BoardText);
        }

        if (unfinished is { } type)
        {
            // End the client's fragmented message so that the board's framing stays whole.
            await WriteToBoardAsync(client, ReadOnlyMemory<byte>.Empty, type, true).ConfigureAwait(false);
        }

        await _input.AfterLeaveAsync(client, leftRaw, leftPasting, drainText).ConfigureAwait(false);

        if (last)
        {
            await CloseBoardAsync(status, reason).ConfigureAwait(false);
        }
        else if (openerLeftEarly)
        {
            End(CloseReason.InternalError, "the client that opened the board left before logging in; connect again");
        }
        else if (transfer == TransferLeave.EndSession)
        {
            // The board holds the start of a request record that no one can complete sensibly (a GET that ended with
            // more than two requests unanswered leaves them as a record with op 0, which the board fails on).
            End(CloseReason.InternalError, $"client {client.Name} left the board inside a file request it cannot finish: connect again");
        }
        else
        {
            await _transfers.AfterLeaveAsync(transfer).ConfigureAwait(false);
        }

        await client.DisposeAsync().ConfigureAwait(false);
    }

    private async Task CloseBoardAsync(int? status, string reason)
    {
        if (!_board.IsConnected)
        {
            // Still connecting: finish connecting, so that the board gets a proper close frame with the status.
            await _connected.Task.WaitAsync(_options.ConnectTimeout).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        lock (_gate)
        {
            _endCode ??= CloseReason.Normal;
            _endReason ??= "the last client left";
        }

        if (!await _board.CloseAsync(status, reason).ConfigureAwait(false))
        {
            End(CloseReason.Normal, "the last client left");
            return;
        }

        // A board that does not answer the close is dropped after a moment.

        try
        {
            _stop.CancelAfter(TimeSpan.FromSeconds(2));
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task RunBoardAsync(Task? previous)
    {
        int code = CloseReason.Normal;
        string reason = "the board closed the connection";
        try
        {
            if (previous is not null)
            {
                await previous.WaitAsync(_stop.Token).ConfigureAwait(false);
            }

            var frame = await _board.ConnectAsync(OnConnected, () => _registry.ReleasedRecently(Key)).ConfigureAwait(false);

            while (true)
            {
                if (frame.Type == WebSocketFrameType.Close)
                {
                    (code, reason) = BoardLink.CloseOf(frame, _login.Machine.DeniedSeen);
                    break;
                }

                Touch();
                if (frame.Type == WebSocketFrameType.Text)
                {
                    await OnBoardTextAsync(frame).ConfigureAwait(false);
                }
                else
                {
                    await _transfers.OnBoardBinaryAsync(frame).ConfigureAwait(false);
                }

                frame = await _board.ReceiveAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            reason = "closed by the gateway";
        }
        catch (WebReplException ex)
        {
            bool connected = _board.IsConnected;

            (code, reason) = connected
                ? (CloseReason.InternalError, "the connection to the board was lost: " + ex.Message)
                : (CloseReason.InternalError, ex.Message);
            if (!connected)
            {
                LogConnectFailed(_logger, BoardText, ex.Message);
            }
        }
        finally
        {
            await CleanUpAsync(code, reason).ConfigureAwait(false);
        }
    }

    private void OnConnected()
    {
        lock (_gate)
        {
            if (_state == SessionState.Connecting)
            {
                _state = SessionState.LoggingIn;
            }
        }

        LogConnected(_logger, BoardText, _address?.ToString() ?? Target.Host);
        _connected.TrySetResult();
    }

    private async Task OnBoardTextAsync(WebSocketFrame frame)
    {
        if (!await _relay.WaitAsync(_stop.Token).ConfigureAwait(false))
        {
            return; // the session ends
        }

        try
        {
            await BroadcastTextAsync(frame).ConfigureAwait(false);
        }
        finally
        {
            _relay.Release();
        }
    }

    private async Task BroadcastTextAsync(WebSocketFrame frame)
    {
        GatewayClient[] receivers;
        bool loggingIn;
        bool loggedIn = false;
        var view = RawReplView.None;
        GatewayClient? rawOwner = null;
        lock (_gate)
        {
            loggingIn = _state == SessionState.LoggingIn;
            if (loggingIn)
            {
                loggedIn = _login.OnBoardText(frame.Payload.Span, _clients, out receivers);
                if (loggedIn)
                {
                    _state = SessionState.LoggedIn;
                }
            }
            else
            {
                receivers = _clients.Receivers;
                view = _input.OnBoardText(frame.Payload.Span, out rawOwner);
            }
        }

        if (loggedIn)
        {
            await _login.CompleteAsync(_clients.Opener!).ConfigureAwait(false);
        }

        if (!loggedIn && receivers.Length > 0)
        {
            await _relay.SendAsync(receivers, frame, view, rawOwner).ConfigureAwait(false);
            return;
        }

        await _relay.SendAsIsAsync(receivers, frame).ConfigureAwait(false);
    }

    /// <summary>A client that does not take its output within the send timeout is closed; the others go on.</summary>
    public void Drop(GatewayClient client)
    {
        LogClientDropped(_logger, client.Name, $"it did not take the board's output within {_options.ClientSendTimeout.TotalSeconds:0} s");
        _ = client.CloseAsync(CloseReason.PolicyViolation, "too slow: the client did not read the board's output");
        client.Abort();
    }

    private async Task CleanUpAsync(int code, string reason)
    {
        GatewayClient[] clients;
        lock (_gate)
        {
            _state = SessionState.Closing;
            code = _endCode ?? code;
            reason = _endReason ?? reason;
            clients = _clients.ToArray();
            _clients.ClearReceivers();
            _login.Machine.Dispose();
        }

        _connected.TrySetResult();
        _login.End();
        await Task.WhenAll(clients.Select(c => c.CloseAsync(code, reason))).ConfigureAwait(false);
        await _board.DisposeAsync().ConfigureAwait(false);

        _registry.Remove(this);
        LogEnded(_logger, BoardText, reason, _board.BytesOut, _board.BytesIn);
        _released.TrySetResult();
    }
}
