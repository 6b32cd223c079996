namespace WebRepl.Gateway.Sessions;

/// <summary>
/// What the other clients of a shared session see of one client's raw REPL: what its programs print (their output
/// and tracebacks), not the protocol around them (the raw REPL banner, its <c>&gt;</c> prompts, <c>OK</c>, the
/// <c>\x04</c> markers, raw-paste's answer, window size and flow-control bytes, the friendly banner that follows
/// Ctrl-B). Follows the board's side of the protocol as pyexec.c writes it (docs/protocol.md, "Raw REPL"). Not
/// thread-safe: the session calls it while it holds its broadcast lock, one board frame at a time.
/// </summary>
internal sealed class RawReplOutputFilter
{
    private static readonly byte[] RawBanner = "raw REPL; CTRL-B to exit\r\n"u8.ToArray();
    private static readonly byte[] FriendlyPrompt = ">>> "u8.ToArray();

    // The last protocol bytes (at the prompt, in raw-paste), to find a marker split across frames.
    private readonly byte[] _recent = new byte[32];
    private int _recentLength;
    private State _state = State.Off;
    private int _skip;
    private byte _lastShown = (byte)'\n';
    private bool _runStarts;

    private enum State
    {
        /// <summary>Not in a raw REPL: everything passes.</summary>
        Off,

        /// <summary>At the raw REPL's prompt: only protocol comes (<c>&gt;</c>, <c>OK</c>, <c>R\x01</c>, a banner).</summary>
        Prompt,

        /// <summary>After <c>R</c>: raw-paste's answer follows (<c>\x00</c> no, <c>\x01</c> and a 2-byte window yes).</summary>
        PasteAnswer,

        /// <summary>Raw-paste under way: the board sends <c>\x01</c> grants, then <c>\x04</c> when it has the code.</summary>
        Pasting,

        /// <summary>The program's output, up to <c>\x04</c>.</summary>
        Stdout,

        /// <summary>Its error output (a traceback), up to <c>\x04</c>.</summary>
        Stderr,
    }

    /// <summary>True from the raw REPL's banner until the friendly prompt is back.</summary>
    public bool Active => _state != State.Off;

    /// <summary>The board has answered a client's Ctrl-A with the raw REPL banner: what follows is filtered.</summary>
    public void Start()
    {
        _state = State.Prompt;
        _skip = 0;
        _recentLength = 0;
    }

    /// <summary>
    /// Where the raw REPL's banner ends in the frame that completes it (0 when the frame holds only later bytes). What
    /// comes before it in that frame is the board's answer to the Ctrl-C sent with the Ctrl-A (its prompts), or the
    /// banner's start: protocol. A board that writes its output in large pieces (the virtual board gathers what it
    /// prints) sends the prompts and the banner in one frame.
    /// </summary>
    public static int AfterBanner(ReadOnlySpan<byte> frame)
    {
        ReadOnlySpan<byte> banner = RawBanner.AsSpan(0, RawBanner.Length - 2); // without its line end: protocol anyway
        int at = frame.IndexOf(banner);
        if (at >= 0)
        {
            return at + banner.Length;
        }

        for (int n = Math.Min(banner.Length - 1, frame.Length); n > 0; n--)
        {
            if (frame[..n].SequenceEqual(banner[^n..]))
            {
                return n; // the banner began in an earlier frame
            }
        }

        return 0;
    }

    /// <summary>Output the others were sent while the filter was off: its last byte says whether a line is open.</summary>
    public void Passed(ReadOnlySpan<byte> shown)
    {
        if (!shown.IsEmpty)
        {
            _lastShown = shown[^1];
        }
    }

    /// <summary>What the others see of a frame of the board's output (empty when it is all protocol).</summary>
    public byte[] Filter(ReadOnlySpan<byte> frame)
    {
        var output = new List<byte>(frame.Length);
        for (int i = 0; i < frame.Length; i++)
        {
            byte b = frame[i];
            switch (_state)
            {
                case State.Off:
                    output.Add(b);
                    break;

                case State.Prompt:
                    OnPrompt(b, output);
                    break;

                case State.PasteAnswer:
                    _state = b == 0x01 ? State.Pasting : State.Prompt;
                    _skip = b == 0x01 ? 2 : 0;
                    break;

                case State.Pasting:
                    OnPasting(b);
                    break;

                case State.Stdout:
                case State.Stderr:
                    if (b == 0x04)
                    {
                        _state = _state == State.Stdout ? State.Stderr : State.Prompt;
                        _recentLength = 0;
                        break;
                    }

                    if (_runStarts && (output.Count > 0 ? output[^1] : _lastShown) != (byte)'\n')
                    {
                        output.AddRange("\r\n"u8); // a program's output starts on a line of its own
                    }

                    _runStarts = false;
                    output.Add(b);
                    break;
            }

            if (_state is State.Prompt or State.Pasting)
            {
                Remember(b);
            }
        }

        if (output.Count > 0)
        {
            _lastShown = output[^1];
        }

        return [.. output];
    }

    /// <summary>
    /// At the raw prompt, protocol only: watches for raw-paste's answer, OK (plain raw REPL), and the friendly prompt
    /// after Ctrl-B (the board's banner before it is dropped too).
    /// </summary>
    private void OnPrompt(byte b, List<byte> output)
    {
        if (b == (byte)'R')
        {
            _state = State.PasteAnswer;
        }
        else if (b == (byte)'K' && _recentLength > 0 && _recent[_recentLength - 1] == (byte)'O')
        {
            _state = State.Stdout;
            _runStarts = true;
        }
        else if (Seen(b, FriendlyPrompt))
        {
            // The friendly REPL is back: its prompt, on a line of its own.
            _state = State.Off;
            output.AddRange((output.Count > 0 ? output[^1] : _lastShown) == (byte)'\n' ? ">>> "u8 : "\r\n>>> "u8);
        }
    }

    /// <summary>Raw-paste under way: skips the window size, then waits for the end of the code or a new raw banner.</summary>
    private void OnPasting(byte b)
    {
        if (_skip > 0)
        {
            _skip--; // the window size: any byte, \x04 included
        }
        else if (b == 0x04)
        {
            _state = State.Stdout;
            _runStarts = true;
        }
        else if (Seen(b, RawBanner))
        {
            _state = State.Prompt; // the paste was cut short and the raw REPL began again
        }
    }

    private void Remember(byte b)
    {
        if (_recentLength == _recent.Length)
        {
            Array.Copy(_recent, 1, _recent, 0, _recentLength - 1);
            _recentLength--;
        }

        _recent[_recentLength++] = b;
    }

    /// <summary>True when the protocol bytes seen, this one included, end with <paramref name="marker"/>.</summary>
    private bool Seen(byte b, ReadOnlySpan<byte> marker) =>
        b == marker[^1] && _recentLength >= marker.Length - 1 &&
        _recent.AsSpan(_recentLength - (marker.Length - 1), marker.Length - 1).SequenceEqual(marker[..^1]);
}
