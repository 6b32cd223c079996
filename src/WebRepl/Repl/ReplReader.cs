using System.Globalization;

namespace WebRepl.Repl;

/// <summary>
/// Reads the board's terminal output as a byte stream: up to a marker, byte by byte, or in pieces. What it holds
/// while it looks for a marker is bounded by <paramref name="maxPending"/>: a board whose output never ends
/// (hostile, or a program printing in a loop) gets an error, not all of this computer's memory.
/// </summary>
internal sealed class ReplReader(TerminalOutput output, int maxPending)
{
    /// <summary>Enough for any prompt, banner or marker a board sends, whatever the reply limit is set to.</summary>
    public const int MinimumPending = 64 * 1024;

    private readonly List<byte> _pending = [];

    /// <summary>Reads up to and including <paramref name="marker"/>; returns what came before it.</summary>
    public async Task<byte[]> ReadUntilAsync(ReadOnlyMemory<byte> marker, CancellationToken cancellationToken)
    {
        int searchFrom = 0;
        while (true)
        {
            int at = IndexOf(marker.Span, searchFrom);
            if (at >= 0)
            {
                byte[] before = [.. _pending.GetRange(0, at)];
                _pending.RemoveRange(0, at + marker.Length);
                return before;
            }

            searchFrom = Math.Max(0, _pending.Count - marker.Length + 1);
            Take(await output.ReadAsync(cancellationToken).ConfigureAwait(false));
        }
    }

    /// <summary>
    /// Hands everything before <paramref name="delimiter"/> to <paramref name="sink"/> as it arrives, and consumes
    /// the delimiter. With <c>silence</c>, the longest wait for the next piece of output: longer is a
    /// <see cref="WebReplTimeoutException"/>.
    /// </summary>
    public async Task StreamUntilAsync(byte delimiter, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> sink, CancellationToken cancellationToken, TimeSpan? silence = null)
    {
        while (true)
        {
            int at = _pending.IndexOf(delimiter);
            if (at >= 0)
            {
                if (at > 0)
                {
                    await sink(_pending.GetRange(0, at).ToArray(), cancellationToken).ConfigureAwait(false);
                }

                _pending.RemoveRange(0, at + 1);
                return;
            }

            if (_pending.Count > 0)
            {
                await sink(_pending.ToArray(), cancellationToken).ConfigureAwait(false);
                _pending.Clear();
            }

            // Handed on at each turn, so what is held is one piece at most: the sink bounds the total if it must.
            var piece = silence is { } limit ? await ReadWithinAsync(limit, cancellationToken).ConfigureAwait(false) : await output.ReadAsync(cancellationToken).ConfigureAwait(false);
            _pending.AddRange(piece.Span);
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes.</summary>
    public async Task<byte[]> ReadBytesAsync(int count, CancellationToken cancellationToken)
    {
        while (_pending.Count < count)
        {
            Take(await output.ReadAsync(cancellationToken).ConfigureAwait(false));
        }

        byte[] bytes = [.. _pending.GetRange(0, count)];
        _pending.RemoveRange(0, count);
        return bytes;
    }

    /// <summary>Takes one byte if one has already arrived.</summary>
    public bool TryReadByte(out byte value)
    {
        if (_pending.Count == 0 && output.TryRead(out var chunk))
        {
            Take(chunk);
        }

        if (_pending.Count > 0)
        {
            value = _pending[0];
            _pending.RemoveAt(0);
            return true;
        }

        value = 0;
        return false;
    }

    /// <summary>Gives bytes read past the operation's end back to the terminal output.</summary>
    public void ReturnPending()
    {
        output.Unread(_pending.ToArray());
        _pending.Clear();
    }

    /// <summary>Drops what has arrived so far (stale output before an operation).</summary>
    public void Discard()
    {
        _pending.Clear();
        while (output.TryRead(out _))
        {
        }
    }

    private void Take(ReadOnlyMemory<byte> chunk)
    {
        if (_pending.Count + chunk.Length > maxPending)
        {
            _pending.Clear();
            throw new WebReplProtocolException(string.Create(
                CultureInfo.InvariantCulture,
                $"The board sent more than {maxPending:N0} bytes without the reply expected (a program printing without end, or not a MicroPython board?). The operation was stopped; WebReplClientOptions.MaxOperationReplyBytes sets the limit."));
        }

        _pending.AddRange(chunk.Span);
    }

    private async ValueTask<ReadOnlyMemory<byte>> ReadWithinAsync(TimeSpan silence, CancellationToken cancellationToken)
    {
        using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        quiet.CancelAfter(silence);
        try
        {
            return await output.ReadAsync(quiet.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WebReplTimeoutException(string.Create(
                CultureInfo.InvariantCulture,
                $"The board sent nothing for {silence.TotalSeconds:0.#} s in the middle of an operation's reply (a program holding it, or a board that stopped answering?). The operation was stopped."), ex);
        }
    }

    private int IndexOf(ReadOnlySpan<byte> marker, int from)
    {
        for (int i = from; i + marker.Length <= _pending.Count; i++)
        {
            bool match = true;
            for (int j = 0; j < marker.Length && match; j++)
            {
                match = _pending[i + j] == marker[j];
            }

            if (match)
            {
                return i;
            }
        }

        return -1;
    }
}
