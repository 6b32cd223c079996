namespace WebRepl.Gateway.Sessions;

/// <summary>What the session does with a client's terminal input (<see cref="RawReplArbiter{TClient}.OnInput"/>).</summary>
/// <param name="Write">Write the input to the board as it is (else it was held, or dropped with a notice).</param>
/// <param name="Interrupts">Held input's Ctrl-C bytes that go to the board at once (0 when none).</param>
/// <param name="Notice">What the gateway tells the client that typed it.</param>
/// <param name="Drain">Start sending held input (<see cref="RawReplArbiter{TClient}.TryTakeHeld"/>).</param>
/// <param name="Claim">A raw REPL claim to confirm: call <see cref="RawReplArbiter{TClient}.OnConfirmTimeout"/> with it after <see cref="RawReplArbiter{TClient}.ConfirmTimeout"/>.</param>
internal readonly record struct InputDecision(bool Write, int Interrupts, InputNotice Notice, bool Drain, long? Claim);

/// <summary>A line the gateway tells a client about its own input.</summary>
internal enum InputNotice
{
    None,

    /// <summary>Its input waits for another client's raw REPL (told once until it is sent).</summary>
    Held,

    /// <summary>Too much input held: this was dropped.</summary>
    Full,
}

/// <summary>The board's output seen against a raw REPL claim (<see cref="RawReplArbiter{TClient}.OnBoardText"/>).</summary>
internal enum RawReplView
{
    /// <summary>No claim waits for the board's answer.</summary>
    None,

    /// <summary>A claim waits, and this is not (yet) the raw REPL banner: it may be the answer to the Ctrl-A.</summary>
    Trial,

    /// <summary>The raw REPL banner: the claim is confirmed.</summary>
    Confirmed,
}

/// <summary>
/// Who has the board's input (docs/gateway.md, "Sharing"). A client that sends Ctrl-A (raw REPL: how
/// <c>webrepl exec</c>, file commands and the pages run code) has the board's input to itself until it sends Ctrl-B
/// or leaves: the others' input is held meanwhile (they are told once) and sent, in order, when it is done, so that
/// keys typed by one client cannot end up inside another client's program. Ctrl-C from anyone still goes at once.
/// <para>
/// Ctrl-A is also "start of line" on a line that is not empty, and plain input to a running program: it makes its
/// client the owner on trial, a claim that stands only if the board answers with its raw REPL banner within
/// <see cref="ConfirmTimeout"/>. Each Ctrl-A that starts or renews a claim has its own number, and a timeout
/// releases only the claim it was armed for: an old Ctrl-A's timer can neither end a later claim of the same
/// client (a client that resends Ctrl-A, or enters the raw REPL twice in a row) nor another client's.
/// </para>
/// Pure: no I/O, no clock. The session calls it under its lock, carries out what it decides, and arms the timers.
/// </summary>
/// <typeparam name="TClient">The session's client (compared by reference).</typeparam>
internal sealed class RawReplArbiter<TClient>
    where TClient : class
{
    /// <summary>The most terminal input held for all clients while another client's raw REPL is under way.</summary>
    public const int MaxHeldText = 64 * 1024;

    /// <summary>How long a board may take to answer Ctrl-A with its raw REPL banner before the Ctrl-A is taken for something else.</summary>
    public static readonly TimeSpan ConfirmTimeout = TimeSpan.FromSeconds(1);

    private static readonly byte[] Banner = "raw REPL; CTRL-B to exit"u8.ToArray();

    private readonly List<(TClient Client, ReadOnlyMemory<byte> Payload)> _held = [];
    private readonly HashSet<TClient> _toldHeld = new(ReferenceEqualityComparer.Instance);
    private readonly OutputWindow _banner = new(64);
    private long _heldBytes;
    private bool _draining;
    private bool _pasting;
    private long _claim;

    /// <summary>The client whose raw REPL has the board's input (on trial until <see cref="Confirmed"/>), or null.</summary>
    public TClient? Owner { get; private set; }

    /// <summary>True once the board answered the owner's Ctrl-A with its raw REPL banner.</summary>
    public bool Confirmed { get; private set; }

    /// <summary>True while a claim waits for the board's answer.</summary>
    public bool OnTrial => Owner is not null && !Confirmed;

    /// <summary>True while the owner is in a raw-paste (Ctrl-E ... Ctrl-D): there, Ctrl-B would be taken as code.</summary>
    public bool OwnerPasting => Owner is not null && _pasting;

    /// <summary>Bytes of input held.</summary>
    public long HeldBytes => _heldBytes;

    /// <summary>
    /// A frame of terminal input from an authenticated client. <paramref name="complete"/>: the frame is a whole
    /// message (not a piece of a fragmented one, which goes on at once so that the board's framing stays whole).
    /// </summary>
    public InputDecision OnInput(TClient client, ReadOnlySpan<byte> payload, bool complete)
    {
        bool othersRaw = Owner is { } owner && !ReferenceEquals(owner, client);
        // Input waits when another client's raw REPL runs, and behind input that waits already or is being sent
        // from the queue (its order kept).
        bool hold = complete && (othersRaw || _draining || _held.Exists(h => ReferenceEquals(h.Client, client) || Owner is null));
        if (!hold)
        {
            long? claim = Track(client, payload, out bool left);
            bool drain = left && _held.Count > 0 && !_draining;
            _draining |= drain;
            return new InputDecision(true, 0, InputNotice.None, drain, claim);
        }

        int interrupts = othersRaw ? payload.Count((byte)0x03) : 0;
        byte[] rest = interrupts > 0 ? [.. payload.ToArray().Where(b => b != 0x03)] : payload.ToArray();
        var notice = InputNotice.None;
        if (rest.Length > 0 && _heldBytes + rest.Length > MaxHeldText)
        {
            notice = InputNotice.Full;
        }
        else if (rest.Length > 0)
        {
            _held.Add((client, rest));
            _heldBytes += rest.Length;
            if (othersRaw && Confirmed && _toldHeld.Add(client))
            {
                notice = InputNotice.Held;
            }
        }

        bool start = !othersRaw && !_draining;
        _draining |= start;
        return new InputDecision(false, interrupts, notice, start, null);
    }

    /// <summary>
    /// The next held input to send, in the order it was typed; while a client's raw REPL runs, only that client's.
    /// False when nothing can go (or the session is closing): the drain is over. <paramref name="claim"/> is a raw
    /// REPL claim the input makes (as for <see cref="OnInput"/>).
    /// </summary>
    public bool TryTakeHeld(bool closing, out TClient client, out ReadOnlyMemory<byte> payload, out long? claim)
    {
        var owner = Owner;
        int next = owner is null ? (_held.Count > 0 ? 0 : -1) : _held.FindIndex(h => ReferenceEquals(h.Client, owner));
        if (closing || next < 0)
        {
            _draining = false;
            (client, payload, claim) = (null!, default, null);
            return false;
        }

        (client, payload) = _held[next];
        _held.RemoveAt(next);
        _heldBytes -= payload.Length;
        if (owner is null)
        {
            _toldHeld.Remove(client);
        }

        claim = Track(client, payload.Span, out _);
        return true;
    }

    /// <summary>Held input could not be written (the board is gone): the drain is over.</summary>
    public void StopDraining() => _draining = false;

    /// <summary>
    /// The board's text output, while a claim waits for it: <see cref="RawReplView.Confirmed"/> when the raw REPL
    /// banner has come (it may be split across frames).
    /// </summary>
    public RawReplView OnBoardText(ReadOnlySpan<byte> output)
    {
        if (!OnTrial)
        {
            return RawReplView.None;
        }

        if (_banner.Add(output).IndexOf(Banner) < 0)
        {
            return RawReplView.Trial;
        }

        Confirmed = true;
        _banner.Clear();
        return RawReplView.Confirmed;
    }

    /// <summary>
    /// A claim's time is up. True when it is released (the board did not answer its Ctrl-A with the raw REPL banner:
    /// it was not raw REPL); <paramref name="drain"/>: start sending held input.
    /// </summary>
    public bool OnConfirmTimeout(long claim, out bool drain)
    {
        drain = false;
        if (!OnTrial || claim != _claim)
        {
            return false;
        }

        Owner = null;
        drain = _held.Count > 0 && !_draining;
        _draining |= drain;
        return true;
    }

    /// <summary>
    /// A client left: its held input goes, and its raw REPL ends with it. <paramref name="leaveRaw"/>: the board was in
    /// its raw REPL, to be sent back to the friendly REPL for the others (<paramref name="pasting"/>: end its
    /// raw-paste with Ctrl-C first); <paramref name="drain"/>: start sending the others' held input.
    /// </summary>
    public void Leave(TClient client, bool othersStay, out bool leaveRaw, out bool pasting, out bool drain)
    {
        _heldBytes -= _held.Where(h => ReferenceEquals(h.Client, client)).Sum(h => (long)h.Payload.Length);
        _held.RemoveAll(h => ReferenceEquals(h.Client, client));
        _toldHeld.Remove(client);
        leaveRaw = pasting = drain = false;
        if (!ReferenceEquals(client, Owner))
        {
            return;
        }

        leaveRaw = othersStay && Confirmed;
        pasting = _pasting;
        Owner = null;
        _pasting = false;
        drain = leaveRaw && _held.Count > 0 && !_draining;
        _draining |= drain;
    }

    /// <summary>
    /// Follows Ctrl-A, Ctrl-B and (in raw REPL) raw-paste's Ctrl-E ... Ctrl-D in what a client types. Returns the
    /// claim to confirm when the input makes one; <paramref name="left"/>: the client has just left its raw REPL.
    /// </summary>
    private long? Track(TClient client, ReadOnlySpan<byte> input, out bool left)
    {
        left = false;
        bool owner = ReferenceEquals(Owner, client);
        if (owner)
        {
            foreach (byte b in input)
            {
                _pasting = b switch
                {
                    0x05 => true,
                    0x04 => false,
                    _ => _pasting,
                };
            }
        }

        int enter = input.LastIndexOf((byte)0x01);
        int leave = input.LastIndexOf((byte)0x02);
        if (enter < 0 && leave < 0)
        {
            return null;
        }

        bool raw = enter > leave;
        if (raw && Owner is null)
        {
            Owner = client;
            Confirmed = false;
            _banner.Clear();
            _pasting = false;
            return ++_claim;
        }

        if (raw && owner && !Confirmed)
        {
            // The same client's Ctrl-A again before the board answered (a client that resends it): a new claim, a new
            // time to answer it; the earlier Ctrl-A's timer no longer counts.
            return ++_claim;
        }

        if (!raw && owner)
        {
            Owner = null;
            _pasting = false;
            left = true;
        }

        return null;
    }
}
