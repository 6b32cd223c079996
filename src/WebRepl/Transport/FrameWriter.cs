using System.Buffers;
using System.Net.Sockets;

namespace WebRepl.Transport;

/// <summary>
/// Writes frames to the stream as a <see cref="WebSocketBehavior"/> says: masked or not, in one write or (as the
/// firmware) header and payload apart. Frames sent without flush wait in a send buffer of up to 64 KiB, so that a
/// relay forwarding a burst writes it in one go. Not thread-safe: the connection's send lock is held around it.
/// </summary>
internal sealed class FrameWriter(Stream stream, WebSocketBehavior behavior)
{
    private const int PendingCapacity = 64 * 1024;

    private byte[]? _pending;
    private int _pendingLength;

    /// <summary>The bytes of frames waiting in the send buffer.</summary>
    public int PendingBytes => Volatile.Read(ref _pendingLength);

    /// <summary>
    /// Writes one frame; with <paramref name="flush"/> false it may wait in the send buffer instead (never with split
    /// writes). A frame larger than the buffer, or one that does not fit behind what waits, flushes the buffer first.
    /// </summary>
    /// <exception cref="WebReplConnectionException">The connection broke.</exception>
    public async ValueTask WriteFrameAsync(byte opcode, ReadOnlyMemory<byte> payload, bool fin, bool flush, CancellationToken cancellationToken)
    {
        uint? key = behavior.MasksFrames ? WebSocketFrameCodec.NewMaskKey() : null;
        int headerLength = WebSocketFrameCodec.HeaderLength(payload.Length, key is not null);
        int frameLength = headerLength + payload.Length;
        bool split = behavior.SplitWrites;
        // Into the send buffer, behind the frames already waiting there (written when a send flushes), unless the
        // frame is larger than the buffer; built in place either way.
        bool buffered = !split && (!flush || _pendingLength > 0) && frameLength <= PendingCapacity;
        byte[]? frame = null;
        try
        {
            if (!split && _pendingLength > 0 && (!buffered || _pendingLength + frameLength > PendingCapacity))
            {
                await WritePendingAsync(cancellationToken).ConfigureAwait(false);
            }

            if (buffered)
            {
                _pending ??= ArrayPool<byte>.Shared.Rent(PendingCapacity);
                WebSocketFrameCodec.WriteFrame(_pending.AsSpan(_pendingLength, frameLength), opcode, fin, payload.Span, key);
                Volatile.Write(ref _pendingLength, _pendingLength + frameLength);
                if (flush)
                {
                    await WritePendingAsync(cancellationToken).ConfigureAwait(false);
                }

                return;
            }

            frame = ArrayPool<byte>.Shared.Rent(frameLength);
            WebSocketFrameCodec.WriteFrame(frame.AsSpan(0, frameLength), opcode, fin, payload.Span, key);
            if (split)
            {
                // As the firmware does: the header and the payload are two writes.
                await stream.WriteAsync(frame.AsMemory(0, headerLength), cancellationToken).ConfigureAwait(false);
                if (payload.Length > 0)
                {
                    await stream.WriteAsync(frame.AsMemory(headerLength, payload.Length), cancellationToken).ConfigureAwait(false);
                }
            }
            else
            {
                await stream.WriteAsync(frame.AsMemory(0, frameLength), cancellationToken).ConfigureAwait(false);
            }

            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            throw Lost(ex);
        }
        finally
        {
            if (frame is not null)
            {
                ArrayPool<byte>.Shared.Return(frame);
            }
        }
    }

    /// <summary>Writes the frames waiting in the send buffer, if any.</summary>
    /// <exception cref="WebReplConnectionException">The connection broke.</exception>
    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await WritePendingAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            throw Lost(ex);
        }
    }

    /// <summary>Drops what waits (the connection is gone) and gives the buffer back to the pool.</summary>
    public void Discard()
    {
        if (_pending is { } pending)
        {
            _pending = null;
            _pendingLength = 0;
            ArrayPool<byte>.Shared.Return(pending);
        }
    }

    private static WebReplConnectionException Lost(Exception ex) =>
        new("The connection to the peer was lost while sending.", ex);

    private async ValueTask WritePendingAsync(CancellationToken cancellationToken)
    {
        if (_pending is not { } pending || _pendingLength == 0)
        {
            return;
        }

        int length = _pendingLength;
        Volatile.Write(ref _pendingLength, 0);
        _pending = null;
        try
        {
            await stream.WriteAsync(pending.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(pending);
        }
    }
}
