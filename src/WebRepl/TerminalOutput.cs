using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace WebRepl;

/// <summary>
/// The board's console output, as the bytes it sent in text frames (unchanged: not decoded, not checked as
/// UTF-8). One reader at a time.
/// </summary>
public sealed class TerminalOutput
{
    private readonly ChannelReader<ReadOnlyMemory<byte>> _reader;
    private readonly Func<Exception> _closedError;
    private ReadOnlyMemory<byte> _pending;

    internal TerminalOutput(ChannelReader<ReadOnlyMemory<byte>> reader, Func<Exception> closedError)
    {
        _reader = reader;
        _closedError = closedError;
    }

    /// <summary>Waits for the next piece of output.</summary>
    /// <exception cref="WebReplConnectionException">The connection has ended and all output was read.</exception>
    public async ValueTask<ReadOnlyMemory<byte>> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (!_pending.IsEmpty)
        {
            var pending = _pending;
            _pending = default;
            return pending;
        }

        while (await _reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_reader.TryRead(out var chunk))
            {
                return chunk;
            }
        }

        throw _closedError();
    }

    /// <summary>Takes output that has already arrived, without waiting.</summary>
    public bool TryRead(out ReadOnlyMemory<byte> chunk)
    {
        if (!_pending.IsEmpty)
        {
            chunk = _pending;
            _pending = default;
            return true;
        }

        return _reader.TryRead(out chunk);
    }

    /// <summary>All output until the connection ends.</summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (!_pending.IsEmpty)
        {
            var pending = _pending;
            _pending = default;
            yield return pending;
        }

        while (await _reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (_reader.TryRead(out var chunk))
            {
                yield return chunk;
            }
        }
    }

    /// <summary>Puts bytes back so that the next read returns them first.</summary>
    internal void Unread(ReadOnlyMemory<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        if (_pending.IsEmpty)
        {
            _pending = bytes;
        }
        else
        {
            byte[] joined = new byte[bytes.Length + _pending.Length];
            bytes.CopyTo(joined);
            _pending.CopyTo(joined.AsMemory(bytes.Length));
            _pending = joined;
        }
    }
}
