using System.Buffers.Binary;
using System.Text;
using WebRepl.Transport;

namespace WebRepl.Fuzz.Targets;

/// <summary>
/// The WebSocket frame reader (<see cref="WebSocketConnection.ReceiveAsync"/>) in each role, on a peer's bytes
/// split into reads of every size. Invariants: the frames, the close and the error are those of a plain reading
/// of RFC 6455 as docs/protocol.md ("Transport") narrows it (a reference decoder below); only WebRepl's protocol and connection
/// errors are thrown; <see cref="WebSocketConnection.HasBufferedFrame"/> never promises a frame that needs a
/// read; what the reader writes back (pongs, the close echo) is well formed and masked only by a client.
/// Input: [role][piece count] [piece sizes...] [the peer's bytes].
/// </summary>
public static class WebSocketFrames
{
    private const int MaxFrame = 4096;

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 2)
        {
            return;
        }

        var role = (input[0] % 3) switch
        {
            0 => WebSocketRole.Client,
            1 => WebSocketRole.Server,
            _ => WebSocketRole.Board,
        };
        var (pieces, data) = Check.SplitPieces(input[2..], input[1] & 7);
        var expected = Reference(data, role, out var pings, out byte[]? closeEcho);

        var stream = new PeerStream(data, pieces);
        var connection = new WebSocketConnection(stream, null, role, ReadOnlyMemory<byte>.Empty, MaxFrame, 1024);
        var actual = new List<string>();
        while (true)
        {
            bool promised = connection.HasBufferedFrame;
            int reads = stream.Reads;
            WebSocketFrame frame;
            try
            {
                frame = Check.Wait(connection.ReceiveAsync().AsTask());
            }
            catch (WebReplProtocolException)
            {
                actual.Add("protocol error");
                break;
            }
            catch (WebReplConnectionException)
            {
                actual.Add("connection error");
                break;
            }

            Check.That(!promised || stream.Reads == reads, "HasBufferedFrame was true, but the next frame needed a read");
            actual.Add(Describe(frame));
            if (frame.Type == WebSocketFrameType.Close)
            {
                var again = Check.Wait(connection.ReceiveAsync().AsTask());
                Check.That(again.Type == WebSocketFrameType.Close, "a receive after the close returned a data frame");
                break;
            }
        }

        Check.That(actual.SequenceEqual(expected), $"frames differ from the reference:\n  got      {string.Join(" | ", actual)}\n  expected {string.Join(" | ", expected)}");
        CheckWritten(stream.Written.ToArray(), role, pings, closeEcho);
    }

    private static string Describe(WebSocketFrame frame) => frame.Type == WebSocketFrameType.Close
        ? $"close {frame.CloseStatus?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"} {frame.CloseReason ?? "-"}"
        : $"{frame.Type} fin={frame.EndOfMessage} {Convert.ToHexString(frame.Payload.Span)}";

    /// <summary>RFC 6455 read plainly, with the reader's documented choices (limits, the board's refusal of 64-bit lengths).</summary>
    private static List<string> Reference(byte[] data, WebSocketRole role, out List<byte[]> pings, out byte[]? closeEcho)
    {
        var events = new List<string>();
        pings = [];
        closeEcho = null;
        var type = WebSocketFrameType.Text;
        int at = 0;
        while (true)
        {
            int left = data.Length - at;
            if (left < 2)
            {
                events.Add("close - connection dropped without a close frame");
                return events;
            }

            byte b0 = data[at], b1 = data[at + 1];
            int lengthCode = b1 & 0x7f;
            if (lengthCode == 127 && role == WebSocketRole.Board)
            {
                events.Add("protocol error");
                return events;
            }

            bool masked = (b1 & 0x80) != 0;
            int header = 2 + (lengthCode == 126 ? 2 : lengthCode == 127 ? 8 : 0) + (masked ? 4 : 0);
            if (left < header)
            {
                events.Add("connection error");
                return events;
            }

            ulong length = lengthCode switch
            {
                126 => BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(at + 2)),
                127 => BinaryPrimitives.ReadUInt64BigEndian(data.AsSpan(at + 2)),
                _ => (ulong)lengthCode,
            };
            if (length > MaxFrame)
            {
                events.Add("protocol error");
                return events;
            }

            if ((ulong)(left - header) < length)
            {
                events.Add("connection error");
                return events;
            }

            byte[] payload = data.AsSpan(at + header, (int)length).ToArray();
            if (masked)
            {
                for (int i = 0; i < payload.Length; i++)
                {
                    payload[i] ^= data[at + header - 4 + (i % 4)];
                }
            }

            at += header + (int)length;
            bool fin = (b0 & 0x80) != 0;
            switch (b0 & 0x0f)
            {
                case 0:
                    events.Add($"{type} fin={fin} {Convert.ToHexString(payload)}");
                    break;
                case 1:
                    type = WebSocketFrameType.Text;
                    goto case 0;
                case 2:
                    type = WebSocketFrameType.Binary;
                    goto case 0;
                case 8:
                    int? status = payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(payload) : null;
                    string? reason = payload.Length > 2 ? Encoding.UTF8.GetString(payload, 2, payload.Length - 2) : null;
                    events.Add($"close {status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"} {reason ?? "-"}");
                    closeEcho = new byte[role == WebSocketRole.Board ? 0 : 2];
                    if (role != WebSocketRole.Board)
                    {
                        BinaryPrimitives.WriteUInt16BigEndian(closeEcho, (ushort)(status ?? 1000));
                    }

                    return events;
                case 9:
                    if (role != WebSocketRole.Board)
                    {
                        pings.Add(payload);
                    }

                    break;
                case 10:
                    break;
                default:
                    events.Add("protocol error");
                    return events;
            }
        }
    }

    /// <summary>What the reader wrote: a pong per ping (same payload), then the close echo; masked only by a client.</summary>
    private static void CheckWritten(byte[] written, WebSocketRole role, List<byte[]> pings, byte[]? closeEcho)
    {
        var expected = pings.Select(p => (Opcode: 0xA, Payload: p)).ToList();
        if (closeEcho is not null)
        {
            expected.Add((0x8, closeEcho));
        }

        int at = 0;
        foreach (var (opcode, payload) in expected)
        {
            Check.That(written.Length - at >= 2, "a pong or the close echo was not written");
            Check.That(written[at] == (0x80 | opcode), $"written frame starts with {written[at]:x2}, expected {0x80 | opcode:x2}");
            bool masked = (written[at + 1] & 0x80) != 0;
            Check.That(masked == (role == WebSocketRole.Client), "a written frame is masked by a non-client or unmasked by a client");
            int code = written[at + 1] & 0x7f;
            int header = 2 + (code == 126 ? 2 : code == 127 ? 8 : 0) + (masked ? 4 : 0);
            long length = code == 126 ? BinaryPrimitives.ReadUInt16BigEndian(written.AsSpan(at + 2)) : code == 127 ? (long)BinaryPrimitives.ReadUInt64BigEndian(written.AsSpan(at + 2)) : code;
            Check.That(length == payload.Length && written.Length - at - header >= length, "a written frame has the wrong length");
            byte[] body = written.AsSpan(at + header, (int)length).ToArray();
            for (int i = 0; masked && i < body.Length; i++)
            {
                body[i] ^= written[at + header - 4 + (i % 4)];
            }

            Check.That(body.AsSpan().SequenceEqual(payload), "a pong does not echo its ping, or the close echo is wrong");
            at += header + (int)length;
        }

        Check.That(at == written.Length, "the reader wrote more than pongs and the close echo");
    }
}
