namespace WebRepl.Fuzz;

/// <summary>An invariant of a target did not hold: the fuzzer's finding.</summary>
public sealed class InvariantException : Exception
{
    public InvariantException(string message)
        : base(message)
    {
    }

    public InvariantException()
    {
    }

    public InvariantException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

internal static class Check
{
    public static void That(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvariantException(what);
        }
    }

    /// <summary>Runs an async step of a target to its end; a target taking longer than this hangs (a finding).</summary>
    public static T Wait<T>(Task<T> task, int seconds = 20)
    {
        if (!Finished(task, seconds))
        {
            throw new InvariantException($"hung: no result within {seconds} s on a finite input");
        }

        return task.GetAwaiter().GetResult();
    }

    public static void Wait(Task task, int seconds = 20)
    {
        if (!Finished(task, seconds))
        {
            throw new InvariantException($"hung: no result within {seconds} s on a finite input");
        }

        task.GetAwaiter().GetResult();
    }

    private static bool Finished(Task task, int seconds)
    {
        try
        {
            return task.Wait(TimeSpan.FromSeconds(seconds));
        }
        catch (AggregateException)
        {
            return true; // faulted: GetResult throws the exception itself
        }
    }

    /// <summary>The first <paramref name="count"/> bytes after the input's first byte say how reads are split (see <see cref="PeerStream"/>).</summary>
    public static (ReadOnlyMemory<byte> Pieces, byte[] Data) SplitPieces(ReadOnlySpan<byte> input, int count)
    {
        count = Math.Min(count, input.Length);
        return (input[..count].ToArray(), input[count..].ToArray());
    }
}

/// <summary>
/// A peer's bytes from memory: reads return at most the next piece size (a cycle chosen by the input), so that
/// targets see frames and heads split at every place a network would split them. Writes are kept.
/// </summary>
internal sealed class PeerStream(byte[] data, ReadOnlyMemory<byte> pieces) : Stream
{
    private int _position;
    private int _piece;

    public MemoryStream Written { get; } = new();

    public int Reads { get; private set; }

    public ReadOnlySpan<byte> Unread => data.AsSpan(_position);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        Reads++;
        int size = pieces.IsEmpty ? int.MaxValue : 1 + pieces.Span[_piece++ % pieces.Length];
        int n = Math.Min(Math.Min(size, buffer.Length), data.Length - _position);
        data.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Write(byte[] buffer, int offset, int count) => Written.Write(buffer, offset, count);

    public override void Write(ReadOnlySpan<byte> buffer) => Written.Write(buffer);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Written.Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Written.Write(buffer, offset, count);
        return Task.CompletedTask;
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
