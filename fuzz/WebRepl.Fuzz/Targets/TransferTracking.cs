using System.Buffers.Binary;
using System.Text;
using WebRepl.Gateway.Sessions;
using WebRepl.Protocol;

namespace WebRepl.Fuzz.Targets;

/// <summary>
/// The gateway's transfer tracking, which decides when a board is between requests (and so when another
/// client's request may go to it) and runs GET one chunk ahead. The input is a script for a well-behaved client
/// and board (PUT, GET, GET_VER, and a record with an unknown op that ends the transfers, each message split at chosen places, with or
/// without the gateway's read-ahead); the target plays it and checks the tracker against what the protocol
/// says at every step: idle exactly between requests (never while a record, data or a reply is outstanding),
/// inside a record exactly while part of one was sent, the PUT bytes still due, the requests counted, read-ahead
/// offered only where the client would ask for the next chunk, and the client's owed byte dropped exactly once.
/// A second mode feeds arbitrary bytes from both ends: no exception, and idle means no operation shown.
/// </summary>
public static class TransferTracking
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 1)
        {
            return;
        }

        if ((input[0] & 0x80) != 0)
        {
            Arbitrary(input[1..]);
            return;
        }

        new Script(input[1..].ToArray()).Play();
    }

    private static void Arbitrary(ReadOnlySpan<byte> input)
    {
        var tracker = new TransferTracker();
        while (input.Length >= 2)
        {
            int size = Math.Min(input[0] >> 1, input.Length - 1);
            if ((input[0] & 1) == 0)
            {
                int owed = tracker.OnClientBytes(input.Slice(1, size));
                Check.That(owed >= 0 && owed <= size, "dropped more bytes than were given");
            }
            else
            {
                tracker.OnBoardBytes(input.Slice(1, size));
            }

            if (tracker.ReadAheadDue && (input[0] & 0x40) != 0)
            {
                tracker.OnGatewayRequest();
            }

            Check.That(!tracker.IsIdle || tracker.Operation is null, "idle, yet an operation is shown");
            Check.That(tracker.PutRemaining >= 0, "negative PUT bytes due");
            input = input[(1 + size)..];
        }
    }

    /// <summary>WEBREPL_FUZZ_TRACE=1: the script's requests on stderr, to read a finding.</summary>
    private static readonly bool Trace = Environment.GetEnvironmentVariable("WEBREPL_FUZZ_TRACE") == "1";

    private sealed class Script(byte[] script)
    {
        private readonly TransferTracker _tracker = new();
        private int _at;
        private long _requests;

        private byte Next() => _at < script.Length ? script[_at++] : (byte)0;

        private bool More => _at < script.Length;

        public void Play()
        {
            for (int i = 0; More && i < 64; i++)
            {
                Check.That(_tracker.IsIdle && _tracker.Operation is null && !_tracker.InsideRecord, $"not idle between requests (operation {_tracker.Operation ?? "none"}, inside a record: {_tracker.InsideRecord})");
                byte op = Next();
                if (Trace)
                {
                    Console.Error.WriteLine($"request {i}: {op % 4} at script byte {_at}");
                }

                switch (op % 4)
                {
                    case 0:
                        Put();
                        break;
                    case 1:
                        Get();
                        break;
                    case 2:
                        SendRecord(Record(WebReplOperation.GetVersion, 0), counts: true);
                        Board([1, 2, 3], last: true);
                        break;
                    default:
                        // As the firmware reads it: no signature check (XX), the op is byte 2; an op it does not know
                        // opens the name and answers with a status, after which the board reads no more records.
                        byte[] unknown = Record(WebReplOperation.GetFile, 0);
                        unknown[0] = (byte)'X';
                        unknown[2] = (byte)(4 + (Next() % 200));
                        SendRecord(unknown, counts: true);
                        Board("WB\0\0"u8.ToArray(), last: true);
                        Check.That(_tracker.IsIdle, "not idle after an unknown op's status");
                        Check.That(_tracker.Requests == _requests, $"{_tracker.Requests} requests counted, {_requests} sent");
                        return;
                }

                Check.That(_tracker.IsIdle, "not idle after a request's last reply");
                Check.That(_tracker.Requests == _requests, $"{_tracker.Requests} requests counted, {_requests} sent");
            }
        }

        private void Put()
        {
            int size = Next() * 3;
            SendRecord(Record(WebReplOperation.PutFile, (uint)size), counts: true);
            Board("WB\0\0"u8.ToArray(), last: false);
            if (size == 0)
            {
                Board("WB\0\0"u8.ToArray(), last: true);
                return;
            }

            int sent = 0;
            while (sent < size)
            {
                Check.That(_tracker.PutRemaining == size - sent, $"PUT: {_tracker.PutRemaining} bytes due, {size - sent} expected");
                int n = Math.Min(size - sent, 1 + Next());
                Check.That(_tracker.OnClientBytes(new byte[n]) == 0, "PUT data bytes were dropped");
                sent += n;
                Check.That(!_tracker.IsIdle, "idle before the PUT's final status");
            }

            Board("WB\0\0"u8.ToArray(), last: true);
        }

        private void Get()
        {
            SendRecord(Record(WebReplOperation.GetFile, 0), counts: true);
            Board("WB\0\0"u8.ToArray(), last: false);
            while (true)
            {
                // The client asks for the next chunk: after the open status and after each chunk that is not empty.
                Check.That(_tracker.GetNeedsRequest, "GET: the tracker does not expect the next request");
                Check.That(_tracker.ReadAheadDue, "GET: read-ahead is not offered where the client would ask for a chunk");
                bool end;
                switch (Next() % 3)
                {
                    case 0:
                        // No read-ahead: the client's byte goes to the board.
                        Check.That(_tracker.OnClientBytes([0]) == 0, "GET: a client request was dropped though nothing was owed");
                        Check.That(!_tracker.ReadAheadDue, "GET: read-ahead offered while a chunk is asked for");
                        end = ChunkReply(owed: false);
                        break;
                    case 1:
                        // Read-ahead, and the client's own byte comes before the chunk: the gateway drops it.
                        _tracker.OnGatewayRequest();
                        Check.That(!_tracker.ReadAheadDue, "GET: read-ahead offered twice");
                        Check.That(_tracker.OnClientBytes([0]) == 1, "GET: the client's owed request was forwarded");
                        end = ChunkReply(owed: false);
                        break;
                    default:
                        // Read-ahead, and the client's byte comes after the chunk (or never: it left).
                        _tracker.OnGatewayRequest();
                        end = ChunkReply(owed: true);
                        Check.That(!_tracker.ReadAheadDue, "GET: read-ahead offered while the client owes a byte");
                        if (end && (Next() & 1) != 0)
                        {
                            _tracker.ForgetOwed();
                        }
                        else
                        {
                            Check.That(_tracker.OnClientBytes([0]) == 1, "GET: the client's owed request was forwarded");
                        }

                        break;
                }

                if (end)
                {
                    Check.That(_tracker.IsIdle, "GET: not idle after the end");
                    return;
                }
            }
        }

        /// <summary>The board's answer to one chunk request: a chunk, or the empty chunk and the final status.</summary>
        private bool ChunkReply(bool owed)
        {
            int length = Next() % 5 == 0 ? 0 : 1 + Next();
            byte[] chunk = new byte[2 + length];
            BinaryPrimitives.WriteUInt16LittleEndian(chunk, (ushort)length);
            Board(chunk, last: false);
            if (length == 0)
            {
                // Idle only once the client owes nothing: its late byte must not be taken for a record's start.
                Board("WB\0\0"u8.ToArray(), last: !owed);
            }

            return length == 0;
        }

        private void SendRecord(byte[] record, bool counts, bool idleAfter = false)
        {
            int at = 0;
            while (at < record.Length)
            {
                Check.That(_tracker.InsideRecord == (at > 0), "inside-record is wrong");
                int n = Math.Min(record.Length - at, 1 + (Next() % 90));
                Check.That(_tracker.OnClientBytes(record.AsSpan(at, n)) == 0, "record bytes were dropped");
                at += n;
                Check.That(at == record.Length || !_tracker.IsIdle, "idle in the middle of a record");
            }

            Check.That(!_tracker.InsideRecord, "inside a record after its last byte");
            Check.That(_tracker.IsIdle == idleAfter, idleAfter ? "not idle after a garbage record" : "idle after a request record, before its reply");
            if (counts)
            {
                _requests++;
            }
        }

        private void Board(byte[] reply, bool last)
        {
            int at = 0;
            while (at < reply.Length)
            {
                Check.That(!_tracker.IsIdle, "idle while a reply is outstanding");
                int n = Math.Min(reply.Length - at, 1 + (Next() % 8));
                _tracker.OnBoardBytes(reply.AsSpan(at, n));
                at += n;
            }

            Check.That(_tracker.IsIdle == last, last ? "not idle after the last reply" : "idle before the last reply");
        }

        private byte[] Record(WebReplOperation operation, uint size)
        {
            string name = operation == WebReplOperation.GetVersion ? string.Empty : "f" + Encoding.ASCII.GetString([(byte)('a' + (Next() % 26))]);
            return new WebReplRequest(operation, size, name).ToArray();
        }
    }
}
