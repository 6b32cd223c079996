using WebRepl.Protocol;

namespace WebRepl.Device;

/// <summary>
/// A console that prints back what it is sent, as a terminal echoes keystrokes. For tests, demos and
/// benchmarks of the protocol without an interpreter. <see cref="PrintAsync"/> prints anything, any bytes.
/// </summary>
public sealed class EchoConsole : IWebReplConsole
{
    private readonly Lock _gate = new();
    private readonly ConsoleOutputSlot _output = new();

    /// <summary>Creates the console with the version it reports.</summary>
    public EchoConsole(WebReplVersion? version = null)
    {
        Version = version ?? new WebReplVersion(1, 24, 1);
    }

    /// <inheritdoc/>
    public WebReplVersion Version { get; }

    private readonly List<string> _notices = [];

    /// <summary>Everything printed with <see cref="PrintNotice"/>, for tests to read.</summary>
    public IReadOnlyList<string> Notices
    {
        get
        {
            lock (_gate)
            {
                return [.. _notices];
            }
        }
    }

    /// <inheritdoc/>
    public ValueTask WriteInputAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken) =>
        PrintAsync(input, cancellationToken);

    /// <summary>Prints bytes to the attached output, if any.</summary>
    public ValueTask PrintAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default) =>
        _output.PrintAsync(bytes, cancellationToken);

    /// <inheritdoc/>
    public IDisposable AttachOutput(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> output) => _output.Attach(output);

    /// <inheritdoc/>
    public void PrintNotice(string text)
    {
        lock (_gate)
        {
            _notices.Add(text);
        }

        _ = PrintAsync(System.Text.Encoding.UTF8.GetBytes(text)).AsTask().ContinueWith(static _ => { }, TaskScheduler.Default);
    }
}
