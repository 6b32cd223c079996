namespace WebRepl.Protocol;

/// <summary>
/// How input is paced to a board: the table "Pacing" in docs/protocol.md, which <c>web/src/pacing.ts</c> holds for
/// the pages. Both are compared with <c>tests/vectors/pacing.json</c> by their tests, so that the two stay one rule.
/// ESP32, ESP8266 and rp2 boards take terminal input into a buffer of about 256 bytes and drop what overflows,
/// silently; raw-paste has flow control of its own (the board's window), everything else is paced by these.
/// </summary>
public static class Pacing
{
    /// <summary>The board's input buffer (<c>MICROPY_REPL_STDIN_BUFFER_MAX</c>).</summary>
    public const int InputBufferBytes = 256;

    /// <summary>
    /// The plain raw REPL (no raw-paste): pieces of half the buffer, so that two pieces the network delivers
    /// together still fit.
    /// </summary>
    public const int RawReplPieceBytes = 128;

    /// <summary>The pause after each piece of the plain raw REPL: mpremote's; the raw REPL only appends bytes to its line.</summary>
    public static readonly TimeSpan RawReplPause = TimeSpan.FromMilliseconds(10);

    /// <summary>Terminal input paced by time (piped input): the friendly REPL echoes and edits every byte.</summary>
    public const int TerminalPieceBytes = 64;

    /// <summary>The pause after each piece of terminal input paced by time.</summary>
    public static readonly TimeSpan TerminalPause = TimeSpan.FromMilliseconds(20);

    /// <summary>Terminal input paced by the board's echo (the pages' pastes): the piece.</summary>
    public const int EchoPieceBytes = 32;

    /// <summary>Paced by the echo: the most bytes sent and not yet echoed (half the buffer).</summary>
    public const int EchoWindowBytes = 128;

    /// <summary>Paced by the echo: the silence after which a paste goes on (a program reading its input may not echo).</summary>
    public static readonly TimeSpan EchoStall = TimeSpan.FromMilliseconds(1500);

    /// <summary>
    /// Entering the raw REPL: a board answers Ctrl-A within milliseconds and a round trip takes well under a second,
    /// so silence this long means the Ctrl-A was lost (a program took it, or it came while one unwound): send again.
    /// </summary>
    public static readonly TimeSpan RawEnterRetry = TimeSpan.FromSeconds(1);
}
