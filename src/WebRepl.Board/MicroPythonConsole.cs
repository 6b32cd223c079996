using System.Text;
using Microsoft.Extensions.Logging;
using WebRepl.Device;
using WebRepl.Protocol;

namespace WebRepl.Board;

/// <summary>
/// The board's console: keystrokes go to MicroPython in the Node.js host, its output to the attached
/// WebREPL session (and nowhere when none is attached, as a board's output then goes only to its UART).
/// </summary>
internal sealed partial class MicroPythonConsole : IWebReplConsole, IAsyncDisposable
{
    private readonly VirtualBoardOptions _options;
    private readonly string _root;
    private readonly string _hostScript;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _restartLock = new(1, 1);
    private readonly ConsoleOutputSlot _output = new();
    private NodeHost? _host;
    private HostReady? _ready;
    private int _restarts;

    public MicroPythonConsole(VirtualBoardOptions options, string root, string hostScript, ILogger logger)
    {
        _options = options;
        _root = root;
        _hostScript = hostScript;
        _logger = logger;
    }

    public WebReplVersion Version => _ready?.Version ?? default;

    public string SysVersion => _ready?.SysVersion ?? string.Empty;

    public int Restarts => Volatile.Read(ref _restarts);

    public int HostProcessId => _host?.ProcessId ?? 0;

    /// <summary>Raised when Python calls <c>machine.reset()</c>.</summary>
    public event Action? BoardReset;

    public Task StartAsync(CancellationToken cancellationToken) => StartHostAsync(cancellationToken);

    public async ValueTask WriteInputAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken)
    {
        var host = _host;
        if (host is null)
        {
            return;
        }

        try
        {
            await host.SendInputAsync(input, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The host has died: the watchdog restarts it and tells the client; these keys are lost, as on a rebooting board.
        }
    }

    public IDisposable AttachOutput(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> output) => _output.Attach(output);

    public void PrintNotice(string text)
    {
        LogNotice(_logger, text.Trim());
        _ = PrintAsync(Encoding.UTF8.GetBytes(text)).AsTask().ContinueWith(static _ => { }, TaskScheduler.Default);
    }

    /// <summary>The watchdog's check: restarts a host that has exited or does not answer in time.</summary>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        var host = _host;
        if (host is null)
        {
            return;
        }

        if (host.Completion.IsCompleted)
        {
            await RestartAsync(host, "crashed", cancellationToken).ConfigureAwait(false);
        }
        else if (!await host.PingAsync(_options.WatchdogTimeout, cancellationToken).ConfigureAwait(false))
        {
            // A host killed just now fails its ping before its read loop has seen the end of its output (often so
            // under CPU load): that is a crash, not a hang.
            string reason = host.HasExited ? "crashed" : $"stopped responding for {_options.WatchdogTimeout.TotalSeconds:0} s";
            await RestartAsync(host, reason, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task HardResetAsync(CancellationToken cancellationToken)
    {
        if (_host is { } host)
        {
            await host.HardResetAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        var host = Interlocked.Exchange(ref _host, null);
        if (host is not null)
        {
            await host.DisposeAsync().ConfigureAwait(false);
        }

        _restartLock.Dispose();
    }

    private async Task RestartAsync(NodeHost failed, string reason, CancellationToken cancellationToken)
    {
        await _restartLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_host != failed)
            {
                return;
            }

            LogRestart(_logger, reason, failed.DescribeStderr());
            failed.Kill();
            await failed.DisposeAsync().ConfigureAwait(false);
            Interlocked.Increment(ref _restarts);
            await PrintAsync(Encoding.UTF8.GetBytes($"\r\n[virtual board] MicroPython {reason}; restarting it (files are kept).\r\n"), cancellationToken).ConfigureAwait(false);
            await StartHostAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _restartLock.Release();
        }
    }

    private async Task StartHostAsync(CancellationToken cancellationToken)
    {
        try
        {
            var host = NodeHost.Start(_options.NodePath, _hostScript, _root, _options.MaxMemoryMB, _logger, output => PrintAsync(output, CancellationToken.None), () => BoardReset?.Invoke());
            // The board's from the start: it prints its prompt before it reports ready, and a client may type at
            // once; those keys must reach it, not the host it replaces.
            _host = host;
            _ready = await host.WaitReadyAsync(_options.StartTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            throw new VirtualBoardException("MicroPython could not be started: " + ex.Message, ex);
        }
    }

    private async ValueTask PrintAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        try
        {
            await _output.PrintAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebReplException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The session is going away; its server notices on its own. Nothing a session's sink throws may end
            // the caller, the loop that reads the interpreter's output: the board would go deaf until the watchdog
            // restarted it, and the next client's keys sent meanwhile would be lost.
        }
    }

    [LoggerMessage(EventId = 210, Level = LogLevel.Information, Message = "Board console: {Text}")]
    private static partial void LogNotice(ILogger logger, string text);

    [LoggerMessage(EventId = 211, Level = LogLevel.Warning, Message = "MicroPython {Reason}; restarting it.{Stderr}")]
    private static partial void LogRestart(ILogger logger, string reason, string stderr);
}
