using System.Net.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace WebRepl;

/// <summary>How a <see cref="WebReplClient"/> connects and how long it waits.</summary>
public sealed record WebReplClientOptions
{
    /// <summary>The defaults.</summary>
    public static WebReplClientOptions Default { get; } = new();

    /// <summary>How long TCP connect, TLS and the WebSocket handshake may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long to wait for each reply the protocol expects (the password prompt, a transfer's status, a data
    /// chunk). A board that cannot open a file sends nothing, so this bounds how long a typo costs.
    /// </summary>
    public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long <c>ConnectAndLoginAsync</c> keeps trying when the board closes the connection before asking for the
    /// password, which is how a board turns away a second client. A board ends a session a moment after its client
    /// leaves or after a soft reset, so a command run right after another one may find it still taken; it tries again
    /// after 50 ms, then 100, 200, ... within this time. Zero: no second try.
    /// </summary>
    public TimeSpan BusyRetryWindow { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Acknowledge received data at once (Linux TCP_QUICKACK), so frames the board writes in two parts do not wait for a delayed ACK.</summary>
    public bool ImmediateAck { get; init; } = true;

    /// <summary>The size of the binary frames a put sends.</summary>
    public int PutChunkSize { get; init; } = 1024;

    /// <summary>
    /// The most GET chunk requests in flight when the file's size is known (docs/protocol.md, "GET pipelining"):
    /// enough to cover the round trip (2048 chunks are 512 KiB, 10 MB/s at a 50 ms round trip).
    /// </summary>
    public int GetWindow { get; init; } = 2048;

    /// <summary>Certificate check for <c>wss://</c>; null uses the system's trust.</summary>
    public RemoteCertificateValidationCallback? RemoteCertificateValidation { get; init; }

    /// <summary>Extra handshake headers (an <c>Origin</c>, for instance).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> RequestHeaders { get; init; } = [];

    /// <summary>Where the client logs; it never logs the password or terminal input.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>
    /// The most the client reads from the board for one of its own operations (a listing, stat, hash, df, a sync's
    /// plan), for the output an <c>ExecAsync</c> returns as a string, and for any code's error output. A board
    /// that sends more (hostile, or a program printing without end) gets an error, not all of this computer's memory.
    /// </summary>
    public int MaxOperationReplyBytes { get; init; } = 4 * 1024 * 1024;

    internal Transport.WebSocketConnectOptions ToConnectOptions() => new()
    {
        ConnectTimeout = ConnectTimeout,
        ImmediateAck = ImmediateAck,
        RemoteCertificateValidation = RemoteCertificateValidation,
        RequestHeaders = RequestHeaders,
    };
}
