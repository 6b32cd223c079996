namespace WebRepl.Transport;

/// <summary>
/// How one end of a connection frames, as options rather than role switches: a client as RFC 6455 asks, a board as
/// the firmware does (extmod/modwebsocket.c, extmod/modwebrepl.c; docs/protocol.md, "Transport"), a server as a gateway towards its clients.
/// </summary>
internal sealed record WebSocketBehavior
{
    /// <summary>A client: masks its frames, writes each in one write, answers pings, closes with a status.</summary>
    public static WebSocketBehavior Client { get; } = new() { Role = WebSocketRole.Client, MasksFrames = true };

    /// <summary>A WebSocket server that is not a board: unmasked frames in one write, any length, pings answered.</summary>
    public static WebSocketBehavior Server { get; } = new() { Role = WebSocketRole.Server };

    /// <summary>
    /// A board: unmasked frames of at most 65535 bytes (a 16-bit length at most), pings neither sent nor
    /// answered, a bare close, and a 64-bit length from the peer ends the connection.
    /// </summary>
    public static WebSocketBehavior Board { get; } = new()
    {
        Role = WebSocketRole.Board,
        MaxPayloadPerFrame = 0xffff,
        RefusesLongLength = true,
        AnswersPings = false,
        MaySendPings = false,
        ClosesWithStatus = false,
    };

    /// <summary>The role these options stand for.</summary>
    public WebSocketRole Role { get; init; }

    /// <summary>Frames are masked (a client's, RFC 6455 5.3).</summary>
    public bool MasksFrames { get; init; }

    /// <summary>
    /// The header and the payload go as two writes, as the firmware writes them (two TCP segments when Nagle's
    /// algorithm is off, as on a board): the pattern that costs a peer a delayed ACK. Otherwise one write per frame.
    /// </summary>
    public bool SplitWrites { get; init; }

    /// <summary>The largest payload of one frame; a longer send goes as several whole frames.</summary>
    public int MaxPayloadPerFrame { get; init; } = int.MaxValue;

    /// <summary>A frame with a 64-bit length is a protocol error (the firmware closes the connection).</summary>
    public bool RefusesLongLength { get; init; }

    /// <summary>A ping gets a pong.</summary>
    public bool AnswersPings { get; init; } = true;

    /// <summary>This end may send pings (a board never does).</summary>
    public bool MaySendPings { get; init; } = true;

    /// <summary>A close frame carries a status and a reason (a board's is bare).</summary>
    public bool ClosesWithStatus { get; init; } = true;

    /// <summary>The behaviour of a role.</summary>
    public static WebSocketBehavior For(WebSocketRole role) => role switch
    {
        WebSocketRole.Client => Client,
        WebSocketRole.Board => Board,
        _ => Server,
    };
}
