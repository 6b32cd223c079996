namespace WebRepl.Protocol;

/// <summary>Where a client's request stream is (<see cref="WebReplRequestReader"/>).</summary>
public enum WebReplRequestStage
{
    /// <summary>Between requests, or inside a request record.</summary>
    Record,

    /// <summary>A PUT: the file's bytes.</summary>
    PutData,

    /// <summary>A GET: every byte asks for one chunk, until the board's file ends (<see cref="WebReplRequestReader.EndGet"/>).</summary>
    GetData,
}

/// <summary>What the bytes <see cref="WebReplRequestReader.Read"/> consumed were.</summary>
public enum WebReplRequestPart
{
    /// <summary>Part of a request record (it is kept until complete).</summary>
    Incomplete,

    /// <summary>The last bytes of a request record: the record is complete.</summary>
    Record,

    /// <summary>A PUT's file bytes.</summary>
    PutData,

    /// <summary>One byte that asks for the next GET chunk.</summary>
    ChunkRequest,
}

/// <summary>
/// A complete request record as the firmware reads it (extmod/modwebrepl.c): the op is byte 2 and the signature is
/// never checked; op 3 (GET_VER) reads nothing else; any other op opens the name, as a GET does.
/// </summary>
/// <param name="Op">The record's op byte.</param>
/// <param name="Request">
/// The request the board acts on: for an op other than 1, 2 or 3 a <see cref="WebReplOperation.GetFile"/> of the
/// name; null when the name runs past its field or is not UTF-8 (a board would act on it unpredictably).
/// </param>
public readonly record struct WebReplRecord(byte Op, WebReplRequest? Request)
{
    /// <summary>True for op 1, 2 or 3: after any other op the firmware reads no more records.</summary>
    public bool IsKnown => Op is (byte)WebReplOperation.PutFile or (byte)WebReplOperation.GetFile or (byte)WebReplOperation.GetVersion;
}

/// <summary>
/// Reads the binary half of a WebREPL session from the client's side as one byte stream, whatever the frames
/// (docs/protocol.md, "The request record"): 82-byte records, a PUT's file bytes, a GET's one-byte chunk requests.
/// A GET ends when the board's file does, which only the board knows: its side (or whoever follows its replies)
/// calls <see cref="EndGet"/>, and the bytes after are records again. Used by the board's side
/// (<c>WebReplServer</c>) and by the gateway, which follows every client's requests. Not thread-safe.
/// </summary>
public sealed class WebReplRequestReader
{
    private readonly byte[] _record = new byte[WebReplRequest.Length];
    private int _filled;
    private long _putRemaining;

    /// <summary>Where the stream is.</summary>
    public WebReplRequestStage Stage { get; private set; }

    /// <summary>True inside a request record (some of its bytes have come).</summary>
    public bool InsideRecord => Stage == WebReplRequestStage.Record && _filled > 0;

    /// <summary>Bytes of the PUT's file still to come (0 outside one).</summary>
    public long PutRemaining => Stage == WebReplRequestStage.PutData ? _putRemaining : 0;

    /// <summary>
    /// Reads the next part of the stream from the start of <paramref name="data"/> and returns how many bytes it
    /// took (at least one unless <paramref name="data"/> is empty). For <see cref="WebReplRequestPart.Record"/>,
    /// <paramref name="record"/> is the record; the stage then follows it as the firmware's does: a PUT with a size
    /// reads its file, a GET its chunk requests, anything else more records.
    /// </summary>
    public int Read(ReadOnlySpan<byte> data, out WebReplRequestPart part, out WebReplRecord record)
    {
        record = default;
        part = WebReplRequestPart.Incomplete;
        if (data.IsEmpty)
        {
            return 0;
        }

        switch (Stage)
        {
            case WebReplRequestStage.PutData:
            {
                int take = (int)Math.Min(data.Length, _putRemaining);
                _putRemaining -= take;
                if (_putRemaining == 0)
                {
                    Stage = WebReplRequestStage.Record;
                }

                part = WebReplRequestPart.PutData;
                return take;
            }

            case WebReplRequestStage.GetData:
                part = WebReplRequestPart.ChunkRequest;
                return 1;

            default:
            {
                int take = Math.Min(data.Length, _record.Length - _filled);
                data[..take].CopyTo(_record.AsSpan(_filled));
                _filled += take;
                if (_filled == _record.Length)
                {
                    _filled = 0;
                    record = Complete();
                    part = WebReplRequestPart.Record;
                }

                return take;
            }
        }
    }

    /// <summary>The board's file has ended (it sent the empty chunk): the bytes that follow are records again.</summary>
    public void EndGet()
    {
        if (Stage == WebReplRequestStage.GetData)
        {
            Stage = WebReplRequestStage.Record;
        }
    }

    /// <summary>Forgets everything: a new stream.</summary>
    public void Reset()
    {
        _filled = 0;
        _putRemaining = 0;
        Stage = WebReplRequestStage.Record;
    }

    private WebReplRecord Complete()
    {
        byte op = _record[2];
        if (op == (byte)WebReplOperation.GetVersion)
        {
            return new WebReplRecord(op, new WebReplRequest(WebReplOperation.GetVersion, 0, string.Empty));
        }

        _record[0] = (byte)'W';
        _record[1] = (byte)'A';
        if (op is not ((byte)WebReplOperation.PutFile or (byte)WebReplOperation.GetFile))
        {
            _record[2] = (byte)WebReplOperation.GetFile;
        }

        var record = new WebReplRecord(op, WebReplRequest.TryRead(_record, out var request) ? request : null);
        if (record.Request is { } known && record.IsKnown)
        {
            if (known.Operation == WebReplOperation.PutFile && known.Size > 0)
            {
                _putRemaining = known.Size;
                Stage = WebReplRequestStage.PutData;
            }
            else if (known.Operation == WebReplOperation.GetFile)
            {
                Stage = WebReplRequestStage.GetData;
            }
        }

        return record;
    }
}
