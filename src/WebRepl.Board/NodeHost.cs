using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using WebRepl.Protocol;

namespace WebRepl.Board;

/// <summary>What the interpreter reported when it became ready.</summary>
/// <param name="Version">MicroPython's version.</param>
/// <param name="SysVersion">Python's <c>sys.version</c>.</param>
/// <param name="CanInterrupt">True when Ctrl-C can interrupt any running code.</param>
internal sealed record HostReady(WebReplVersion Version, string SysVersion, bool CanInterrupt);

/// <summary>
/// The Node.js process that runs MicroPython (host/host.mjs). Frames both ways: u8 type, u32 little-endian
/// length, payload (host/PROTOCOL-HOST.md). This class only carries frames; the protocol stays in C#.
/// </summary>
internal sealed partial class NodeHost : IAsyncDisposable
{
    private const byte Input = 0x01;
    private const byte Ping = 0x02;
    private const byte Reset = 0x03;
    private const byte Ready = 0x80;
    private const byte Output = 0x81;
    private const byte Pong = 0x82;
    private const byte Log = 0x83;
    private const byte BoardReset = 0x84;

    private readonly Process _process;
    private readonly Stream _stdin;
    private readonly Stream _stdout;
    private readonly ILogger _logger;
    private readonly Func<ReadOnlyMemory<byte>, ValueTask> _onOutput;
    private readonly Action _onBoardReset;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly TaskCompletionSource<HostReady> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _readLoop;
    private readonly StringBuilder _stderr = new();
    private TaskCompletionSource _pong = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    private NodeHost(Process process, ILogger logger, Func<ReadOnlyMemory<byte>, ValueTask> onOutput, Action onBoardReset)
    {
        _onBoardReset = onBoardReset;
        _process = process;
        ProcessId = process.Id;
        _stdin = process.StandardInput.BaseStream;
        _stdout = process.StandardOutput.BaseStream;
        _logger = logger;
        _onOutput = onOutput;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_stderr)
                {
                    _stderr.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        _readLoop = Task.Run(ReadLoopAsync);
    }

    /// <summary>Completes when the process has ended (its output read to the end).</summary>
    public Task Completion => _readLoop;

    /// <summary>True once the process has ended (or was disposed).</summary>
    public bool HasExited
    {
        get
        {
            try
            {
                return _process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return true;
            }
        }
    }

    /// <summary>The process's id (kept after the process has ended).</summary>
    public int ProcessId { get; }

    /// <summary>
    /// Starts the host; <see cref="WaitReadyAsync"/> waits for the interpreter. It takes input at once (the host
    /// queues it until the interpreter runs), and prints its banner and prompt before it reports ready.
    /// </summary>
    public static NodeHost Start(
        string nodePath, string hostScript, string root, int maxMemoryMB, ILogger logger, Func<ReadOnlyMemory<byte>, ValueTask> onOutput, Action onBoardReset)
    {
        var start = new ProcessStartInfo(nodePath)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(false),
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(hostScript)!,
        };
        start.ArgumentList.Add(hostScript);
        start.ArgumentList.Add("--root");
        start.ArgumentList.Add(root);
        start.ArgumentList.Add("--max-memory-mb");
        start.ArgumentList.Add(maxMemoryMB.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {nodePath}.");
        return new NodeHost(process, logger, onOutput, onBoardReset);
    }

    /// <summary>Waits until the interpreter is ready; disposes the host when it is not, within <paramref name="timeout"/>.</summary>
    public async Task<HostReady> WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(timeout);
            return await _ready.Task.WaitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"MicroPython did not start within {timeout.TotalSeconds:0} s.{DescribeStderr()}");
        }
        catch
        {
            await DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Terminal bytes for the interpreter (Ctrl-C interrupts running code).</summary>
    public ValueTask SendInputAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken) =>
        WriteFrameAsync(Input, input, cancellationToken);

    /// <summary>Discards the interpreter and starts a new one (machine.reset()); files stay.</summary>
    public ValueTask HardResetAsync(CancellationToken cancellationToken) =>
        WriteFrameAsync(Reset, ReadOnlyMemory<byte>.Empty, cancellationToken);

    /// <summary>True when the host answers a ping within <paramref name="timeout"/>.</summary>
    public async Task<bool> PingAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var pong = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _pong, pong);
        try
        {
            await WriteFrameAsync(Ping, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
            await pong.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Ends the process: closes its input (it exits on end of input), then kills it if it lingers. Once.</summary>
    public async ValueTask DisposeAsync()
    {
        // The watchdog disposes a host it replaces, and the board disposes its current host: the same one when the
        // board stops during a restart, or when starting the replacement failed.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await _writeLock.WaitAsync().ConfigureAwait(false);
            try
            {
                _stdin.Close();
            }
            finally
            {
                _writeLock.Release();
            }

            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // Still running: stop it the hard way.
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _readLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _process.Dispose();
        // The write lock is not disposed: it has no wait handle to free, and keys for this host can still come (the
        // console sends to it until the watchdog has started the next one); they must meet the IOException that
        // says "the host has ended", not an ObjectDisposedException, which ended the client's session.
    }

    /// <summary>Kills the process at once (a hung interpreter).</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>What the process printed on stderr, for error messages.</summary>
    public string DescribeStderr()
    {
        lock (_stderr)
        {
            string text = _stderr.ToString().Trim();
            return text.Length == 0 ? string.Empty : " Node.js said: " + text;
        }
    }

    private async ValueTask WriteFrameAsync(byte type, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        byte[] header = new byte[5];
        header[0] = type;
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(1), (uint)payload.Length);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                throw new IOException("The MicroPython host has ended.");
            }

            await _stdin.WriteAsync(header, cancellationToken).ConfigureAwait(false);
            if (!payload.IsEmpty)
            {
                await _stdin.WriteAsync(payload, cancellationToken).ConfigureAwait(false);
            }

            await _stdin.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException ex)
        {
            throw new IOException("The MicroPython host has ended.", ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task ReadLoopAsync()
    {
        byte[] header = new byte[5];
        try
        {
            while (await ReadExactlyAsync(header).ConfigureAwait(false))
            {
                int length = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(1)));
                byte[] payload = new byte[length];
                if (!await ReadExactlyAsync(payload).ConfigureAwait(false))
                {
                    break;
                }

                switch (header[0])
                {
                    case Output:
                        await _onOutput(payload).ConfigureAwait(false);
                        break;
                    case Ready when payload.Length >= 4:
                        _ready.TrySetResult(new HostReady(
                            new WebReplVersion(payload[0], payload[1], payload[2]),
                            Encoding.UTF8.GetString(payload, 4, payload.Length - 4),
                            (payload[3] & 1) != 0));
                        break;
                    case Pong:
                        Volatile.Read(ref _pong).TrySetResult();
                        break;
                    case BoardReset:
                        _onBoardReset();
                        break;
                    case Log:
                        LogHost(_logger, Encoding.UTF8.GetString(payload));
                        break;
                    default:
                        break; // file results: not used by the board
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
        }
        finally
        {
            _ready.TrySetException(new InvalidOperationException("The MicroPython host ended before it was ready." + DescribeStderr()));
        }
    }

    private async ValueTask<bool> ReadExactlyAsync(Memory<byte> buffer)
    {
        int read = await _stdout.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false).ConfigureAwait(false);
        return read == buffer.Length;
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Debug, Message = "MicroPython host: {Text}")]
    private static partial void LogHost(ILogger logger, string text);
}
