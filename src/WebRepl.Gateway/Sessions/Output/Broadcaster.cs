namespace WebRepl.Gateway.Sessions;

/// <summary>
/// Who gets what of one frame of the board's text (<see cref="Broadcaster{TClient}.OnBoardText"/>): the raw REPL's
/// owner (if any) gets the frame as it is; every other receiver gets <see cref="Others"/> when
/// <see cref="SendOthers"/>, after <see cref="Released"/> (unless it is <see cref="ReleasedSkip"/>) and, when
/// <see cref="TellRunNotice"/>, a line that says why it sees less (once per client,
/// <see cref="Broadcaster{TClient}.TakeRunNotice"/>).
/// </summary>
internal readonly record struct OutputPlan<TClient>(
    TClient? Owner,
    ReadOnlyMemory<byte> Others,
    bool SendOthers,
    byte[]? Released,
    TClient? ReleasedSkip,
    bool TellRunNotice)
    where TClient : class;

/// <summary>
/// What the clients of a shared session see of the board's text once logged in. Outside a raw REPL, everyone gets the
/// board's output as it is. During a client's raw REPL the owner gets it as it is and the others what its programs
/// print (<see cref="RawReplOutputFilter"/>). The board's answer to the owner's Ctrl-A (the prompts from the Ctrl-C
/// before it, the banner) is held from the others until it is clear whether that Ctrl-A entered the raw REPL (then
/// it is dropped) or was something else (then it goes out, <see cref="TakeHeld"/>).
/// Pure: no I/O. The session calls it while it holds the broadcast (one text stream per client, in order) and
/// carries out the plans; browsers' UTF-8 is made whole per client (<see cref="Utf8Sanitizer"/>).
/// </summary>
/// <typeparam name="TClient">The session's client (compared by reference).</typeparam>
internal sealed class Broadcaster<TClient>
    where TClient : class
{
    /// <summary>The most output held back from the others while a client's Ctrl-A waits for the board's answer.</summary>
    public const int MaxHeldOutput = 4096;

    private readonly RawReplOutputFilter _othersView = new();
    private readonly List<byte> _othersHeld = [];
    private readonly HashSet<TClient> _toldRun = new(ReferenceEqualityComparer.Instance);
    private TClient? _viewOwner;
    private TClient? _heldFrom;
    private bool _othersMidMessage;

    /// <summary>
    /// A frame of the board's text: <paramref name="view"/> is what the raw REPL arbiter made of it
    /// (<see cref="RawReplArbiter{TClient}.OnBoardText"/>) and <paramref name="rawOwner"/> its owner then.
    /// </summary>
    public OutputPlan<TClient> OnBoardText(ReadOnlyMemory<byte> frame, bool endOfMessage, RawReplView view, TClient? rawOwner)
    {
        bool confirmed = view == RawReplView.Confirmed;
        bool trial = view == RawReplView.Trial;
        ReadOnlyMemory<byte> others = frame;
        byte[]? released = null;
        var heldFrom = _heldFrom;
        if (confirmed)
        {
            // The owner's Ctrl-A entered the raw REPL: its answer (held so far, and this frame) is protocol.
            _viewOwner = rawOwner;
            _othersHeld.Clear();
            _heldFrom = null;
            _othersView.Start();
            others = others[RawReplOutputFilter.AfterBanner(others.Span)..];
        }

        if (_othersView.Active)
        {
            others = _othersView.Filter(others.Span);
            if (!_othersView.Active)
            {
                _viewOwner = null;
            }
        }
        else if (trial && _othersHeld.Count + frame.Length <= MaxHeldOutput)
        {
            _othersHeld.AddRange(frame.Span);
            _heldFrom = rawOwner;
            others = ReadOnlyMemory<byte>.Empty;
        }
        else if (_othersHeld.Count > 0)
        {
            // That Ctrl-A was not the raw REPL (or its answer is too long to be one): what was held goes out first
            // (not to the client that typed it, which had it at once).
            released = [.. _othersHeld];
            _othersHeld.Clear();
            _heldFrom = null;
        }

        if (!_othersView.Active)
        {
            _othersView.Passed(others.Span);
        }

        bool sendOthers = !others.IsEmpty || (endOfMessage && _othersMidMessage);
        var plan = new OutputPlan<TClient>(
            _viewOwner ?? (trial || confirmed ? rawOwner : null),
            others,
            sendOthers,
            released,
            heldFrom,
            confirmed && !_othersMidMessage);
        if (sendOthers)
        {
            _othersMidMessage = !endOfMessage;
        }

        return plan;
    }

    /// <summary>True the first time a client is to be told that another one runs code: it is told once.</summary>
    public bool TakeRunNotice(TClient client)
    {
        lock (_toldRun)
        {
            return _toldRun.Add(client);
        }
    }

    /// <summary>
    /// The output held from the others, when a client's Ctrl-A turned out not to be the raw REPL (its claim was
    /// released): to everyone but <paramref name="heldFrom"/>, which had it at once. Null when nothing is held.
    /// </summary>
    public byte[]? TakeHeld(out TClient? heldFrom)
    {
        heldFrom = _heldFrom;
        if (_othersHeld.Count == 0 || _othersView.Active)
        {
            return null;
        }

        byte[] held = [.. _othersHeld];
        _othersHeld.Clear();
        _heldFrom = null;
        _othersView.Passed(held);
        return held;
    }

    /// <summary>A client left (called under the session's lock, not the broadcast: the set has its own).</summary>
    public void Forget(TClient client)
    {
        lock (_toldRun)
        {
            _toldRun.Remove(client);
        }
    }
}
