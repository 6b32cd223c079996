namespace WebRepl.Gateway.Sessions;

/// <summary>What the session does when a client that owned the board's transfer leaves (<see cref="TransferArbiter{TClient}.Leave"/>).</summary>
internal enum TransferLeave
{
    /// <summary>Nothing was under way: the next waiting client may go.</summary>
    None,

    /// <summary>It left inside a request record, which nothing can complete sensibly: the session ends.</summary>
    EndSession,

    /// <summary>It left during a PUT: the gateway sends the rest of the file as zeros (<see cref="TransferArbiter{TClient}.PutRemaining"/>).</summary>
    FinishPut,

    /// <summary>It left during a GET: the gateway asks for the remaining chunks and drops them.</summary>
    AskChunk,

    /// <summary>It left while the board's replies were under way: the gateway drops them as they come.</summary>
    AwaitReplies,
}

/// <summary>
/// Who has the board's binary half (docs/gateway.md, "Sharing"): one client's request at a time, from its record to
/// the board's last reply (<see cref="TransferTracker"/> knows when that is); the others' binary frames are held, in
/// order, and go when it is their turn. A client that leaves during its request has it finished by the gateway, so
/// that the board stays in step for the others; one that stalls is released by the session's timer.
/// <para>
/// GET read-ahead: right after a chunk arrives the gateway asks for the next one on the owner's behalf
/// (<see cref="TakeReadAhead"/>); the owner's own request byte, when it comes, is then dropped.
/// </para>
/// Pure: no I/O, no clock (the caller passes <see cref="Environment.TickCount64"/>). The session calls it under its lock.
/// </summary>
/// <typeparam name="TClient">The session's client (compared by reference).</typeparam>
internal sealed class TransferArbiter<TClient>
    where TClient : class
{
    private readonly TransferTracker _transfer = new();
    private readonly List<TClient> _waiting = [];
    private readonly Dictionary<TClient, Held> _held = new(ReferenceEqualityComparer.Instance);
    private long _lastProgress = Environment.TickCount64;

    /// <summary>The client whose request is under way (or whose turn it is), or null.</summary>
    public TClient? Owner { get; private set; }

    /// <summary>The client that asked last: the board's unasked binary output goes to it.</summary>
    public TClient? LastOwner { get; private set; }

    /// <summary>True while the gateway finishes the request of a client that left.</summary>
    public bool Abandoned { get; private set; }

    /// <summary>The request under way, for logs and the session list; null when none is.</summary>
    public string? Operation => _transfer.Operation;

    /// <summary>True when no request is under way.</summary>
    public bool IsIdle => _transfer.IsIdle;

    /// <summary>Bytes of the PUT's file still to be sent to the board.</summary>
    public long PutRemaining => _transfer.PutRemaining;

    /// <summary>
    /// A client's binary frame, when nothing stands in its way (the usual case, one client transferring: nothing
    /// queued, nobody else's request under way): it becomes the owner and <paramref name="payload"/> is what goes
    /// to the board, in order, without the queue. <paramref name="midPut"/>: the frame is PUT data, not its last
    /// (it may wait in the board's send buffer for more). False: the frame must be held (<see cref="Hold"/>).
    /// </summary>
    public bool TryGoDirect(TClient client, ref ReadOnlyMemory<byte> payload, bool closing, long now, out bool midPut)
    {
        midPut = false;
        if (HeldCount(client) > 0 || Abandoned || closing || !(ReferenceEquals(Owner, client) || (Owner is null && _waiting.Count == 0)))
        {
            return false;
        }

        Owner = client;
        LastOwner = client;
        bool putData = _transfer.PutRemaining > 0;
        payload = TakeClientBinary(client, payload, now);
        midPut = putData && _transfer.PutRemaining > 0;
        return true;
    }

    /// <summary>
    /// Holds a client's binary frame until it is its turn. False when the client has more than
    /// <paramref name="limit"/> bytes held (it is to be closed); <paramref name="queued"/>: it now waits behind
    /// another client's request.
    /// </summary>
    public bool Hold(TClient client, ReadOnlyMemory<byte> payload, bool endOfMessage, long limit, out bool queued)
    {
        queued = false;
        if (!_held.TryGetValue(client, out var held))
        {
            held = new Held();
            _held.Add(client, held);
        }

        if (held.Bytes + payload.Length > limit)
        {
            return false;
        }

        held.Frames.Enqueue((payload, endOfMessage));
        held.Bytes += payload.Length;
        if (!ReferenceEquals(client, Owner) && !_waiting.Contains(client))
        {
            _waiting.Add(client);
            queued = Owner is not null || Abandoned;
        }

        return true;
    }

    /// <summary>
    /// The next held frame to write to the board: the owner's while its request is under way, then the next waiting
    /// client's, in the order they asked. False when none can go. <paramref name="midMessage"/>: the writer whose
    /// fragmented message has the board (its request is not over before the message is).
    /// </summary>
    public bool TryNext(object? midMessage, bool closing, long now, out TClient sender, out ReadOnlyMemory<byte> payload, out bool endOfMessage)
    {
        (sender, payload, endOfMessage) = (null!, default, false);
        while (!Abandoned && !closing)
        {
            if (Owner is { } previous && _transfer.IsIdle && !ReferenceEquals(midMessage, previous))
            {
                // Its request is complete: the next client in line may go (the owner queues again behind it).
                Owner = null;
                if (HeldCount(previous) > 0 && !_waiting.Contains(previous))
                {
                    _waiting.Add(previous);
                }
            }

            if (Owner is null)
            {
                int next = _waiting.FindIndex(c => HeldCount(c) > 0);
                if (next < 0)
                {
                    return false;
                }

                Owner = _waiting[next];
                LastOwner = Owner;
                _waiting.RemoveAt(next);
            }

            if (!_held.TryGetValue(Owner, out var held) || held.Frames.Count == 0)
            {
                return false;
            }

            sender = Owner;
            (payload, endOfMessage) = held.Frames.Dequeue();
            held.Bytes -= payload.Length;
            payload = TakeClientBinary(sender, payload, now);
            if (!payload.IsEmpty || !endOfMessage || ReferenceEquals(midMessage, sender))
            {
                return true;
            }

            // Only the request byte the gateway already sent for it (GET read-ahead): nothing to write.
        }

        return false;
    }

    /// <summary>
    /// The board's binary output. Returns the client it goes to (replies belong to the client whose request it is;
    /// anything else, which a board does not send unasked, to the last requester, else <paramref name="fallback"/>),
    /// or null while the gateway finishes a request for a client that left. <paramref name="askChunk"/>: ask the
    /// board for the next chunk of such a GET; <paramref name="idle"/>: the request is over, the next may go.
    /// </summary>
    public TClient? OnBoardBytes(ReadOnlySpan<byte> data, long now, TClient? fallback, out bool askChunk, out bool idle)
    {
        _transfer.OnBoardBytes(data);
        _lastProgress = now;
        var receiver = Abandoned ? null : Owner ?? LastOwner ?? fallback;
        idle = _transfer.IsIdle;
        askChunk = false;
        if (Abandoned)
        {
            Abandoned = !idle;
            askChunk = !idle && _transfer.GetNeedsRequest;
        }

        return receiver;
    }

    /// <summary>
    /// True when the gateway should ask the board for the owner's next GET chunk now: right after a chunk arrives,
    /// or, when the chunk came before the owner's byte for it, as soon as that byte comes. <paramref name="allowed"/>:
    /// read-ahead is on, the session is not closing, and no fragmented message has the board.
    /// </summary>
    public bool TakeReadAhead(bool allowed)
    {
        if (!_transfer.ReadAheadDue || !allowed || Abandoned || Owner is null)
        {
            return false;
        }

        _transfer.OnGatewayRequest();
        return true;
    }

    /// <summary>Bytes the gateway writes for a request whose client left (a PUT's zeros, a GET's chunk request).</summary>
    public void OnGatewayBytes(ReadOnlySpan<byte> data, long now)
    {
        _transfer.OnClientBytes(data);
        _lastProgress = now;
    }

    /// <summary>
    /// The session's timer: a request without progress for <paramref name="timeoutMs"/> is released so that the
    /// others can go on. True when it was; <paramref name="stalled"/> is its client (null when the gateway's own).
    /// </summary>
    public bool CheckStall(long now, long timeoutMs, out TClient? stalled)
    {
        stalled = Owner;
        if ((Owner is null && !Abandoned) || _transfer.IsIdle || now - _lastProgress <= timeoutMs)
        {
            return false;
        }

        if (Owner is { } owner && _held.TryGetValue(owner, out var held))
        {
            // Request bytes the gateway sent for it (read-ahead) must not reach the board again when it wakes.
            held.Owed += _transfer.TakeOwed();
        }
        else if (Owner is { } alone)
        {
            _held.Add(alone, new Held { Owed = _transfer.TakeOwed() });
        }

        _transfer.Reset();
        Owner = null;
        Abandoned = false;
        return true;
    }

    /// <summary>
    /// A client left: what it held goes. When it owned a request under way and <paramref name="othersStay"/>, says how
    /// the request is to be finished for the others' sake.
    /// </summary>
    public TransferLeave Leave(TClient client, bool othersStay)
    {
        _waiting.Remove(client);
        _held.Remove(client);
        if (ReferenceEquals(LastOwner, client))
        {
            LastOwner = null;
        }

        if (!ReferenceEquals(client, Owner))
        {
            return TransferLeave.None;
        }

        Owner = null;
        _transfer.ForgetOwed();
        if (_transfer.IsIdle || !othersStay)
        {
            return TransferLeave.None;
        }

        if (_transfer.InsideRecord)
        {
            return TransferLeave.EndSession;
        }

        Abandoned = true;
        return _transfer.PutRemaining > 0 ? TransferLeave.FinishPut : _transfer.GetNeedsRequest ? TransferLeave.AskChunk : TransferLeave.AwaitReplies;
    }

    private int HeldCount(TClient client) => _held.TryGetValue(client, out var held) ? held.Frames.Count : 0;

    /// <summary>
    /// A requesting client's binary data on its way to the board: the transfer follows it, and the leading bytes
    /// that are GET request bytes the gateway sent for it already are left out.
    /// </summary>
    private ReadOnlyMemory<byte> TakeClientBinary(TClient client, ReadOnlyMemory<byte> payload, long now)
    {
        if (_held.TryGetValue(client, out var held) && held.Owed > 0)
        {
            int owed = Math.Min(held.Owed, payload.Length);
            held.Owed -= owed;
            payload = payload[owed..];
        }

        _lastProgress = now;
        return payload[_transfer.OnClientBytes(payload.Span)..];
    }

    /// <summary>A client's frames waiting for the board, and request bytes it owes from a released transfer.</summary>
    private sealed class Held
    {
        public Queue<(ReadOnlyMemory<byte> Payload, bool EndOfMessage)> Frames { get; } = new();

        public long Bytes { get; set; }

        public int Owed { get; set; }
    }
}
