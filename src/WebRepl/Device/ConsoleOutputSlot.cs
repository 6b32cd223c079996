namespace WebRepl.Device;

/// <summary>
/// Where a console's output goes: the attached session's sink, or nowhere (as a board's output then goes only
/// to its UART). The piece that <see cref="IWebReplConsole.AttachOutput"/> implementations share.
/// </summary>
public sealed class ConsoleOutputSlot
{
    private readonly Lock _gate = new();
    private Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask>? _output;

    /// <summary>Sends output to <paramref name="output"/> until the handle is disposed (a later attach replaces it).</summary>
    public IDisposable Attach(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> output)
    {
        lock (_gate)
        {
            _output = output;
        }

        return new Detach(this, output);
    }

    /// <summary>Hands bytes to the attached output; does nothing when none is attached.</summary>
    public ValueTask PrintAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask>? output;
        lock (_gate)
        {
            output = _output;
        }

        return output is null ? ValueTask.CompletedTask : output(bytes, cancellationToken);
    }

    private sealed class Detach(ConsoleOutputSlot slot, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> output) : IDisposable
    {
        public void Dispose()
        {
            lock (slot._gate)
            {
                if (slot._output == output)
                {
                    slot._output = null;
                }
            }
        }
    }
}
