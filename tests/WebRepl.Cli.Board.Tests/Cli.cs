using System.Text;

namespace WebRepl.Cli.Board.Tests;

/// <summary>The result of one run of the command: its exit code, standard output (text and bytes, in that order) and standard error.</summary>
public sealed record CliRun(int ExitCode, string Out, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Out}\n--- stderr ---\n{Error}";
}

/// <summary>Runs the command in-process with captured streams, as <c>webrepl ARGS</c> would run.</summary>
internal static class Cli
{
    public static async Task<CliRun> RunAsync(string[] args, IDictionary<string, string> environment, Stream? stdout, CancellationToken cancellationToken)
    {
        var output = stdout ?? new WatchedStream();
        var outWriter = new StringWriter();
        var errWriter = new StringWriter();
        var context = new CliContext
        {
            Out = outWriter,
            Error = errWriter,
            OpenInput = () => new MemoryStream(),
            OpenOutput = () => output,
            InputIsTerminal = false,
            ErrorIsTerminal = false,
            GetEnvironmentVariable = name => environment.TryGetValue(name, out string? value) ? value : null,
        };
        int code = await WebReplCli.RunAsync(args, context, cancellationToken: cancellationToken);
        string bytes = output is WatchedStream watched ? watched.Text : string.Empty;
        return new CliRun(code, outWriter + bytes, errWriter.ToString());
    }
}

/// <summary>
/// Standard output as bytes, readable while the command runs: <see cref="WaitForAsync"/> completes once a text
/// has been written (to see output stream in before the program ends).
/// </summary>
public sealed class WatchedStream : Stream
{
    private readonly Lock _gate = new();
    private readonly List<byte> _bytes = [];
    private readonly List<(string Text, TaskCompletionSource Seen)> _waiters = [];

    public string Text
    {
        get
        {
            lock (_gate)
            {
                return Encoding.UTF8.GetString([.. _bytes]);
            }
        }
    }

    public byte[] Bytes
    {
        get
        {
            lock (_gate)
            {
                return [.. _bytes];
            }
        }
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Completes when <paramref name="text"/> has been written.</summary>
    public Task WaitForAsync(string text, CancellationToken cancellationToken)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _waiters.Add((text, seen));
        }

        Check();
        return seen.Task.WaitAsync(cancellationToken);
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_gate)
        {
            _bytes.AddRange(buffer);
        }

        Check();
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private void Check()
    {
        string text = Text;
        lock (_gate)
        {
            foreach (var waiter in _waiters.Where(w => text.Contains(w.Text, StringComparison.Ordinal)).ToList())
            {
                waiter.Seen.TrySetResult();
                _waiters.Remove(waiter);
            }
        }
    }
}
