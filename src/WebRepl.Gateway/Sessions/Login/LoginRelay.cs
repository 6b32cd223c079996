using Microsoft.Extensions.Logging;
using WebRepl.Transport;
using static WebRepl.Gateway.Sessions.SessionLog;

namespace WebRepl.Gateway.Sessions;

/// <summary>
/// Carries out the <see cref="LoginGate"/>'s part: a client's way in. The board asks <c>Password: </c> once per
/// connection. The first client answers the board itself (or the gateway types the password it holds); the gateway
/// keeps that line (in memory only) once the board accepts it. A client that joins later is asked <c>Password: </c>
/// by the gateway, which compares its line with the accepted one as the board would and answers as the board would
/// (<c>WebREPL connected</c> or <c>Access denied</c>, slowly when wrong): sharing never skips the password. A viewer
/// must know the password too; its input is then dropped. Failures are counted for the lockout.
/// Called by the <see cref="BoardSession"/>; the gate is called under the session's lock.
/// </summary>
internal sealed class LoginRelay(ISessionCore session, SessionRegistry registry, string key, OutputRelay output, GatewayOptions options, ILogger logger)
{
    /// <summary>How long a joiner with a wrong password waits for the answer.</summary>
    internal static readonly TimeSpan WrongPasswordDelay = TimeSpan.FromSeconds(1);

    private readonly TaskCompletionSource<bool> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The state machine (call it under the session's lock).</summary>
    public LoginGate Machine { get; } = new();

    /// <summary>Completes with true once the board accepted the opener's password, false when the session ended before.</summary>
    public Task<bool> Done => _done.Task;

    /// <summary>The session ends: no one waits for a login any more.</summary>
    public void End() => _done.TrySetResult(false);

    /// <summary>
    /// A client's start: the opener answers the board (or the gateway types for it); a joiner is asked for the password,
    /// as the board would ask it (or the gateway answers for it). False when the client has left.
    /// </summary>
    public async Task<bool> GreetAsync(GatewayClient client, bool opener)
    {
        if (opener)
        {
            LogOpened(logger, client.Name, client.Remote, client.Origin ?? "none", session.BoardText, client.IsViewer);
            if (client.AutoPassword is not null)
            {
                _ = TypePasswordForAsync(client);
            }

            return true;
        }

        if (client.AutoPassword is { } password)
        {
            // The gateway answers for it with the board's password it holds (see GatewayOptions.BoardPasswords).
            bool joined = false;
            try
            {
                joined = await CheckJoinerAsync(client, new WebSocketFrame(WebSocketFrameType.Text, password)).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            if (!joined)
            {
                await session.LeaveAsync(client, null, "the gateway's password for the board was not accepted").ConfigureAwait(false);
            }

            return joined;
        }

        if (!await client.SendAsync(LoginGate.Prompt, WebSocketFrameType.Text).ConfigureAwait(false))
        {
            await session.LeaveAsync(client, null, "the client went away").ConfigureAwait(false);
            return false;
        }

        return true;
    }

    /// <summary>A frame from a client not yet authenticated (in <paramref name="state"/> when it came); false when the client is to be closed.</summary>
    public async ValueTask<bool> OnFrameAsync(GatewayClient client, WebSocketFrame frame, ClientState state, bool connecting)
    {
        if (state == ClientState.LoggingIn && client.AutoPassword is not null)
        {
            // The gateway types this client's password: what it sends meanwhile is input for after the login.
            if (!await _done.Task.WaitAsync(client.Stopping).ConfigureAwait(false))
            {
                return false;
            }

            return await session.ForwardAsync(client, frame.Payload, frame.Type, frame.EndOfMessage).ConfigureAwait(false);
        }

        if (state == ClientState.LoggingIn)
        {
            if (connecting)
            {
                // Typed before the board was reached (the board's prompt was not even shown yet): wait for it.
                await session.Connected.WaitAsync(client.Stopping).ConfigureAwait(false);
            }

            lock (session.Gate)
            {
                state = client.State;
                if (state == ClientState.LoggingIn && !client.Password.IsComplete)
                {
                    client.Password.Feed(frame.Payload.Span);
                }
            }

            if (state == ClientState.LoggingIn)
            {
                // Before login every byte is password to the board, whatever the frame type: straight through.
                return await session.WriteToBoardAsync(client, frame.Payload, frame.Type, frame.EndOfMessage).ConfigureAwait(false);
            }
        }

        if (state == ClientState.AwaitingPassword)
        {
            return await CheckJoinerAsync(client, frame).ConfigureAwait(false);
        }

        return await session.ForwardAsync(client, frame.Payload, frame.Type, frame.EndOfMessage).ConfigureAwait(false);
    }

    /// <summary>
    /// The board's text while the opener logs in (under the session's lock): true when the board has just accepted the
    /// password, and the opener is then authenticated. A refusal is counted against the opener that typed it.
    /// <paramref name="receivers"/>: the opener, when it typed the password itself (the prompt and the answer to a
    /// password the gateway typed are not the client's to see: it gets the answer as a board gives it, once accepted).
    /// </summary>
    public bool OnBoardText(ReadOnlySpan<byte> text, ClientRoster clients, out GatewayClient[] receivers)
    {
        var opener = clients.Opener;
        var progress = Machine.OnBoardText(text);
        if (progress.Denied && opener is { AutoPassword: null } denied)
        {
            RecordFailure(denied);
        }
        else if (progress.Denied && opener is not null)
        {
            LogHeldPasswordRefused(logger, session.BoardText);
        }

        receivers = clients.PresentOpener is { AutoPassword: null } present ? [present] : [];
        if (!progress.Accepted || opener is null)
        {
            return false;
        }

        Machine.Accept(opener.Password);
        opener.State = ClientState.Authenticated;
        clients.RefreshReceivers();
        return true;
    }

    /// <summary>The board accepted the opener's password: joiners may be let in.</summary>
    public async Task CompleteAsync(GatewayClient opener)
    {
        registry.LoginDone(opener);
        registry.Logins.RecordSuccess(opener.Address, opener.Origin, key);
        if (opener.AutoPassword is not null && !await opener.SendAsync(LoginGate.ConnectedReply, WebSocketFrameType.Text).ConfigureAwait(false))
        {
            session.Drop(opener);
        }

        _done.TrySetResult(true);
        LogLoggedIn(logger, session.BoardText, opener.Name);
    }

    /// <summary>A joining client's password line: compared with the accepted one once the session is logged in.</summary>
    private async ValueTask<bool> CheckJoinerAsync(GatewayClient client, WebSocketFrame frame)
    {
        int used;
        lock (session.Gate)
        {
            used = client.Password.Feed(frame.Payload.Span);
            if (!client.Password.IsComplete)
            {
                return true;
            }
        }

        if (!await _done.Task.WaitAsync(client.Stopping).ConfigureAwait(false))
        {
            return false; // the session ended before anyone logged in; the end closes this client with the reason
        }

        bool right;
        lock (session.Gate)
        {
            // An address locked out meanwhile gets no more guesses, even on a connection it opened before.
            right = Machine.Admits(client.Password) && !registry.Logins.IsLockedOut(client.Address, client.Origin, key, out _);
        }

        if (!right)
        {
            await DenyAsync(client).ConfigureAwait(false);
            return false;
        }

        if (!await AdmitAsync(client).ConfigureAwait(false))
        {
            return false;
        }

        var rest = frame.Payload[used..];
        return rest.IsEmpty || await session.ForwardAsync(client, rest, frame.Type, frame.EndOfMessage).ConfigureAwait(false);
    }

    /// <summary>A joiner's wrong password: counted, answered as the board would after a pause, and the client closed.</summary>
    private async Task DenyAsync(GatewayClient client)
    {
        if (client.AutoPassword is null)
        {
            LogWrongPassword(logger, client.Name, client.Remote, session.BoardText);
            RecordFailure(client);
        }
        else
        {
            LogHeldPasswordRefused(logger, session.BoardText);
        }

        // A pause before the answer, as login prompts make, so that guessing through the gateway is slow.
        await Task.Delay(WrongPasswordDelay, client.Stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await client.SendAsync(LoginGate.DeniedReply, WebSocketFrameType.Text).ConfigureAwait(false);
        await client.CloseAsync(CloseReason.PolicyViolation, "Access denied: wrong password").ConfigureAwait(false);
    }

    /// <summary>A joiner's right password: it becomes a receiver and is told <c>WebREPL connected</c>; false when it left.</summary>
    private async Task<bool> AdmitAsync(GatewayClient client)
    {
        // A receiver before the answer is on its way: the board's output that follows the answer (the board may print
        // at once, or another client makes it print as soon as this one is in) reaches it. Not after: the answer could
        // reach the client first, and what the board prints meanwhile would be missed.
        int count;
        if (!await output.WaitAsync(client.Stopping).ConfigureAwait(false))
        {
            return false;
        }

        try
        {
            lock (session.Gate)
            {
                count = session.Authenticate(client);
            }

            if (!await client.SendAsync(LoginGate.ConnectedReply, WebSocketFrameType.Text).ConfigureAwait(false))
            {
                return false;
            }
        }
        finally
        {
            output.Release();
        }

        registry.LoginDone(client);
        registry.Logins.RecordSuccess(client.Address, client.Origin, key);
        LogJoined(logger, client.Name, client.Remote, client.Origin ?? "none", session.BoardText, count, client.IsViewer);
        return true;
    }

    /// <summary>Types the board's password for the opener once the board is reached (see GatewayOptions.BoardPasswords).</summary>
    private async Task TypePasswordForAsync(GatewayClient client)
    {
        try
        {
            await session.Connected.WaitAsync(client.Stopping).ConfigureAwait(false);
            byte[] password = client.AutoPassword!;
            lock (session.Gate)
            {
                if (client.State != ClientState.LoggingIn || !session.IsLoggingIn)
                {
                    return;
                }

                client.Password.Feed(password);
            }

            await session.WriteToBoardAsync(client, password, WebSocketFrameType.Text, true).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The client or the session is gone.
        }
    }

    /// <summary>Counts a wrong password from a client, and logs what it locked.</summary>
    private void RecordFailure(GatewayClient client)
    {
        var locked = registry.Logins.RecordFailure(client.Address, client.Origin, key);
        if (locked.HasFlag(Security.LoginGuard.Locked.Client))
        {
            LogLockout(logger, client.Remote, options.LoginLockout.TotalMinutes);
        }

        if (locked.HasFlag(Security.LoginGuard.Locked.Board))
        {
            LogBoardLockout(logger, session.BoardText, options.LoginFailureLimit * Security.LoginGuard.BoardFactor, options.LoginLockout.TotalMinutes);
        }
    }
}
