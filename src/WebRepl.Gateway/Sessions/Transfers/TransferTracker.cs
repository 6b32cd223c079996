using System.Buffers.Binary;
using System.Text;
using WebRepl.Protocol;

namespace WebRepl.Gateway.Sessions;

/// <summary>
/// Follows the binary half of a WebREPL session (docs/protocol.md, "The request record" and "Replies") from both
/// ends: the requesting client's bytes and the board's replies, each read as one byte stream whatever the
/// frames. It knows when a request is complete, which is when another client's request may go to the board.
/// <code>
///  client: [82-byte record]──PUT──►[size bytes]            GET──►[00][00]...        GET_VER
///  board :          WB 00 00 ...... WB 00 00      WB 00 00 ◄─[len|data]... [00 00] WB 00 00   [3 bytes]
/// </code>
/// GET read-ahead: a client asks for the next chunk (one byte) after the open status and after every chunk
/// that is not empty, and only then; the gateway may send that byte for it as soon as the board's reply
/// arrives (<see cref="ReadAheadDue"/>, <see cref="OnGatewayRequest"/>), so that the board reads the next
/// chunk while the client is still receiving this one. The client's own byte, when it comes, is then owed
/// and is not forwarded (<see cref="OnClientBytes"/> says how many leading bytes to drop).
/// A client may pipeline: send many <c>00</c> bytes at once, each one chunk request (<see cref="ChunksInFlight"/>).
/// Read-ahead happens only when all of them are answered, so it never adds to them; and since it follows a chunk
/// that is not empty, the board is still in the GET and reads the byte as a chunk request, never as a record.
/// Requests still in flight when the empty chunk comes are, as for the board, the start of the next record.
/// The client's side is read by <see cref="WebReplRequestReader"/>, as the board's side (<c>WebReplServer</c>) reads it.
/// Not thread-safe: the session calls it under its lock.
/// </summary>
internal sealed class TransferTracker
{
    private static readonly byte[] Zeros = new byte[WebReplRequest.Length];
    private readonly WebReplRequestReader _requests = new();
    private readonly Queue<Reply> _expected = new();
    private Reply _replyInProgress;
    private int _replyFilled;
    private int _chunkDataRemaining;
    private readonly byte[] _replyHeader = new byte[4];
    private int _owed;
    private bool _readAheadDue;

    private enum Reply
    {
        None,
        Status,
        Version,
        Chunk,
    }

    /// <summary>True when no request is under way: no partial record, no data or reply outstanding, no request byte owed by the client.</summary>
    public bool IsIdle => _requests.Stage == WebReplRequestStage.Record && !_requests.InsideRecord && _expected.Count == 0 && _replyInProgress == Reply.None && _owed == 0;

    /// <summary>
    /// True right after the board's reply that a client answers by asking for the next GET chunk (the open
    /// status with code 0, or a chunk that is not empty) while nothing else is asked for and the client owes
    /// nothing: the gateway runs one chunk ahead of the client at most.
    /// </summary>
    public bool ReadAheadDue => _readAheadDue && _owed == 0;

    /// <summary>True inside a request record (the board holds a partial record that nothing can complete sensibly).</summary>
    public bool InsideRecord => _requests.InsideRecord;

    /// <summary>Bytes of a PUT's file still to be sent.</summary>
    public long PutRemaining => _requests.PutRemaining;

    /// <summary>GET chunk requests sent to the board and not answered yet (a pipelining client has many).</summary>
    public int ChunksInFlight => _expected.Count(r => r == Reply.Chunk) + (_replyInProgress == Reply.Chunk ? 1 : 0);

    /// <summary>True during a GET when no chunk is asked for: the next <c>00</c> may be sent.</summary>
    public bool GetNeedsRequest => _requests.Stage == WebReplRequestStage.GetData && _expected.Count == 0 && _replyInProgress == Reply.None;

    /// <summary>The request under way, for logs and the session list (the file name is not secret; the data is never kept).</summary>
    public string? Operation { get; private set; }

    /// <summary>Request records seen.</summary>
    public long Requests { get; private set; }

    /// <summary>The gateway asked the board for the next GET chunk on the client's behalf (after <see cref="ReadAheadDue"/>).</summary>
    public void OnGatewayRequest()
    {
        _readAheadDue = false;
        _expected.Enqueue(Reply.Chunk);
        _owed++;
        UpdateOperation();
    }

    /// <summary>The requesting client left: the bytes it owed will not come.</summary>
    public void ForgetOwed()
    {
        _owed = 0;
        UpdateOperation(); // the owed byte may have been all that kept the transfer from being idle
    }

    /// <summary>The request bytes the client still owes (they are the gateway's to drop), and forgets them here.</summary>
    public int TakeOwed()
    {
        int owed = _owed;
        _owed = 0;
        UpdateOperation();
        return owed;
    }

    /// <summary>
    /// Reads bytes the requesting client sent to the board. Returns how many leading bytes the gateway already
    /// sent for it (read-ahead): those must not go to the board again.
    /// </summary>
    public int OnClientBytes(ReadOnlySpan<byte> data)
    {
        int owed = Math.Min(_owed, data.Length);
        _owed -= owed;
        data = data[owed..];
        Follow(data);
        UpdateOperation();
        return owed;
    }

    /// <summary>Reads bytes the board sent in binary frames; bytes nobody asked for are ignored.</summary>
    public void OnBoardBytes(ReadOnlySpan<byte> data)
    {
        _readAheadDue = false;
        while (!data.IsEmpty)
        {
            if (_replyInProgress == Reply.None)
            {
                if (!_expected.TryDequeue(out _replyInProgress))
                {
                    break; // nothing expected: stray bytes (the operation shown is still brought up to date)
                }

                _replyFilled = 0;
            }

            switch (_replyInProgress)
            {
                case Reply.Status or Reply.Version:
                {
                    int length = _replyInProgress == Reply.Status ? WebReplStatus.Length : WebReplVersion.Length;
                    int take = Math.Min(data.Length, length - _replyFilled);
                    data[..take].CopyTo(_replyHeader.AsSpan(_replyFilled));
                    _replyFilled += take;
                    data = data[take..];
                    if (_replyFilled == length)
                    {
                        // The GET's open status: a client asks for the first chunk only when the code is 0.
                        _readAheadDue = _replyInProgress == Reply.Status && _requests.Stage == WebReplRequestStage.GetData && _expected.Count == 0 &&
                            _replyHeader[2] == 0 && _replyHeader[3] == 0;
                        _replyInProgress = Reply.None;
                    }

                    break;
                }

                default:
                    if (_replyFilled < WebReplChunk.HeaderLength)
                    {
                        _replyHeader[_replyFilled++] = data[0];
                        data = data[1..];
                        if (_replyFilled == WebReplChunk.HeaderLength)
                        {
                            _chunkDataRemaining = BinaryPrimitives.ReadUInt16LittleEndian(_replyHeader);
                            if (_chunkDataRemaining == 0)
                            {
                                EndOfFile();
                            }
                        }
                    }
                    else
                    {
                        int take = Math.Min(data.Length, _chunkDataRemaining);
                        _chunkDataRemaining -= take;
                        data = data[take..];
                        if (_chunkDataRemaining == 0)
                        {
                            _replyInProgress = Reply.None;
                            _readAheadDue = _requests.Stage == WebReplRequestStage.GetData && _expected.Count == 0;
                        }
                    }

                    break;
            }
        }

        UpdateOperation();
    }

    /// <summary>Forgets everything (a transfer that stalled, or a new board connection).</summary>
    public void Reset()
    {
        _requests.Reset();
        _expected.Clear();
        _replyInProgress = Reply.None;
        _replyFilled = 0;
        _chunkDataRemaining = 0;
        _owed = 0;
        _readAheadDue = false;
        Operation = null;
    }

    private void EndOfFile()
    {
        // The empty chunk ends the file; the board sends a status next. Chunk requests it has not answered
        // (a pipelining client's surplus) are, for the board, the first bytes of the next record: so here too.
        _replyInProgress = Reply.None;
        var rest = _expected.ToArray();
        _expected.Clear();
        _expected.Enqueue(Reply.Status);
        foreach (var reply in rest.Where(r => r != Reply.Chunk))
        {
            _expected.Enqueue(reply);
        }

        _requests.EndGet();
        int surplus = rest.Count(r => r == Reply.Chunk);
        while (surplus > 0)
        {
            // Records of zeros (op 0, as the board reads them), and the start of one.
            int part = Math.Min(surplus, Zeros.Length);
            Follow(Zeros.AsSpan(0, part));
            surplus -= part;
        }
    }

    /// <summary>Follows the client's request stream: what each part makes the board send back.</summary>
    private void Follow(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            int used = _requests.Read(data, out var part, out var record);
            data = data[used..];
            switch (part)
            {
                case WebReplRequestPart.Record:
                    StartRequest(record);
                    break;
                case WebReplRequestPart.PutData when _requests.Stage == WebReplRequestStage.Record:
                    _expected.Enqueue(Reply.Status); // the whole file has come
                    break;
                case WebReplRequestPart.ChunkRequest:
                    // GET: every byte asks for the next chunk; once the client has asked, the gateway must not ask too.
                    _expected.Enqueue(Reply.Chunk);
                    _readAheadDue = false;
                    break;
            }
        }
    }

    private void StartRequest(WebReplRecord record)
    {
        Requests++;
        if (record.Op == (byte)WebReplOperation.GetVersion)
        {
            _currentOp = "version";
            _currentName = null;
            _expected.Enqueue(Reply.Version);
            return;
        }

        if (!record.IsKnown)
        {
            // Any other op opens the name and replies with a status (or drops the session); the board then reads
            // no more records, which a client learns by getting no replies.
            _currentOp = $"request with op {record.Op}";
            _currentName = record.Request?.FileName;
            _expected.Enqueue(Reply.Status);
            return;
        }

        if (record.Request is not { } request)
        {
            // A name that runs past its field or is not UTF-8: the firmware would act on it unpredictably; nothing is known to come back.
            Operation = null;
            return;
        }

        _currentName = request.FileName;
        _currentOp = request.Operation == WebReplOperation.PutFile ? "put" : "get";
        _expected.Enqueue(Reply.Status);
        if (request.Operation == WebReplOperation.PutFile && request.Size == 0)
        {
            _expected.Enqueue(Reply.Status);
        }
    }

    private string? _currentOp;
    private string? _currentName;

    private void UpdateOperation() =>
        Operation = IsIdle ? null : _currentOp is null ? "request" : _currentName is null ? _currentOp : new StringBuilder(_currentOp).Append(" '").Append(_currentName).Append('\'').ToString();
}
