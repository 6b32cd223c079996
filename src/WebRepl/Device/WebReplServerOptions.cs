using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace WebRepl.Device;

/// <summary>How a <see cref="WebReplServer"/> listens and behaves.</summary>
public sealed record WebReplServerOptions
{
    /// <summary>
    /// The password clients must send: 1 to <see cref="WebReplClient.MaxPasswordLength"/> (9) bytes, as on a board
    /// (the firmware's <c>webrepl.password()</c> refuses a longer one).
    /// </summary>
    public required string Password { get; init; }

    /// <summary>Where to listen; port 0 lets the system choose (see <see cref="WebReplServer.LocalEndPoint"/>).</summary>
    public IPEndPoint EndPoint { get; init; } = new(IPAddress.Loopback, 8266);

    /// <summary>Where the page answered to a plain HTTP GET loads the WebREPL client from (the firmware's <c>webrepl_cfg.BASE</c>).</summary>
    public string StaticHost { get; init; } = "https://micropython.org/webrepl/";

    /// <summary>
    /// Write as the firmware does: Nagle on, each frame's header and payload as two writes, so that clients
    /// meet the timing of real boards. Off: one write per frame with Nagle off.
    /// </summary>
    public bool FirmwareTiming { get; init; } = true;

    /// <summary>A pause after each file-transfer chunk, as ESP8266 firmware makes (20 ms there); zero by default.</summary>
    public TimeSpan TransferChunkDelay { get; init; } = TimeSpan.Zero;

    /// <summary>How long a client may take to send its HTTP request.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a client may take to send its password line after the prompt; then it is dropped. A client that
    /// sends part of a password and no line end would otherwise hold the board (one session at a time) for good.
    /// </summary>
    public TimeSpan LoginTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The pause before <c>Access denied</c>, so that guessing the password is slow (one guess a second per connection).</summary>
    public TimeSpan WrongPasswordDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Where the server logs; never the password.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}
