using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace WebRepl.Gateway;

/// <summary>How a <see cref="WebReplGateway"/> listens, what it forwards to, and whom it lets in.</summary>
public sealed record GatewayOptions
{
    /// <summary>The port the Edrys proxy convention uses.</summary>
    public const int DefaultPort = 8765;

    /// <summary>The defaults: 127.0.0.1:8765, plain HTTP, loopback/private/link-local targets, shared sessions.</summary>
    public static GatewayOptions Default { get; } = new();

    /// <summary>Where to listen (port 0: any free port; see <see cref="WebReplGateway.Urls"/>). Loopback by default.</summary>
    public IReadOnlyList<IPEndPoint> Listen { get; init; } = [new(IPAddress.Loopback, DefaultPort)];

    /// <summary>Named boards: <c>/boards/NAME</c> forwards to the URL (<c>ws://HOST:PORT</c>, <c>wss://...</c> or <c>HOST[:PORT]</c>).</summary>
    public IReadOnlyDictionary<string, string> Boards { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Which targets <c>/ws://HOST:PORT</c> may reach: CIDR blocks (<c>192.168.2.0/24</c>), addresses
    /// (<c>192.168.2.197</c>, <c>[fd00::7]:8266</c>) or host names (<c>esp32.local</c>, <c>esp32.local:8266</c>).
    /// Empty: loopback, private (RFC 1918, IPv6 unique local) and link-local addresses, and names that resolve
    /// only to them. A list replaces that default. Named boards are always allowed.
    /// </summary>
    public IReadOnlyList<string> AllowedTargets { get; init; } = [];

    /// <summary>
    /// Browser origins allowed besides the gateway's own (e.g. <c>https://edrys-labs.github.io</c>); <c>*</c> allows
    /// any, <c>null</c> allows sandboxed frames and local files. Clients that send no <c>Origin</c> are always allowed.
    /// </summary>
    public IReadOnlyList<string> AllowedOrigins { get; init; } = [];

    /// <summary>One client per board, as a board itself behaves: a second client is refused instead of joining.</summary>
    public bool Exclusive { get; init; }

    /// <summary>TLS (<c>wss://</c> and <c>https://</c>); null: plain <c>ws://</c> and <c>http://</c>.</summary>
    public GatewayTlsOptions? Tls { get; init; }

    /// <summary>How many boards may be connected at once.</summary>
    public int MaxSessions { get; init; } = 100;

    /// <summary>How many clients may share one board.</summary>
    public int MaxClientsPerSession { get; init; } = 32;

    /// <summary>The largest message a client may send (a board accepts frames below 64 KiB; the gateway splits larger ones).</summary>
    public int MaxMessageBytes { get; init; } = 1024 * 1024;

    /// <summary>A session with no message either way for this long is closed; zero: never.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// A client that has been sent nothing for this long gets a WebSocket ping, so that a proxy in front of the
    /// gateway (nginx's <c>proxy_read_timeout</c>, 60 s by default) does not close an idle session; zero: no pings.
    /// Boards are never pinged (they do not answer).
    /// </summary>
    public TimeSpan ClientKeepAlive { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>How long connecting to a board (TCP, TLS, WebSocket handshake) may take.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a send to a client may block before that client is dropped (a stalled client must not stall the others).</summary>
    public TimeSpan ClientSendTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A file transfer with no binary data either way for this long no longer holds back other clients' transfers.</summary>
    public TimeSpan TransferStallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// GET read-ahead: the gateway asks the board for the next 256-byte chunk as soon as a chunk arrives (the
    /// byte the client is certain to send next), so the board's round trip and the client's overlap. The
    /// client's own request byte is then not forwarded. Off: every byte goes through as the client sent it.
    /// </summary>
    public bool GetReadAhead { get; init; } = true;

    /// <summary>
    /// Wrong passwords from one client address (refused joiners, and the board's <c>Access denied</c> to a
    /// client that opened it) within <see cref="LoginFailureWindow"/> after which that address is refused for
    /// <see cref="LoginLockout"/>, at every board. 0: no limit.
    /// </summary>
    public int LoginFailureLimit { get; init; } = 10;

    /// <summary>
    /// Reverse proxies (addresses or CIDR blocks, e.g. nginx on <c>127.0.0.1</c>) whose <c>X-Forwarded-For</c> names
    /// the client for <see cref="LoginFailureLimit"/>. Empty (the default): the header is ignored and a client is
    /// its connection's address, so that no client escapes the lockout by sending the header itself.
    /// </summary>
    public IReadOnlyList<string> TrustedProxies { get; init; } = [];

    /// <summary>The window in which <see cref="LoginFailureLimit"/> wrong passwords lock an address out.</summary>
    public TimeSpan LoginFailureWindow { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>How long an address with too many wrong passwords is refused.</summary>
    public TimeSpan LoginLockout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a client may take to log in (the opener until the board accepts its password, a joiner until the
    /// gateway does); then it is closed with 1008, and a session whose opener never logged in lets go of the board.
    /// </summary>
    public TimeSpan LoginTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Clients from one address (an IPv6 /64; every loopback address is one) that may be logging in at once, over
    /// every board; more are refused with 1013 until some have logged in or left. 0: no limit.
    /// </summary>
    public int MaxPendingLoginsPerAddress { get; init; } = 32;

    /// <summary>
    /// Passwords of named boards (by name) that the gateway types itself for a client on this machine (loopback)
    /// whose page comes from the gateway's own origin or one given in <see cref="AllowedOrigins"/> (not <c>*</c>
    /// or <c>null</c>): such a client, an unattended Edrys station for instance, is logged in without being asked,
    /// so that the password never has to be in the page's settings, which Edrys shows to every role. Other clients
    /// are asked as usual.
    /// </summary>
    public IReadOnlyDictionary<string, string> BoardPasswords { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Certificate check for <c>wss://</c> targets (another gateway, a TLS terminator in front of a board); null
    /// uses the system's trust.
    /// </summary>
    public System.Net.Security.RemoteCertificateValidationCallback? TargetCertificateValidation { get; init; }

    /// <summary>The folder of static pages served at <c>/</c>; null: <c>wwwroot</c> beside the assembly (served when it exists).</summary>
    public string? WebRoot { get; init; }

    /// <summary>Where the gateway (and ASP.NET Core under it) logs. Terminal data and passwords are never logged.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}

/// <summary>TLS for the gateway: a PEM certificate and key, or a self-signed certificate made and cached on first use.</summary>
public sealed record GatewayTlsOptions
{
    /// <summary>The certificate (PEM), with its chain when there is one.</summary>
    public string? CertificatePath { get; init; }

    /// <summary>The private key (PEM), unencrypted.</summary>
    public string? KeyPath { get; init; }

    /// <summary>Generate a self-signed certificate (for localhost, this machine's name and the listen addresses) and cache it.</summary>
    public bool SelfSigned { get; init; }

    /// <summary>Where the self-signed certificate is cached; null: the user's data folder (<see cref="DefaultCacheFolder"/>).</summary>
    public string? CacheFolder { get; init; }

    /// <summary>The default cache folder of the self-signed certificate.</summary>
    public static string DefaultCacheFolder =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "webrepl", "gateway");
}
