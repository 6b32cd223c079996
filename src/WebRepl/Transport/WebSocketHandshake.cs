using System.Security.Cryptography;
using System.Text;

namespace WebRepl.Transport;

/// <summary>An HTTP request or response head: the first line and the header lines.</summary>
/// <param name="StartLine">The request or status line.</param>
/// <param name="Headers">Header names (case-insensitive) and values.</param>
/// <param name="Leftover">Bytes read past the blank line: the start of the WebSocket stream.</param>
internal sealed record HttpHead(string StartLine, IReadOnlyDictionary<string, string> Headers, ReadOnlyMemory<byte> Leftover)
{
    public string? this[string name] => Headers.TryGetValue(name, out string? value) ? value : null;

    public bool HeaderContains(string name, string token) =>
        this[name]?.Split(',').Any(part => part.Trim().Equals(token, StringComparison.OrdinalIgnoreCase)) == true;
}

/// <summary>The opening handshake of RFC 6455, for both sides.</summary>
internal static class WebSocketHandshake
{
    private const string Guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    private const int MaxHeadBytes = 16 * 1024;

    public static string CreateKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));

#pragma warning disable CA5350 // RFC 6455 defines the accept value with SHA-1; it is not used for security here.
    public static string ComputeAccept(string key) =>
        Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key.Trim() + Guid)));
#pragma warning restore CA5350

    public static byte[] BuildClientRequest(WebReplTarget target, string key, IEnumerable<KeyValuePair<string, string>> extraHeaders)
    {
        var request = new StringBuilder();
        request.Append("GET ");
        AppendPath(request, target.Path);
        request.Append(" HTTP/1.1\r\n");
        string host = target.Port == (target.IsSecure ? 443 : 80) ? target.Authority[..target.Authority.LastIndexOf(':')] : target.Authority;
        request.Append("Host: ").Append(host).Append("\r\n");
        request.Append("Connection: Upgrade\r\nUpgrade: websocket\r\n");
        request.Append("Sec-WebSocket-Key: ").Append(key).Append("\r\n");
        request.Append("Sec-WebSocket-Version: 13\r\n");
        foreach (var (name, value) in extraHeaders)
        {
            if (name.AsSpan().IndexOfAny("\r\n:") >= 0 || value.AsSpan().IndexOfAny("\r\n") >= 0)
            {
                throw new ArgumentException($"The header '{name}' is not a valid HTTP header.", nameof(extraHeaders));
            }

            request.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        request.Append("\r\n");
        return Encoding.ASCII.GetBytes(request.ToString());
    }

    public static byte[] BuildServerResponse(string key) =>
        Encoding.ASCII.GetBytes(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Accept: " + ComputeAccept(key) + "\r\n\r\n");

    /// <summary>The client's check of the server's answer: status 101 and the accept value for <paramref name="key"/>.</summary>
    /// <exception cref="WebReplConnectionException">The server refused the upgrade or is not a WebSocket server.</exception>
    public static void CheckServerResponse(HttpHead head, string key, WebReplTarget target)
    {
        string[] status = head.StartLine.Split(' ', 3);
        if (status.Length < 2 || status[1] != "101")
        {
            throw new WebReplConnectionException(
                $"{target} refused the WebSocket upgrade ({head.StartLine.Trim()}). Check the address and path; a board answers on port 8266 once WebREPL is enabled.");
        }

        if (head["Sec-WebSocket-Accept"] != ComputeAccept(key))
        {
            throw new WebReplConnectionException($"{target} answered the WebSocket handshake with a wrong Sec-WebSocket-Accept: it is not a WebSocket server.");
        }
    }

    /// <summary>Reads up to the blank line that ends an HTTP head; null when the peer closes first.</summary>
    /// <exception cref="WebReplProtocolException">The head is too large.</exception>
    public static async Task<HttpHead?> ReadHeadAsync(Stream stream, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[MaxHeadBytes];
        int filled = 0;
        while (true)
        {
            int end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                return Parse(buffer.AsSpan(0, end), buffer.AsMemory(end + 4, filled - end - 4).ToArray());
            }

            if (filled == buffer.Length)
            {
                throw new WebReplProtocolException($"The HTTP head is longer than {MaxHeadBytes} bytes.");
            }

            int read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return null;
            }

            filled += read;
        }
    }

    private static HttpHead Parse(ReadOnlySpan<byte> head, byte[] leftover)
    {
        // Latin-1 keeps every byte; header values are compared as ASCII.
        string[] lines = Encoding.Latin1.GetString(head).Split("\r\n");
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                string name = line[..colon].Trim();
                string value = line[(colon + 1)..].Trim();
                headers[name] = headers.TryGetValue(name, out string? previous) ? previous + ", " + value : value;
            }
        }

        return new HttpHead(lines[0], headers, leftover);
    }

    /// <summary>
    /// The request line is ASCII: a non-ASCII character of the path goes as its UTF-8 bytes, percent-encoded
    /// (a decoded gateway path such as <c>/æx</c> would otherwise reach the board as <c>/?x</c>).
    /// </summary>
    private static void AppendPath(StringBuilder request, string path)
    {
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var rune in path.EnumerateRunes())
        {
            if (rune.IsAscii)
            {
                request.Append((char)rune.Value);
                continue;
            }

            int count = rune.EncodeToUtf8(utf8);
            foreach (byte b in utf8[..count])
            {
                request.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }
    }
}
