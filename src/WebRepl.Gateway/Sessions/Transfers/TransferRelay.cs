using System.Diagnostics;
using Microsoft.Extensions.Logging;
using WebRepl.Transport;
using static WebRepl.Gateway.Sessions.SessionLog;

namespace WebRepl.Gateway.Sessions;

/// <summary>
/// Carries out the <see cref="TransferArbiter{TClient}"/>'s decisions on binary frames: a client's records and PUT
/// data written to the board (or held for their turn and pumped in order), the board's replies back to the client
/// whose request it is, GET chunks asked for ahead, and a transfer whose client left finished by the gateway. Called
/// by the <see cref="BoardSession"/>; the arbiter is called under the session's lock.
/// </summary>
#pragma warning disable CA1001 // Its semaphore has no wait handle: nothing to release, and late pumps may still touch it.
internal sealed class TransferRelay(ISessionCore session, BoardLink board, GatewayOptions options, ILogger logger)
#pragma warning restore CA1001
{
    /// <summary>
    /// A client's frames closer together than this stream fast: the gap under which a PUT's data is held. A PUT's data
    /// from a client that streams fast is written to the board in pieces of <see cref="PutHoldBytes"/> at least (its
    /// last frame at once): one write, and one wake-up of the board, per piece instead of per frame or two. From a
    /// slower client (a browser far away) every frame goes on at once, so that the board never waits for the gateway.
    /// </summary>
    public static readonly long PutHoldGap = Stopwatch.Frequency / 5000; // 0.2 ms

    private const int PutHoldBytes = 32 * 1024;

    private static readonly byte[] MoreRequest = [0];

    private readonly SemaphoreSlim _pump = new(1, 1);

    /// <summary>The state machine (call it under the session's lock).</summary>
    public TransferArbiter<GatewayClient> Arbiter { get; } = new();

    /// <summary>The transfer under way for <c>GET /api/sessions</c>, or null (under the session's lock).</summary>
    public string? Describe() =>
        Arbiter.Operation is { } op ? $"{op} by {(Arbiter.Owner?.Name ?? (Arbiter.Abandoned ? "the gateway (its client left)" : "?"))}" : null;

    /// <summary>Binary data: straight to the board when nothing stands in its way, else held for its turn (<see cref="TransferArbiter{TClient}"/>).</summary>
    public async ValueTask<bool> ForwardAsync(GatewayClient client, ReadOnlyMemory<byte> payload, bool endOfMessage, bool flush)
    {
        const WebSocketFrameType type = WebSocketFrameType.Binary;
        bool mayHold = false;
        bool direct;
        bool idleNow = false;
        bool readAhead = false;
        lock (session.Gate)
        {
            direct = Arbiter.TryGoDirect(client, ref payload, session.IsClosing, Environment.TickCount64, out bool midPut);
            if (direct)
            {
                // Held only between two data frames of a PUT: never its record (the client waits for the board's
                // answer to it), never its last frame (the board answers once all has come).
                mayHold = midPut && client.StreamingFast;
                readAhead = payload.IsEmpty && TakeReadAhead();
                idleNow = Arbiter.IsIdle;
            }
        }

        if (direct && payload.IsEmpty && endOfMessage && client.MessageInProgress is null)
        {
            // Only the request byte the gateway already sent for it (GET read-ahead): the client has caught up, so
            // the next chunk may be asked for now; when it was the last thing the transfer waited for, a waiting
            // client may go.
            if (readAhead)
            {
                return await session.WriteAsSessionAsync(MoreRequest, WebSocketFrameType.Binary).ConfigureAwait(false);
            }

            if (idleNow)
            {
                await PumpAsync().ConfigureAwait(false);
            }

            return true;
        }

        if (direct)
        {
            // Held by the pump's semaphore so that a pump started by a reply cannot overtake this frame.
            await _pump.WaitAsync(client.Stopping).ConfigureAwait(false);
            try
            {
                client.HoldsPutData = mayHold && board.BufferedSendBytes + payload.Length < PutHoldBytes;
                flush &= !client.HoldsPutData;

                return await session.WriteToBoardAsync(client, payload, type, endOfMessage, flush).ConfigureAwait(false);
            }
            finally
            {
                _pump.Release();
            }
        }

        return await HoldAsync(client, payload, endOfMessage).ConfigureAwait(false);
    }

    /// <summary>The board's binary frame: to the client whose request it is, and the next chunk asked for ahead.</summary>
    public async Task OnBoardBinaryAsync(WebSocketFrame frame)
    {
        GatewayClient? receiver;
        bool idle;
        bool askChunk;
        bool readAhead = false;
        lock (session.Gate)
        {
            // Replies belong to the client whose request it is; anything else (a board does not send binary
            // unasked) goes to the last requester, or to the client that opened the session.
            receiver = Arbiter.OnBoardBytes(frame.Payload.Span, Environment.TickCount64, session.PresentOpener, out askChunk, out idle);
            // The owner will ask for the next chunk as soon as it has this one: ask now (see TransferTracker).
            readAhead = TakeReadAhead();
        }

        if (readAhead)
        {
            await session.WriteAsSessionAsync(MoreRequest, WebSocketFrameType.Binary).ConfigureAwait(false);
        }

        if (receiver is not null && !await receiver.SendAsync(frame.Payload, WebSocketFrameType.Binary, frame.EndOfMessage).ConfigureAwait(false))
        {
            session.Drop(receiver);
        }

        if (askChunk)
        {
            await AskAbandonedChunkAsync().ConfigureAwait(false);
        }
        else if (idle)
        {
            _ = PumpAsync();
        }
    }

    /// <summary>Releases a transfer that stalled (the registry's timer); its waiting clients go on.</summary>
    public void CheckStall(long now)
    {
        GatewayClient? stalled;
        bool released;
        lock (session.Gate)
        {
            released = Arbiter.CheckStall(now, (long)options.TransferStallTimeout.TotalMilliseconds, out stalled);
        }

        if (released)
        {
            LogTransferStalled(logger, stalled?.Name ?? "the gateway (its client left)", session.BoardText, options.TransferStallTimeout.TotalSeconds);
            _ = PumpAsync();
        }
    }

    /// <summary>
    /// Sends held binary frames to the board: the owner's while its request is under way, then the next waiting
    /// client's, in the order they asked. One pump at a time.
    /// </summary>
    public async Task PumpAsync()
    {
        try
        {
            await _pump.WaitAsync(session.Stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        try
        {
            while (true)
            {
                GatewayClient sender;
                ReadOnlyMemory<byte> payload;
                bool endOfMessage;
                lock (session.Gate)
                {
                    if (!Arbiter.TryNext(board.MidMessage, session.IsClosing, Environment.TickCount64, out sender, out payload, out endOfMessage))
                    {
                        return;
                    }
                }

                if (!await session.WriteToBoardAsync(sender, payload, WebSocketFrameType.Binary, endOfMessage).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        finally
        {
            _pump.Release();
        }
    }

    /// <summary>After a client left (<see cref="TransferArbiter{TClient}.Leave"/>): its PUT finished with zeros, its GET drained, or the next waiting client's turn.</summary>
    public async Task AfterLeaveAsync(TransferLeave leave)
    {
        if (leave == TransferLeave.FinishPut)
        {
            await FinishAbandonedPutAsync().ConfigureAwait(false);
        }
        else if (leave == TransferLeave.AskChunk)
        {
            await AskAbandonedChunkAsync().ConfigureAwait(false);
        }
        else
        {
            _ = PumpAsync();
        }
    }

    /// <summary>A PUT whose client left: the board expects the rest of the file; zeros keep it in step (the file is incomplete anyway).</summary>
    private async Task FinishAbandonedPutAsync()
    {
        byte[] zeros = new byte[16 * 1024];
        while (true)
        {
            int n;
            lock (session.Gate)
            {
                n = (int)Math.Min(zeros.Length, Arbiter.PutRemaining);
                Arbiter.OnGatewayBytes(zeros.AsSpan(0, n), Environment.TickCount64);
            }

            if (n == 0 || !await session.WriteAsSessionAsync(zeros.AsMemory(0, n), WebSocketFrameType.Binary).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    /// <summary>A GET whose client left: asks for the remaining chunks (replies are dropped) until the board ends the file.</summary>
    public async Task AskAbandonedChunkAsync()
    {
        lock (session.Gate)
        {
            Arbiter.OnGatewayBytes(MoreRequest, Environment.TickCount64);
        }

        await session.WriteAsSessionAsync(MoreRequest, WebSocketFrameType.Binary).ConfigureAwait(false);
    }

    /// <summary>A frame that must wait for another client's transfer: held, or the client closed when it holds too much.</summary>
    private async ValueTask<bool> HoldAsync(GatewayClient client, ReadOnlyMemory<byte> payload, bool endOfMessage)
    {
        bool held;
        bool queued;
        lock (session.Gate)
        {
            held = Arbiter.Hold(client, payload, endOfMessage, Math.Max(4L * options.MaxMessageBytes, 1 << 20), out queued);
        }

        if (queued)
        {
            LogHeld(logger, client.Name, Arbiter.Owner?.Name ?? "the gateway", session.BoardText);
        }

        if (!held)
        {
            LogClientDropped(logger, client.Name, "too much binary data held while another client's file transfer ran");
            await client.CloseAsync(CloseReason.PolicyViolation, "too much binary data sent while another client's file transfer was under way").ConfigureAwait(false);
            return false;
        }

        await PumpAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>True when the gateway should ask the board for the owner's next GET chunk now (under the lock; see <see cref="TransferArbiter{TClient}.TakeReadAhead"/>).</summary>
    private bool TakeReadAhead() =>
        Arbiter.TakeReadAhead(options.GetReadAhead && !session.IsClosing && board.MidMessage is null);
}
