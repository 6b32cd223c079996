using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using WebRepl.Client;
using WebRepl.Protocol;
using WebRepl.Repl;
using WebRepl.Transport;

namespace WebRepl;

/// <summary>
/// A connection to a MicroPython board's WebREPL: log in, use the terminal, send and fetch files, run code, ask the
/// version. Terminal output and transfer replies arrive on one socket; a background reader sorts them (text frames:
/// terminal, binary frames: transfers). One transfer or REPL operation at a time; terminal input waits for them.
/// </summary>
/// <remarks>
/// The work is done by helpers it owns: <see cref="ClientConnection"/> (the socket and its reader),
/// <see cref="FileTransfers"/> (GET_VER, PUT, GET), <see cref="RawReplSession"/> (code in the raw REPL, resets), and
/// <see cref="LoginExchange"/>. The <see cref="Repl"/> types reach the connection only through
/// <see cref="IReplTerminal"/> and <see cref="IBoardOperations"/>.
/// </remarks>
public sealed class WebReplClient : IAsyncDisposable, IBoardOperations, Mount.IMountChannel
{
    /// <summary>The longest password a real board accepts (webrepl_setup's limit; the firmware keeps 10 bytes of the line typed).</summary>
    public const int MaxPasswordLength = 9;

    /// <summary>
    /// The longest password the client sends. Boards and the virtual board keep at most <see cref="MaxPasswordLength"/>
    /// (the firmware's <c>webrepl.password()</c> refuses more); a longer one can only be meant for another kind of server,
    /// and the bound keeps the login line short.
    /// </summary>
    public const int MaxServerPasswordLength = 64;

    private readonly ClientConnection _connection;
    private readonly WebReplClientOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _operationLock = new(1, 1);
    private readonly FileTransfers _transfers;
    private readonly RawReplSession _raw;
    private BoardFiles? _files;
    private string? _password;
    private bool _turnedAway;
    private int _disposed;

    private WebReplClient(WebSocketConnection connection, WebReplTarget target, WebReplClientOptions options)
    {
        _options = options;
        _logger = options.LoggerFactory.CreateLogger<WebReplClient>();
        _connection = new ClientConnection(connection, target, _logger);
        _transfers = new FileTransfers(_connection, options, _logger);
        _raw = new RawReplSession(_connection, _operationLock, options);
    }

    /// <summary>A client on a connection that is already open: the fuzz targets feed a board's bytes from memory.</summary>
    internal static WebReplClient FromConnection(WebSocketConnection connection, WebReplTarget target, WebReplClientOptions options) =>
        new(connection, target, options);

    /// <summary>The board this client is connected to.</summary>
    public WebReplTarget Target => _connection.Target;

    /// <summary>The board's console output.</summary>
    public TerminalOutput Output => _connection.Output;

    /// <summary>Completes when the connection has ended.</summary>
    public Task Completion => _connection.Completion;

    /// <summary>Why the connection ended, once it has.</summary>
    public string CloseDescription => _connection.CloseDescription;

    /// <summary>The board's files: list, read, write, remove, make folders, hash, and more.</summary>
    public BoardFiles Files => _files ??= new BoardFiles(this);

    /// <summary>Connects to a board (<c>HOST[:PORT]</c> or a ws/wss URL); call <see cref="LoginAsync"/> next.</summary>
    public static Task<WebReplClient> ConnectAsync(string target, WebReplClientOptions? options = null, CancellationToken cancellationToken = default) =>
        ConnectAsync(WebReplTarget.Parse(target), options, cancellationToken);

    /// <summary>Connects to a board; call <see cref="LoginAsync"/> next.</summary>
    /// <exception cref="WebReplConnectionException">The board cannot be reached.</exception>
    /// <exception cref="WebReplTimeoutException">No connection within the connect timeout.</exception>
    public static async Task<WebReplClient> ConnectAsync(WebReplTarget target, WebReplClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        options ??= WebReplClientOptions.Default;
        var connection = await WebSocketConnection.ConnectAsync(target, options.ToConnectOptions(), cancellationToken).ConfigureAwait(false);
        var client = new WebReplClient(connection, target, options);
        ClientLog.Connected(client._logger, target.ToString());
        return client;
    }

    /// <summary>Connects and logs in.</summary>
    public static Task<WebReplClient> ConnectAndLoginAsync(string target, string password, WebReplClientOptions? options = null, CancellationToken cancellationToken = default) =>
        ConnectAndLoginAsync(WebReplTarget.Parse(target), password, options, cancellationToken);

    /// <summary>Connects and logs in; the password is checked before anything is sent.</summary>
    public static async Task<WebReplClient> ConnectAndLoginAsync(WebReplTarget target, string password, WebReplClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        ValidatePassword(password);
        options ??= WebReplClientOptions.Default;
        long started = Stopwatch.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            var client = await ConnectAsync(target, options, cancellationToken).ConfigureAwait(false);
            try
            {
                await client.LoginAsync(password, cancellationToken).ConfigureAwait(false);
                return client;
            }
            catch (WebReplConnectionException) when (client._turnedAway && Stopwatch.GetElapsedTime(started) + delay < options.BusyRetryWindow)
            {
                // Turned away: the board may still be ending the last session (its client just left, or it reset).
                await client.DisposeAsync().ConfigureAwait(false);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay *= 2;
            }
            catch
            {
                await client.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    /// <summary>Checks a password before anything is sent.</summary>
    /// <exception cref="WebReplAuthenticationException">Longer than <see cref="MaxServerPasswordLength"/>, or it contains a line end.</exception>
    public static void ValidatePassword(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        int length = Encoding.UTF8.GetByteCount(password);
        if (length > MaxServerPasswordLength)
        {
            throw new WebReplAuthenticationException(
                $"The password is {length} bytes long; WebREPL passwords have at most {MaxPasswordLength} characters on a board (the virtual board too), and the client sends at most {MaxServerPasswordLength} bytes. Not sent.");
        }

        if (password.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            throw new WebReplAuthenticationException("The password contains a line end, which would end it early. Not sent.");
        }
    }

    /// <summary>
    /// Waits for the board's <c>Password: </c> prompt, sends the password, and waits for
    /// <c>WebREPL connected</c>. What the board prints after that (its prompt) stays in <see cref="Output"/>.
    /// </summary>
    /// <exception cref="WebReplAuthenticationException">The board refused the password.</exception>
    /// <exception cref="WebReplTimeoutException">No prompt or no answer within the reply timeout.</exception>
    /// <exception cref="WebReplConnectionException">The connection ended.</exception>
    public async Task LoginAsync(string password, CancellationToken cancellationToken = default)
    {
        ValidatePassword(password);
        var login = new LoginExchange(_connection, _options.ReplyTimeout);
        try
        {
            await login.RunAsync(password, SendInputAsync, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _turnedAway = login.TurnedAway;
        }

        _password = password;
        ClientLog.LoggedIn(_logger, Target.ToString());
    }

    /// <summary>
    /// Sends terminal input (keystrokes, Ctrl-C as 0x03, and so on) in one text frame. It waits while a file
    /// transfer or a REPL operation (<see cref="ExecAsync(string, CancellationToken)"/>, <see cref="Files"/>) is
    /// under way, so that typing never mixes with them.
    /// </summary>
    public async ValueTask SendInputAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        await _operationLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _raw.LeaveIfIdleAsync(cancellationToken).ConfigureAwait(false);
            await _connection.SendTextAsync(input, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _operationLock.Release();
        }
    }

    /// <summary>Sends terminal input as UTF-8.</summary>
    public ValueTask SendInputAsync(string input, CancellationToken cancellationToken = default) =>
        SendInputAsync(Encoding.UTF8.GetBytes(input), cancellationToken);

    /// <summary>Asks the board for its MicroPython version (GET_VER).</summary>
    public Task<WebReplVersion> GetVersionAsync(CancellationToken cancellationToken = default) =>
        UnderOperationLockAsync(token => _transfers.GetVersionAsync(token), cancellationToken);

    /// <summary>Sends a local file to the board (PUT_FILE).</summary>
    /// <exception cref="ArgumentException">The board name is longer than 63 bytes of UTF-8.</exception>
    /// <exception cref="WebReplRemoteException">The board did not open the file (a missing folder does that).</exception>
    public async Task PutFileAsync(string localPath, string remotePath, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        WebReplRequest.ValidateFileName(remotePath);
        var source = new FileStream(localPath, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, useAsync: true);
        await using (source.ConfigureAwait(false))
        {
            await PutFileAsync(source, remotePath, progress, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends the rest of <paramref name="source"/> to the board as <paramref name="remotePath"/>. A stream that
    /// cannot seek is read into memory first, since the request states the length.
    /// </summary>
    /// <exception cref="WebReplRemoteException">The board did not open the file (a missing folder does that).</exception>
    public async Task PutFileAsync(Stream source, string remotePath, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        WebReplRequest.ValidateFileName(remotePath);
        if (!source.CanSeek)
        {
            var buffered = new MemoryStream();
            await source.CopyToAsync(buffered, cancellationToken).ConfigureAwait(false);
            buffered.Position = 0;
            source = buffered;
        }

        long length = source.Length - source.Position;
        if (length > uint.MaxValue)
        {
            throw new ArgumentException($"The file is {length} bytes; WebREPL transfers at most {uint.MaxValue} bytes.", nameof(source));
        }

        await UnderOperationLockAsync(token => _transfers.PutAsync(source, length, remotePath, progress, token), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Fetches a board file into a local file, atomically: the bytes go to a temporary file beside it, renamed
    /// at the end; a failed or cancelled fetch leaves no partial file and keeps an existing one.
    /// </summary>
    /// <returns>The number of bytes fetched.</returns>
    public Task<long> GetFileAsync(string remotePath, string localPath, IProgress<long>? progress = null, CancellationToken cancellationToken = default) =>
        GetFileAsync(remotePath, localPath, progress, null, cancellationToken);

    /// <summary>Fetches a board file into a local file, atomically, as <paramref name="options"/> say.</summary>
    /// <returns>The number of bytes fetched.</returns>
    /// <exception cref="WebReplFileChangedException">The file's size changed on the board during the fetch (with a known size).</exception>
    public async Task<long> GetFileAsync(string remotePath, string localPath, IProgress<long>? progress, WebReplGetOptions? options, CancellationToken cancellationToken = default)
    {
        WebReplRequest.ValidateFileName(remotePath);
        string fullPath = Path.GetFullPath(localPath);
        string directory = Path.GetDirectoryName(fullPath) ?? ".";
        string temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.webrepl-part");
        try
        {
            long length;
            var destination = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true);
            await using (destination.ConfigureAwait(false))
            {
                length = await GetFileAsync(remotePath, destination, progress, options, cancellationToken).ConfigureAwait(false);
                await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            File.Move(temporary, fullPath, overwrite: true);
            return length;
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    /// <summary>Fetches a board file into <paramref name="destination"/> (GET_FILE); the size is not known, so at most three chunk requests are in flight.</summary>
    /// <returns>The number of bytes fetched.</returns>
    /// <exception cref="WebReplRemoteException">The board did not answer, or dropped the connection (a missing file does that).</exception>
    public Task<long> GetFileAsync(string remotePath, Stream destination, IProgress<long>? progress = null, CancellationToken cancellationToken = default) =>
        GetFileAsync(remotePath, destination, progress, null, cancellationToken);

    /// <summary>
    /// Fetches a board file into <paramref name="destination"/> (GET_FILE), with several chunk requests in flight as
    /// <paramref name="options"/> allow. With a known size, the destination never gets more than that many bytes.
    /// </summary>
    /// <returns>The number of bytes fetched.</returns>
    /// <exception cref="WebReplRemoteException">The board did not answer, or dropped the connection (a missing file does that).</exception>
    /// <exception cref="WebReplFileChangedException">The file's size changed on the board during the fetch (with a known size).</exception>
    public Task<long> GetFileAsync(string remotePath, Stream destination, IProgress<long>? progress, WebReplGetOptions? options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        WebReplRequest.ValidateFileName(remotePath);
        var getOptions = options ?? WebReplGetOptions.Default;
        return UnderOperationLockAsync(token => _transfers.GetAsync(remotePath, destination, progress, getOptions, token), cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="code"/> on the board (interrupting what runs) and returns what it printed.
    /// Reads the terminal output itself: do not read <see cref="Output"/> meanwhile.
    /// </summary>
    /// <exception cref="WebReplExecutionException">The code raised an exception; it carries the board's traceback.</exception>
    /// <exception cref="WebReplProtocolException">The output is longer than <see cref="WebReplClientOptions.MaxOperationReplyBytes"/> (use the overload that streams it).</exception>
    public Task<string> ExecAsync(string code, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(code);
        ThrowIfDisposed();
        return _raw.ExecCollectingAsync(code, null, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="code"/> on the board and hands its output to <paramref name="output"/> as it comes.
    /// Cancelling interrupts the code on the board (Ctrl-C).
    /// </summary>
    /// <exception cref="WebReplExecutionException">The code raised an exception; it carries the board's traceback.</exception>
    public Task ExecAsync(string code, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(code);
        ArgumentNullException.ThrowIfNull(output);
        ThrowIfDisposed();
        return _raw.ExecStreamingAsync(code, output, cancellationToken);
    }

    /// <summary>Evaluates a Python expression on the board and returns its <c>repr</c>.</summary>
    public async Task<string> EvalAsync(string expression, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(expression);
        string output = await ExecAsync($"print(repr({expression}))", cancellationToken).ConfigureAwait(false);
        return output.TrimEnd('\r', '\n');
    }

    /// <summary>
    /// Soft reset (Ctrl-D at the friendly prompt): the board clears its Python state and keeps its files. Real
    /// boards end the WebREPL session when they reset, so the client then connects and logs in again, for up
    /// to <paramref name="reconnectWithin"/> (default: the connect timeout).
    /// </summary>
    /// <returns>The client to use from now on: this one if the board kept the connection, else a new one.</returns>
    public async Task<WebReplClient> SoftResetAsync(TimeSpan? reconnectWithin = null, CancellationToken cancellationToken = default)
    {
        bool kept = await UnderOperationLockAsync(_raw.SoftResetAsync, cancellationToken).ConfigureAwait(false);
        return kept ? this : await ReconnectAsync(reconnectWithin ?? _options.ConnectTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Hard reset (<c>machine.reset()</c>). The board drops the connection as it restarts; with
    /// <paramref name="wait"/>, connects and logs in again (for up to <paramref name="reconnectWithin"/>, default
    /// 30 s) and returns the new client, else returns null.
    /// </summary>
    public async Task<WebReplClient?> HardResetAsync(bool wait, TimeSpan? reconnectWithin = null, CancellationToken cancellationToken = default)
    {
        await UnderOperationLockAsync(async token =>
        {
            await _raw.HardResetAsync(token).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        return wait ? await ReconnectAsync(reconnectWithin ?? TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false) : null;
    }

    /// <summary>Closes the connection politely (a close frame), then the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (!_connection.Completion.IsCompleted)
        {
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            try
            {
                // Back to the friendly REPL if an operation left the board at the raw prompt, then the close frame;
                // the board takes both in order. Its answer to the close is awaited: it comes as the board ends the
                // session, so that a command run right after finds the board free.
                await _raw.LeaveAsClosingAsync(quick.Token).ConfigureAwait(false);
                await _connection.CloseAsync("client closed", quick.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or WebReplException)
            {
                // The connection is going anyway: the socket is closed below.
            }
        }

        await _connection.DisposeAsync().ConfigureAwait(false);
        _operationLock.Dispose();
    }

    Task<string> IBoardOperations.ExecOperationAsync(string code, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        // The client's own programs: bounded output, and a board silent for longer than a reply takes is an error.
        return _raw.ExecCollectingAsync(code, _options.ReplyTimeout, cancellationToken);
    }

    TimeSpan Mount.IMountChannel.ReplyTimeout => _options.ReplyTimeout;

    async Task Mount.IMountChannel.SendToBoardAsync(ReadOnlyMemory<byte> bytes, bool lockHeld, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (lockHeld)
        {
            await _connection.SendTextAsync(bytes, cancellationToken).ConfigureAwait(false);
            return;
        }

        await UnderOperationLockAsync(async token =>
        {
            await _connection.SendTextAsync(bytes, token).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    Task Mount.IMountChannel.LeaveRawReplIfIdleAsync(CancellationToken cancellationToken) =>
        UnderOperationLockAsync(async token =>
        {
            await _raw.LeaveIfIdleAsync(token).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <summary>Runs a transfer or a reset holding the operation lock, so that no input or REPL operation comes between.</summary>
    private async Task<T> UnderOperationLockAsync<T>(Func<CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        await _operationLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await operation(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _operationLock.Release();
        }
    }

    /// <summary>Connects and logs in again with the same target, options and password, retrying until <paramref name="within"/>.</summary>
    private async Task<WebReplClient> ReconnectAsync(TimeSpan within, CancellationToken cancellationToken)
    {
        string password = _password ?? throw new InvalidOperationException("The client was never logged in, so it cannot log in again.");
        await DisposeAsync().ConfigureAwait(false);
        var deadline = DateTime.UtcNow + within;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                return await ConnectAndLoginAsync(Target, password, _options, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebReplConnectionException or WebReplTimeoutException)
            {
                last = ex;
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
            }
        }

        throw new WebReplConnectionException($"{Target} did not accept a new connection within {within.TotalSeconds:0.#} s after the reset.", last);
    }
}
