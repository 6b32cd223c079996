namespace WebRepl.Protocol;

/// <summary>
/// How many chunk requests (<c>00</c> bytes) a pipelined GET may have in flight (docs/protocol.md, "GET
/// pipelining"). The board answers every byte it reads during a GET with one chunk, and reads the bytes after
/// the empty chunk as the next 82-byte request record, whose op is byte 2. So a request the file does not need
/// is a "surplus" byte: one or two can be completed into a GET_VER record; three make the op 0, which the
/// board cannot undo. Pure arithmetic, no I/O.
/// <list type="bullet">
/// <item>Known size S (from a listing): at most <c>ceil((S - received) / 256) + 1</c> in flight, the chunks an
/// unchanged file can still send (its data chunks and the empty one): no surplus unless the file shrinks.</item>
/// <item>Unknown size: at most <see cref="SafeUnknownSize"/> in flight, so that at most two are surplus.</item>
/// <item>Unknown size, last request of the session: at most <see cref="RecordBound"/> in flight; the surplus
/// stays a partial record that the close discards.</item>
/// </list>
/// </summary>
public sealed class GetRequestWindow
{
    /// <summary>In flight when the size is unknown and the session goes on: at most two surplus bytes.</summary>
    public const int SafeUnknownSize = 3;

    /// <summary>In flight when the size is unknown and the session ends after: the surplus stays below one record.</summary>
    public const int RecordBound = WebReplRequest.Length;

    /// <summary>The most surplus bytes that a GET_VER record can absorb (bytes 0 and 1 are the signature, never checked).</summary>
    public const int MaxRecoverableSurplus = 2;

    private readonly long? _expectedSize;
    private readonly int _limit;
    private readonly int _batch;

    /// <summary>Creates the window.</summary>
    /// <param name="expectedSize">The file's size from a listing, or null.</param>
    /// <param name="maxInFlight">The most requests in flight the caller wants (bandwidth times round trip, in chunks).</param>
    /// <param name="sessionEndsAfter">True when the connection closes after this GET (only used when the size is unknown).</param>
    public GetRequestWindow(long? expectedSize, int maxInFlight, bool sessionEndsAfter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInFlight, 1);
        if (expectedSize is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(expectedSize));
        }

        _expectedSize = expectedSize;
        _limit = expectedSize is null ? Math.Min(maxInFlight, sessionEndsAfter ? RecordBound : SafeUnknownSize) : maxInFlight;
        // Top up in batches (one frame per batch), but never let the board run dry: a batch is an eighth of the window.
        _batch = Math.Max(1, _limit / 8);
    }

    /// <summary>Requests sent.</summary>
    public long Sent { get; private set; }

    /// <summary>Chunks received, the empty one included.</summary>
    public long Answered { get; private set; }

    /// <summary>Data bytes received.</summary>
    public long Received { get; private set; }

    /// <summary>True once the empty chunk has come.</summary>
    public bool Ended { get; private set; }

    /// <summary>Requests sent and not answered.</summary>
    public long InFlight => Sent - Answered;

    /// <summary>After the end: requests the board reads as the start of the next record.</summary>
    public int Surplus => Ended ? (int)Math.Min(InFlight, int.MaxValue) : 0;

    /// <summary>True when the data so far goes beyond the expected size: the file grew on the board.</summary>
    public bool Overran => _expectedSize is long size && Received > size;

    /// <summary>How many requests to send now (0: wait for chunks).</summary>
    public int Due()
    {
        if (Ended)
        {
            return 0;
        }

        long target = _limit;
        if (_expectedSize is long size)
        {
            long remaining = Math.Max(0, size - Received);
            target = Math.Min(target, ((remaining + WebReplChunk.MaxData - 1) / WebReplChunk.MaxData) + 1);
        }

        long deficit = target - InFlight;
        // A top-up when a batch is free, or when nothing is in flight (the last few chunks of a file).
        return deficit > 0 && (deficit >= _batch || InFlight == 0 || deficit == target) ? (int)deficit : 0;
    }

    /// <summary>Records requests sent.</summary>
    public void OnSent(int count) => Sent += count;

    /// <summary>Records a chunk's header (its data length); 0 ends the file.</summary>
    public void OnChunk(int dataLength)
    {
        if (InFlight <= 0)
        {
            throw new InvalidOperationException("A chunk came that no request asked for.");
        }

        Answered++;
        Received += dataLength;
        Ended = dataLength == 0;
    }
}
