using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using WebRepl.Device;
using WebRepl.Protocol;

namespace WebRepl.Board;

/// <summary>
/// A MicroPython board without hardware: the real interpreter (MicroPython's WebAssembly build, run by
/// Node.js in a child process) behind a <see cref="WebReplServer"/>. Its files are a host folder, which the
/// interpreter and WebREPL's PUT and GET both use directly, so they persist across restarts. A watchdog
/// restarts an interpreter that crashes or stops answering, keeping the files and telling the client.
/// <code>
///  client ──ws──► WebReplServer ──keys──► MicroPythonConsole ──frames──► node host.mjs ──► MicroPython
///                      │ PUT/GET                                                              │
///                      └──────────────► DirectoryFileStore ◄──── the same folder ─────────────┘
/// </code>
/// </summary>
public sealed partial class VirtualBoard : IAsyncDisposable
{
    private const int MinimumNodeMajor = 20;
    // Both cases and digits without look-alikes (no 0/O/o, 1/I/l/i): 54 characters.
    private const string PasswordAlphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

    private readonly VirtualBoardOptions _options;
    private readonly ILogger _logger;
    private readonly MicroPythonConsole _console;
    private readonly CancellationTokenSource _stopping = new();
    private WebReplServer? _server;
    private Task? _watchdog;

    private VirtualBoard(VirtualBoardOptions options, string root, string password, bool passwordGenerated, string hostScript)
    {
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<VirtualBoard>();
        Root = root;
        Password = password;
        PasswordGenerated = passwordGenerated;
        _console = new MicroPythonConsole(options, root, hostScript, _logger);
        // A board that resets drops its WebREPL connection; clients reconnect (webrepl reset --hard --wait).
        _console.BoardReset += () => _server?.DisconnectSession();
    }

    /// <summary>The folder with the board's files.</summary>
    public string Root { get; }

    /// <summary>The WebREPL password.</summary>
    public string Password { get; }

    /// <summary>True when the password was generated (none was given).</summary>
    public bool PasswordGenerated { get; }

    /// <summary>Where WebREPL listens.</summary>
    public IPEndPoint EndPoint => _server?.LocalEndPoint ?? throw new InvalidOperationException("The board is not started.");

    /// <summary>The board's WebREPL URL.</summary>
    public string Url => $"ws://{FormatHost(EndPoint.Address)}:{EndPoint.Port}/";

    /// <summary>MicroPython's version.</summary>
    public WebReplVersion Version => _console.Version;

    /// <summary>Python's <c>sys.version</c> on the board.</summary>
    public string SysVersion => _console.SysVersion;

    /// <summary>How many times the interpreter was restarted by the watchdog.</summary>
    public int Restarts => _console.Restarts;

    /// <summary>The process id of the Node.js host that runs MicroPython now.</summary>
    internal int HostProcessId => _console.HostProcessId;

    /// <summary>The WebREPL server (for its session state).</summary>
    public WebReplServer Server => _server ?? throw new InvalidOperationException("The board is not started.");

    /// <summary>Checks Node.js and the folder, starts MicroPython, then WebREPL.</summary>
    /// <exception cref="VirtualBoardException">Node.js missing or too old, the folder not writable, the port in use.</exception>
    public static async Task<VirtualBoard> StartAsync(VirtualBoardOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new VirtualBoardOptions();
        string password = options.Password ?? GeneratePassword();
        // As the firmware (extmod/modwebrepl.c): a password of at most 9 bytes, typed up to a line end.
        if (Encoding.UTF8.GetByteCount(password) is < 1 or > WebReplClient.MaxPasswordLength || password.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            throw new VirtualBoardException(
                $"The board's password has 1 to {WebReplClient.MaxPasswordLength} characters (bytes in UTF-8) and no line end, as on a real board; choose another.");
        }

        if (options.MaxMemoryMB is < 32 or > 4096)
        {
            throw new VirtualBoardException("The interpreter's memory cap must be from 32 to 4096 MB.");
        }

        string hostScript = FindHostScript();
        await CheckNodeAsync(options.NodePath, cancellationToken).ConfigureAwait(false);
        string root = PrepareRoot(options.Root ?? VirtualBoardOptions.DefaultRoot);
        var board = new VirtualBoard(options, root, password, options.Password is null, hostScript);
        try
        {
            await board._console.StartAsync(cancellationToken).ConfigureAwait(false);
            var server = new WebReplServer(
                new WebReplServerOptions { Password = password, EndPoint = options.EndPoint, LoggerFactory = options.LoggerFactory },
                board._console,
                options.FileStore?.Invoke(root) ?? new DirectoryFileStore(root));
            try
            {
                server.Start();
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                throw new VirtualBoardException(
                    $"Port {options.EndPoint.Port} on {options.EndPoint.Address} is in use (another board?). Choose another with --port, or 0 for any free port.", ex);
            }
            catch (SocketException ex)
            {
                throw new VirtualBoardException($"Cannot listen on {options.EndPoint}: {ex.Message}. Check --bind and --port.", ex);
            }

            board._server = server;
            board._watchdog = Task.Run(board.WatchdogAsync, CancellationToken.None);
            LogStarted(board._logger, board.Url, root);
            return board;
        }
        catch
        {
            await board.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Discards the interpreter and starts a new one, as <c>machine.reset()</c> does; files stay.</summary>
    public Task HardResetAsync(CancellationToken cancellationToken = default) => _console.HardResetAsync(cancellationToken);

    /// <summary>Stops WebREPL and the interpreter.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_watchdog is not null)
        {
            await _watchdog.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }

        await _console.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>
    /// A password of 9 characters, the most a board's firmware keeps, from both cases and digits without look-alikes:
    /// 54^9, about 52 bits (lower case alone would give 45).
    /// </summary>
    public static string GeneratePassword() =>
        new(Enumerable.Range(0, WebReplClient.MaxPasswordLength).Select(_ => PasswordAlphabet[RandomNumberGenerator.GetInt32(PasswordAlphabet.Length)]).ToArray());

    private async Task WatchdogAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.WatchdogInterval, _stopping.Token).ConfigureAwait(false);
                await _console.CheckAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is VirtualBoardException or IOException or InvalidOperationException)
            {
                LogWatchdogFailed(_logger, ex);
            }
        }
    }

    private static string FindHostScript()
    {
        // Beside the program: the build copies board-host/ next to the assembly, and a native (AOT) or single-file
        // webrepl has no assembly file at all (Assembly.Location is empty), only its executable's folder.
        string folder = AppContext.BaseDirectory;
        string candidate = Path.Combine(folder, "board-host", "host.mjs");
        if (File.Exists(candidate) && Directory.Exists(Path.Combine(folder, "board-host", "node_modules")))
        {
            return candidate;
        }

        throw new VirtualBoardException("The MicroPython host (board-host/host.mjs with its node_modules) is missing beside the program: rebuild it (the build runs npm ci).");
    }

    private static async Task CheckNodeAsync(string nodePath, CancellationToken cancellationToken)
    {
        string output;
        try
        {
            using var process = Process.Start(new ProcessStartInfo(nodePath, "--version") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })
                ?? throw new VirtualBoardException($"Could not start '{nodePath}'.");
            output = (await process.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false)).Trim();
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new VirtualBoardException(
                $"Node.js was not found ('{nodePath}'): the virtual board runs MicroPython with Node.js {MinimumNodeMajor} or newer. Install it (e.g. apt-get install nodejs) or give its path with --node.", ex);
        }

        string digits = output.TrimStart('v').Split('.')[0];
        if (!int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int major) || major < MinimumNodeMajor)
        {
            throw new VirtualBoardException($"Node.js {output} is too old: the virtual board needs Node.js {MinimumNodeMajor} or newer. Upgrade it, or give another with --node.");
        }
    }

    private static string PrepareRoot(string root)
    {
        string full = Path.GetFullPath(root);
        try
        {
            Directory.CreateDirectory(full);
            string probe = Path.Combine(full, $".webrepl-write-test-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return full;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new VirtualBoardException($"The board folder '{full}' is not writable ({ex.Message}). Choose another with --root.", ex);
        }
    }

    private static string FormatHost(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Virtual board listening on {Url}, files in {Root}")]
    private static partial void LogStarted(ILogger logger, string url, string root);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Watchdog check failed")]
    private static partial void LogWatchdogFailed(ILogger logger, Exception exception);
}
