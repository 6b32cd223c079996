using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace WebRepl.Transport;

/// <summary>
/// Where a board is: <c>HOST[:PORT]</c> (port 8266 by default) or a <c>ws://</c> / <c>wss://</c> URL, a proxy
/// URL such as <c>ws://localhost:8765/ws://192.168.2.197:8266</c> included (its path is kept as written).
/// </summary>
public sealed record WebReplTarget
{
    /// <summary>The port WebREPL listens on by default.</summary>
    public const int DefaultPort = 8266;

    private WebReplTarget(bool secure, string host, int port, string path)
    {
        IsSecure = secure;
        Host = host;
        Port = port;
        Path = path;
    }

    /// <summary>True for <c>wss://</c>.</summary>
    public bool IsSecure { get; }

    /// <summary>The host name or address to connect to (IPv6 without brackets).</summary>
    public string Host { get; }

    /// <summary>The TCP port.</summary>
    public int Port { get; }

    /// <summary>The request path and query, as written, starting with <c>/</c>.</summary>
    public string Path { get; }

    /// <summary>The host as it appears in a URL or a <c>Host</c> header (IPv6 in brackets).</summary>
    public string Authority =>
        (Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host) + ":" + Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>The target as a URL.</summary>
    public override string ToString() => (IsSecure ? "wss://" : "ws://") + Authority + Path;

    /// <summary>Parses a target; see the type's summary for the forms.</summary>
    /// <exception cref="FormatException">The text is not a target; the message shows the accepted forms.</exception>
    public static WebReplTarget Parse(string text) =>
        TryParse(text, out var target, out string? error) ? target : throw new FormatException(error);

    /// <summary>Parses a target; <paramref name="error"/> says what is wrong when it returns false.</summary>
    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out WebReplTarget? target, out string? error)
    {
        target = null;
        error = null;
        text = text?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            error = "No board given: use HOST[:PORT] (e.g. 192.168.4.1 or 192.168.4.1:8266) or a ws:// or wss:// URL.";
            return false;
        }

        bool secure = false;
        string rest = text;
        int schemeEnd = text.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd >= 0 && !text.StartsWith('['))
        {
            string scheme = text[..schemeEnd].ToUpperInvariant();
            if (scheme is not ("WS" or "WSS"))
            {
                error = $"'{PrintableText.Escape(text)}' is not a board address: the URL scheme must be ws:// or wss://.";
                return false;
            }

            secure = scheme == "WSS";
            rest = text[(schemeEnd + 3)..];
        }
        else if (text.Contains('/', StringComparison.Ordinal))
        {
            error = $"'{PrintableText.Escape(text)}' is not a board address: use HOST[:PORT], or a full ws:// URL when a path is needed.";
            return false;
        }

        int slash = rest.IndexOf('/', StringComparison.Ordinal);
        string authority = slash < 0 ? rest : rest[..slash];
        string path = slash < 0 ? "/" : rest[slash..];
        // A URL without a port means what it means for any ws:// URL; a bare host means WebREPL's port.
        int defaultPort = schemeEnd < 0 ? DefaultPort : secure ? 443 : 80;

        if (!TrySplitAuthority(authority, defaultPort, out string host, out int port))
        {
            error = $"'{PrintableText.Escape(text)}' is not a board address: expected HOST[:PORT] with a port from 1 to 65535.";
            return false;
        }

        // The path goes into the request line and the host into the Host header: a space or a control character
        // there would end the line early and let the rest be read as more headers or a second request.
        int bad = path.AsSpan().IndexOfAnyInRange('\0', ' ');
        if (bad < 0)
        {
            bad = path.AsSpan().IndexOfAnyInRange('\x7f', '\x9f');
        }

        if (bad >= 0)
        {
            error = $"'{PrintableText.Escape(text)}' is not a board address: its path has a space or a control character; percent-encode it (%20).";
            return false;
        }

        target = new WebReplTarget(secure, host, port, path);
        return true;
    }

    /// <summary>
    /// True for an IP address or a DNS name (letters, digits, '-', '_' and '.', at most 253 characters): nothing
    /// else is looked up or written into a Host header.
    /// </summary>
    internal static bool IsHostName(string host)
    {
        // An address, with an IPv6 zone perhaps (fe80::1%eth0): ASCII letters, digits and its punctuation only,
        // since IPAddress.TryParse takes any character in a zone (a DEL, an escape).
        if (host.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or ':' or '%' or '-' or '_') && IPAddress.TryParse(host, out _))
        {
            return true;
        }

        if (host.Length > 253)
        {
            return false;
        }

        foreach (char c in host)
        {
            if (!(char.IsLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Splits <c>HOST[:PORT]</c>, <c>[V6]:PORT</c> or a bare IPv6 address.</summary>
    internal static bool TrySplitAuthority(string authority, int defaultPort, out string host, out int port)
    {
        host = string.Empty;
        port = defaultPort;
        if (authority.Length == 0 || authority.Contains('@', StringComparison.Ordinal))
        {
            return false;
        }

        string portText = string.Empty;
        if (authority.StartsWith('['))
        {
            int close = authority.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }

            host = authority[1..close];
            string after = authority[(close + 1)..];
            if (after.Length > 0)
            {
                if (after[0] != ':')
                {
                    return false;
                }

                portText = after[1..];
            }

            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                return false;
            }
        }
        else if (authority.Count(c => c == ':') > 1)
        {
            // A bare IPv6 address cannot carry a port.
            host = authority;
            if (!IPAddress.TryParse(host, out _))
            {
                return false;
            }
        }
        else
        {
            int colon = authority.IndexOf(':', StringComparison.Ordinal);
            host = colon < 0 ? authority : authority[..colon];
            portText = colon < 0 ? string.Empty : authority[(colon + 1)..];
        }

        if (host.Length == 0 || !IsHostName(host))
        {
            return false;
        }

        if (portText.Length > 0 &&
            (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            return false;
        }

        return true;
    }
}
