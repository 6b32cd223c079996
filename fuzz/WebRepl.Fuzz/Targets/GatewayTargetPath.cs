using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using WebRepl.Gateway.Hosting;
using WebRepl.Transport;

namespace WebRepl.Fuzz.Targets;

/// <summary>
/// The gateway's reading of a request target (<c>/ws://HOST:PORT/...</c>, <c>/boards/NAME</c>) into the board it
/// connects to, and the request it then sends upstream; and <see cref="WebReplTarget.TryParse"/> itself (the CLI's
/// <c>-t</c>). Invariants: an accepted target prints and parses back to itself; its host and path hold no control
/// characters or spaces (issue 19, findings 3 and 6), and its path is ASCII; the upstream request parses back as exactly one GET of that
/// path with the five headers the client writes, nothing smuggled after it; a refusal's message (logged, and sent
/// as a close reason) holds no control characters. Input: the request target, as Latin-1.
/// </summary>
public static class GatewayTargetPath
{
    private static readonly ForwardingEndpoint Endpoint = new(
        WebRepl.Gateway.GatewayOptions.Default, null!, null!,
        new Dictionary<string, WebReplTarget>(StringComparer.Ordinal) { ["v"] = WebReplTarget.Parse("ws://127.0.0.1:8266") },
        null!, NullLogger.Instance, CancellationToken.None);

    public static void Run(ReadOnlySpan<byte> input)
    {
        string raw = Encoding.Latin1.GetString(input);
        if (WebReplTarget.TryParse(raw, out var direct, out _))
        {
            CheckTarget(direct, "WebReplTarget.TryParse");
        }

        // As ForwardingEndpoint.HandleAsync: only the paths it serves, the query cut off.
        if (!ForwardingEndpoint.Matches(raw))
        {
            return;
        }

        int query = raw.IndexOf('?', StringComparison.Ordinal);
        string path = query < 0 ? raw : raw[..query];
        if (!Endpoint.TryResolveTarget(path, out var target, out string? name, out string? error))
        {
            Check.That(!error.Any(char.IsControl), $"the refusal's message holds a control character: {Escape(error)}");
            return;
        }

        Check.That(target is not null, "resolved to no target");
        if (name is null)
        {
            CheckTarget(target!, "the gateway");
        }
    }

    private static void CheckTarget(WebReplTarget target, string who)
    {
        Check.That(target.Port is >= 1 and <= 65535, $"{who}: port {target.Port}");
        Check.That(target.Path.StartsWith('/'), $"{who}: the path does not start with '/'");
        Check.That(!target.Path.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)), $"{who}: the path holds a control character or a space: {Escape(target.Path)}");
        Check.That(target.Host.Length > 0 && !target.Host.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c is '/' or '?' or '#' or '@'), $"{who}: the host holds a control character, a space or a URL delimiter: {Escape(target.Host)}");
        Check.That(WebReplTarget.TryParse(target.ToString(), out var again, out _) && again == target, $"{who}: {Escape(target.ToString())} does not parse back to itself");

        byte[] request = WebSocketHandshake.BuildClientRequest(target, HttpHeads.Key, []);
        Check.That(request.All(b => b < 0x80), $"{who}: the upstream request for {Escape(target.ToString())} is not ASCII (a non-ASCII path character would be lost)");
        var head = Check.Wait(WebSocketHandshake.ReadHeadAsync(new MemoryStream(request), CancellationToken.None));
        // Non-ASCII path characters go percent-encoded as UTF-8; the rest as they are.
        string expected = string.Concat(target.Path.EnumerateRunes().Select(r => r.IsAscii ? r.ToString() : Uri.EscapeDataString(r.ToString())));
        Check.That(head is not null && head.StartLine == $"GET {expected} HTTP/1.1" && head.Headers.Count == 5 && head.Leftover.IsEmpty, $"{who}: the upstream request for {Escape(target.ToString())} is not one clean GET");
    }

    private static string Escape(string text) =>
        string.Concat(text.Select(c => char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString()));
}
