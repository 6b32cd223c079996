namespace WebRepl.Transport;

/// <summary>The type of a WebSocket data frame (a continuation frame takes its message's type).</summary>
public enum WebSocketFrameType
{
    /// <summary>Text: on WebREPL, terminal bytes, not checked as UTF-8.</summary>
    Text,

    /// <summary>Binary: WebREPL file transfer.</summary>
    Binary,

    /// <summary>The peer closed the connection.</summary>
    Close,
}

/// <summary>A received frame.</summary>
/// <param name="Type">Text, binary, or close.</param>
/// <param name="Payload">The payload; owned by the caller.</param>
/// <param name="EndOfMessage">The FIN bit: false when more frames of the same message follow.</param>
/// <param name="CloseStatus">For a close frame: the status code, when the peer sent one.</param>
/// <param name="CloseReason">For a close frame: the reason, when the peer sent one.</param>
public readonly record struct WebSocketFrame(
    WebSocketFrameType Type,
    ReadOnlyMemory<byte> Payload,
    bool EndOfMessage = true,
    int? CloseStatus = null,
    string? CloseReason = null);

/// <summary>Which end of a connection this is, and so how frames are written.</summary>
public enum WebSocketRole
{
    /// <summary>A client: masks its frames and writes each frame in one write.</summary>
    Client,

    /// <summary>
    /// A board, as the firmware behaves: unmasked frames, header and payload as two writes, payloads
    /// below 64 KiB, pings ignored, a 64-bit length closes the connection.
    /// </summary>
    Board,

    /// <summary>
    /// A WebSocket server that is not a board (a gateway's side towards its clients): unmasked frames in one
    /// write, any length, pings answered, close frames with a status and a reason.
    /// </summary>
    Server,
}
