using Microsoft.Extensions.Logging;
using WebRepl.Transport;
using static WebRepl.Gateway.Sessions.SessionLog;

namespace WebRepl.Gateway.Sessions;

/// <summary>
/// Carries out the <see cref="RawReplArbiter{TClient}"/>'s decisions on the clients' terminal input: written to the
/// board, held while another client's raw REPL runs (its Ctrl-C goes on at once), drained in the order it was typed,
/// and a raw REPL claim confirmed or let go. Called by the <see cref="BoardSession"/>; the arbiter is called under
/// the session's lock.
/// </summary>
internal sealed class InputRelay(ISessionCore session, OutputRelay output, Func<GatewayClient[]> receivers, ILogger logger)
{
    private static readonly byte[] RawHoldNotice =
        "\r\n[gateway] Another client is running code on the board (raw REPL): what you type is sent when it is done. Ctrl-C interrupts it.\r\n"u8.ToArray();

    private static readonly byte[] HeldTextFullNotice =
        "\r\n[gateway] Input dropped: too much typed while another client's code runs.\r\n"u8.ToArray();

    private static readonly byte[] LeaveRawRepl = [0x02];

    private static readonly byte[] EndPasteAndLeaveRawRepl = [0x03, 0x02];

    /// <summary>The state machine (call it under the session's lock).</summary>
    public RawReplArbiter<GatewayClient> Arbiter { get; } = new();

    /// <summary>Terminal input: to the board, or held for another client's raw REPL (<see cref="RawReplArbiter{TClient}"/>).</summary>
    public async ValueTask<bool> ForwardAsync(GatewayClient client, ReadOnlyMemory<byte> payload, bool endOfMessage, bool flush)
    {
        InputDecision decision;
        lock (session.Gate)
        {
            decision = Arbiter.OnInput(client, payload.Span, endOfMessage && client.MessageInProgress is null);
        }

        ArmRawReplTimer(decision.Claim);
        bool written = true;
        if (decision.Write)
        {
            written = await session.WriteToBoardAsync(client, payload, WebSocketFrameType.Text, endOfMessage, flush).ConfigureAwait(false);
        }
        else if (decision.Interrupts > 0)
        {
            written = await session.WriteToBoardAsync(client, Enumerable.Repeat((byte)0x03, decision.Interrupts).ToArray(), WebSocketFrameType.Text, true).ConfigureAwait(false);
        }

        if (written && decision.Notice != InputNotice.None)
        {
            written = await output.TellAsync(client, decision.Notice == InputNotice.Held ? RawHoldNotice : HeldTextFullNotice).ConfigureAwait(false);
        }

        if (decision.Drain)
        {
            await DrainAsync().ConfigureAwait(false);
        }

        return written;
    }

    /// <summary>The board's text seen against a raw REPL claim (under the session's lock); <paramref name="owner"/>: the claiming client, if any.</summary>
    public RawReplView OnBoardText(ReadOnlySpan<byte> text, out GatewayClient? owner)
    {
        owner = Arbiter.Owner;
        var view = Arbiter.OnBoardText(text);
        if (view == RawReplView.Confirmed)
        {
            LogRawRepl(logger, owner!.Name, session.BoardText, true);
        }

        return view;
    }

    /// <summary>
    /// After a client left (<see cref="RawReplArbiter{TClient}.Leave"/>): when it was in the raw REPL, the board goes back
    /// to the friendly REPL for the others (a raw-paste under way is ended with Ctrl-C first: in raw-paste, Ctrl-B would
    /// be taken as code); then the others' held input goes on when <paramref name="drain"/>.
    /// </summary>
    public async Task AfterLeaveAsync(GatewayClient client, bool leftRaw, bool pasting, bool drain)
    {
        if (leftRaw)
        {
            LogRawRepl(logger, client.Name, session.BoardText, false);
            await session.WriteAsSessionAsync(pasting ? EndPasteAndLeaveRawRepl : LeaveRawRepl, WebSocketFrameType.Text).ConfigureAwait(false);
        }

        if (drain)
        {
            await DrainAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Sends held input in the order it was typed (see <see cref="RawReplArbiter{TClient}.TryTakeHeld"/>).</summary>
    public async Task DrainAsync()
    {
        while (true)
        {
            ReadOnlyMemory<byte> payload;
            long? claim;
            lock (session.Gate)
            {
                if (!Arbiter.TryTakeHeld(session.IsClosing, out _, out payload, out claim))
                {
                    return;
                }
            }

            ArmRawReplTimer(claim);
            // As the session: a client in the middle of a fragmented message of its own does not get this inside it.
            if (!await session.WriteAsSessionAsync(payload, WebSocketFrameType.Text).ConfigureAwait(false))
            {
                lock (session.Gate)
                {
                    Arbiter.StopDraining();
                }

                return;
            }
        }
    }

    /// <summary>A raw REPL claim's timer: a Ctrl-A that the board did not answer with its banner in time was not raw REPL.</summary>
    private void ArmRawReplTimer(long? claim)
    {
        if (claim is { } id)
        {
            _ = ConfirmRawReplAsync(id);
        }
    }

    private async Task ConfirmRawReplAsync(long claim)
    {
        try
        {
            await Task.Delay(RawReplArbiter<GatewayClient>.ConfirmTimeout, session.Stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        bool drain;
        lock (session.Gate)
        {
            if (!Arbiter.OnConfirmTimeout(claim, out drain))
            {
                return;
            }
        }

        // The others' input goes on, and what they were not shown of the board's answer goes out.
        await output.ReleaseHeldAsync(ReceiversUnlessOnTrial, session.Stopping).ConfigureAwait(false);
        if (drain)
        {
            await DrainAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Who gets output held on a raw REPL claim that was released, or null when a claim is on trial again.</summary>
    private GatewayClient[]? ReceiversUnlessOnTrial()
    {
        lock (session.Gate)
        {
            return Arbiter.OnTrial ? null : receivers();
        }
    }
}
