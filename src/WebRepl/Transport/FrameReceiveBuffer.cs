using System.Net.Sockets;

namespace WebRepl.Transport;

/// <summary>
/// The receiving side's buffer: reads the stream in large pieces, hands out frame headers and payloads. Starts
/// small when asked (many idle connections) and grows once a read fills it (a peer sending in bursts). One reader
/// at a time.
/// </summary>
internal sealed class FrameReceiveBuffer
{
    /// <summary>The default size: a board's largest frame and its header.</summary>
    public const int DefaultSize = 64 * 1024 + 16;

    private const int MinSize = 1024;

    private readonly Stream _stream;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private volatile bool _disposed;

    public FrameReceiveBuffer(Stream stream, ReadOnlyMemory<byte> leftover, int size)
    {
        // Large payloads are read straight into their own array, so a small buffer only costs more reads.
        _buffer = new byte[Math.Max(Math.Max(size, MinSize), leftover.Length)];
        _stream = stream;
        leftover.CopyTo(_buffer);
        _end = leftover.Length;
    }

    /// <summary>Set when the connection is disposed: a read that fails then is the end of the stream, not an error.</summary>
    public bool Disposed
    {
        get => _disposed;
        set => _disposed = value;
    }

    /// <summary>The bytes received and not yet taken.</summary>
    public ReadOnlySpan<byte> Buffered => _buffer.AsSpan(_start, _end - _start);

    /// <summary>Drops <paramref name="count"/> buffered bytes (a header that has been read).</summary>
    public void Skip(int count) => _start += count;

    /// <summary>
    /// True when a whole data frame is already buffered, so that the next receive needs no read. Control frames do
    /// not count: the receive that handles one goes on to read the next frame.
    /// </summary>
    public bool HasWholeDataFrame =>
        WebSocketFrameCodec.TryReadHeader(Buffered, out var header)
        && header.Opcode <= WebSocketFrameCodec.Binary
        && header.PayloadLength >= 0
        && Buffered.Length - header.HeaderLength >= header.PayloadLength;

    /// <summary>Makes at least <paramref name="count"/> bytes available; false when the stream ends first.</summary>
    public async ValueTask<bool> FillAsync(int count, CancellationToken cancellationToken)
    {
        while (_end - _start < count)
        {
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }

            int read = await ReadStreamAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return false;
            }

            _end += read;
            if (_end == _buffer.Length && _buffer.Length < DefaultSize)
            {
                // A read filled the small buffer: the peer sends in bursts (a PUT, a paste). A larger buffer from
                // now on takes a burst in fewer reads, and a relay can pass more frames on in one write.
                var larger = new byte[DefaultSize];
                _buffer.AsSpan(0, _end).CopyTo(larger);
                _buffer = larger;
            }
        }

        return true;
    }

    /// <summary>Reads a payload of <paramref name="length"/> bytes into a new array.</summary>
    /// <exception cref="WebReplConnectionException">The stream ended first.</exception>
    public async ValueTask<byte[]> ReadPayloadAsync(int length, CancellationToken cancellationToken)
    {
        byte[] payload = length == 0 ? [] : new byte[length];
        int copied = Math.Min(length, _end - _start);
        _buffer.AsSpan(_start, copied).CopyTo(payload);
        _start += copied;
        while (copied < length)
        {
            // Large payloads go straight into their array; small ones through the buffer to save reads.
            int remaining = length - copied;
            if (remaining >= _buffer.Length / 2)
            {
                int read = await ReadStreamAsync(payload.AsMemory(copied), cancellationToken).ConfigureAwait(false);
                copied += read > 0 ? read : throw Dropped();
            }
            else
            {
                if (!await FillAsync(remaining, cancellationToken).ConfigureAwait(false))
                {
                    throw Dropped();
                }

                _buffer.AsSpan(_start, remaining).CopyTo(payload.AsSpan(copied));
                _start += remaining;
                copied += remaining;
            }
        }

        return payload;
    }

    /// <summary>The error for a stream that ends inside a frame.</summary>
    public static WebReplConnectionException Dropped() =>
        new("The peer dropped the connection in the middle of a frame.");

    private async ValueTask<int> ReadStreamAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        try
        {
            return await _stream.ReadAsync(destination, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            if (Disposed || ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
            {
                return 0;
            }

            throw new WebReplConnectionException("The connection to the peer was lost.", ex);
        }
    }
}
