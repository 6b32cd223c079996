using System.Text;
using WebRepl.Transport;

namespace WebRepl.Fuzz.Targets;

/// <summary>
/// The HTTP head reader of both ends of the upgrade (<c>WebSocketHandshake.ReadHeadAsync</c>), the board's
/// decision to upgrade (as <c>WebReplServer</c> makes it) and the client's check of the answer
/// (<c>CheckServerResponse</c>). Invariants: a head is returned exactly when the blank line comes within 16 KiB
/// (else a protocol error at the limit, or null at the end of the stream); its start line is the bytes before the
/// first line end; the bytes read past the head plus those not read are exactly the bytes after it; an upgrade
/// answer parses back as one well-formed head with the right accept value; the client accepts only a 101 with
/// the accept value of its key. Input: [piece count] [piece sizes...] [the peer's bytes].
/// </summary>
public static class HttpHeads
{
    public const string Key = "dGhlIHNhbXBsZSBub25jZQ==";
    private const int MaxHead = 16 * 1024;
    private static readonly WebReplTarget Target = WebReplTarget.Parse("ws://127.0.0.1:8266/");

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 1)
        {
            return;
        }

        var (pieces, data) = Check.SplitPieces(input[1..], input[0] & 7);
        var stream = new PeerStream(data, pieces);
        HttpHead? head;
        try
        {
            head = Check.Wait(WebSocketHandshake.ReadHeadAsync(stream, CancellationToken.None));
        }
        catch (WebReplProtocolException)
        {
            Check.That(data.AsSpan(0, Math.Min(data.Length, MaxHead)).IndexOf("\r\n\r\n"u8) < 0 && data.Length >= MaxHead, "the head was refused as too long, but it ends within 16 KiB");
            return;
        }

        int end = data.AsSpan(0, Math.Min(data.Length, MaxHead)).IndexOf("\r\n\r\n"u8);
        if (head is null)
        {
            Check.That(end < 0 && data.Length < MaxHead, "null (end of stream) returned for a complete head");
            return;
        }

        Check.That(end >= 0, "a head was returned without a blank line within 16 KiB");
        int firstLineEnd = data.AsSpan(0, end + 2).IndexOf("\r\n"u8);
        Check.That(head.StartLine == Encoding.Latin1.GetString(data, 0, firstLineEnd), "the start line is not the bytes before the first line end");
        byte[] after = [.. head.Leftover.ToArray(), .. stream.Unread];
        Check.That(after.AsSpan().SequenceEqual(data.AsSpan(end + 4)), "bytes after the head were lost or invented");

        // The board's side: upgrade only a request that asks for it, and answer with a clean head.
        string? key = head["Sec-WebSocket-Key"];
        if (head.HeaderContains("Connection", "Upgrade") && head.HeaderContains("Upgrade", "websocket") && !string.IsNullOrWhiteSpace(key))
        {
            byte[] response = WebSocketHandshake.BuildServerResponse(key);
            var reread = Check.Wait(WebSocketHandshake.ReadHeadAsync(new MemoryStream(response), CancellationToken.None));
            Check.That(reread is not null && reread.StartLine == "HTTP/1.1 101 Switching Protocols" && reread.Headers.Count == 3 && reread.Leftover.IsEmpty, "the upgrade answer is not one clean head");
            Check.That(reread!["Sec-WebSocket-Accept"] == WebSocketHandshake.ComputeAccept(key), "the upgrade answer has the wrong accept value");
        }

        // The client's side: accept only 101 with the accept value of our key.
        try
        {
            WebSocketHandshake.CheckServerResponse(head, Key, Target);
        }
        catch (WebReplConnectionException)
        {
            return;
        }

        string[] status = head.StartLine.Split(' ');
        Check.That(status.Length >= 2 && status[1] == "101", "the client accepted a status other than 101");
        Check.That(head["Sec-WebSocket-Accept"] == WebSocketHandshake.ComputeAccept(Key), "the client accepted a wrong accept value");
    }
}
