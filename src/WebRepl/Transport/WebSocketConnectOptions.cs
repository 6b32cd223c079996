using System.Net.Security;

namespace WebRepl.Transport;

/// <summary>How a client connection is opened.</summary>
public sealed record WebSocketConnectOptions
{
    /// <summary>The defaults.</summary>
    public static WebSocketConnectOptions Default { get; } = new();

    /// <summary>How long TCP connect, TLS and the handshake may take together.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Acknowledge received data at once (Linux TCP_QUICKACK); see docs/protocol.md, "Transport", on the board's write pattern.</summary>
    public bool ImmediateAck { get; init; } = true;

    /// <summary>Certificate check for <c>wss://</c>; null uses the system's trust.</summary>
    public RemoteCertificateValidationCallback? RemoteCertificateValidation { get; init; }

    /// <summary>Extra request headers (an <c>Origin</c>, for instance).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> RequestHeaders { get; init; } = [];

    /// <summary>The largest frame accepted.</summary>
    public long MaxFrameBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>
    /// Connect to this address instead of resolving <see cref="WebReplTarget.Host"/> (which still names the
    /// host for TLS and the handshake): a caller that checked the resolved address connects to exactly that one.
    /// </summary>
    public System.Net.IPAddress? ConnectAddress { get; init; }

    /// <summary>The receive buffer (at least 1 KiB; 64 KiB by default): small buffers suit many idle connections.</summary>
    public int ReceiveBufferSize { get; init; } = 64 * 1024 + 16;
}
