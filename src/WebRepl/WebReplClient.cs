using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using WebRepl.Protocol;
using WebRepl.Transport;

namespace WebRepl;

/// <summary>
/// A connection to a MicroPython board's WebREPL: log in, use the terminal, send and fetch files, ask the
/// version. Terminal output and transfer replies arrive on one socket; a background reader sorts them
/// (text frames: terminal, binary frames: transfers). One transfer at a time; terminal input may go on meanwhile.
/// </summary>
public sealed partial class WebReplClient : IAsyncDisposable
{
    /// <summary>The longest password a board accepts.</summary>
    public const int MaxPasswordLength = 9;

    private const string GetOpenFailedHint = "The file probably does not exist or is a folder (boards send no error for that). Check the path.";
    private const string PutOpenFailedHint = "Its folder probably does not exist, or the path is a folder (boards send no error for that). Check the path.";

    private static readonly byte[] ConnectedMarker = "WebREPL connected\r\n"u8.ToArray();
    private static readonly byte[] DeniedMarker = "Access denied"u8.ToArray();

    private readonly WebSocketConnection _connection;
    private readonly WebReplClientOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<ReadOnlyMemory<byte>> _output = Channel.CreateUnbounded<ReadOnlyMemory<byte>>(new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });
    private readonly Channel<ReadOnlyMemory<byte>> _binary = Channel.CreateUnbounded<ReadOnlyMemory<byte>>(new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });
    private readonly SemaphoreSlim _operationLock = new(1, 1);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Task _receiveLoop;
    private readonly string _targetText;
    private ReadOnlyMemory<byte> _binaryPending;
    private string _closeDescription = "the connection is closed";
    private bool _closedWithStatus;
    private bool _turnedAway;
    private int _disposed;

    private WebReplClient(WebSocketConnection connection, WebReplTarget target, WebReplClientOptions options)
    {
        _connection = connection;
        _options = options;
        Target = target;
        _targetText = target.ToString();
        _logger = options.LoggerFactory.CreateLogger<WebReplClient>();
        Output = new TerminalOutput(_output.Reader, () => new WebReplConnectionException($"{Target}: {_closeDescription}."));
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    /// <summary>A client on a connection that is already open: the fuzz targets feed a board's bytes from memory.</summary>
    internal static WebReplClient FromConnection(WebSocketConnection connection, WebReplTarget target, WebReplClientOptions options) =>
        new(connection, target, options);

    /// <summary>The board this client is connected to.</summary>
    public WebReplTarget Target { get; }

    /// <summary>The board's console output.</summary>
    public TerminalOutput Output { get; }

    /// <summary>Completes when the connection has ended.</summary>
    public Task Completion => _receiveLoop;

    /// <summary>Why the connection ended, once it has.</summary>
    public string CloseDescription => _closeDescription;

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
        LogConnected(client._logger, client._targetText);
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
    /// <exception cref="WebReplAuthenticationException">Too long, or it contains a line end.</exception>
    public static void ValidatePassword(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        int length = Encoding.UTF8.GetByteCount(password);
        if (length > MaxPasswordLength)
        {
            throw new WebReplAuthenticationException(
                $"The password is {length} characters long; WebREPL passwords have at most {MaxPasswordLength} (the board compares only that many), so the board would refuse it. Not sent.");
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
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ReplyTimeout);
        var seen = new List<byte>();
        try
        {
            while (!IsPasswordPrompt(seen))
            {
                seen.AddRange((await Output.ReadAsync(timeout.Token).ConfigureAwait(false)).Span);
            }
        }
        catch (WebReplConnectionException ex)
        {
            // A board closes without a reason; a gateway gives one (a refused origin or target): pass it on.
            if (_closedWithStatus)
            {
                throw new WebReplConnectionException($"{Target}: {_closeDescription}.", ex);
            }

            _turnedAway = true; // closed before asking for the password: another client has the board
            throw new WebReplConnectionException(
                $"{Target} closed the connection before asking for the password. Another WebREPL client is probably connected: a board accepts one at a time.", ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WebReplTimeoutException(
                $"{Target} did not ask for a password within {_options.ReplyTimeout.TotalSeconds:0.#} s. Is it a WebREPL board, and is it logged in by another client?", ex);
        }

        await SendInputAsync(Encoding.UTF8.GetBytes(password + "\r"), cancellationToken).ConfigureAwait(false);
        seen.Clear();
        try
        {
            while (true)
            {
                seen.AddRange((await Output.ReadAsync(timeout.Token).ConfigureAwait(false)).Span);
                byte[] text = [.. seen];
                int connected = text.AsSpan().IndexOf(ConnectedMarker);
                if (connected >= 0)
                {
                    _password = password;
                    Output.Unread(text.AsMemory(connected + ConnectedMarker.Length));
                    LogLoggedIn(_logger, _targetText);
                    return;
                }

                if (text.AsSpan().IndexOf(DeniedMarker) >= 0)
                {
                    throw new WebReplAuthenticationException($"{Target} refused the password (Access denied). Check the password set with webrepl_setup.");
                }
            }
        }
        catch (WebReplConnectionException ex)
        {
            throw new WebReplAuthenticationException(
                $"{Target} closed the connection right after the password was sent, as boards do for a wrong password. Check the password.", ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WebReplTimeoutException($"{Target} did not answer the password within {_options.ReplyTimeout.TotalSeconds:0.#} s.", ex);
        }
    }

    /// <summary>
    /// Sends terminal input (keystrokes, Ctrl-C as 0x03, and so on) in one text frame. It waits while a file
    /// transfer or a REPL operation (<see cref="ExecAsync(string, CancellationToken)"/>, <see cref="Files"/>) is
    /// under way, so that typing never mixes with them.
    /// </summary>
    public async ValueTask SendInputAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _operationLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await SendTerminalAsync(input, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _operationLock.Release();
        }
    }

    /// <summary>Sends terminal bytes without taking the operation lock (for the operations that hold it).</summary>
    internal ValueTask SendTerminalAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken) =>
        _connection.SendAsync(input, WebSocketFrameType.Text, true, cancellationToken);

    /// <summary>The lock that keeps transfers, REPL operations and terminal input from interleaving.</summary>
    internal SemaphoreSlim OperationLock => _operationLock;

    /// <summary>The options this client was made with.</summary>
    internal WebReplClientOptions Options => _options;

    /// <summary>Sends terminal input as UTF-8.</summary>
    public ValueTask SendInputAsync(string input, CancellationToken cancellationToken = default) =>
        SendInputAsync(Encoding.UTF8.GetBytes(input), cancellationToken);

    /// <summary>Asks the board for its MicroPython version (GET_VER).</summary>
    public async Task<WebReplVersion> GetVersionAsync(CancellationToken cancellationToken = default)
    {
        await _operationLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await RunTransferAsync("version request", async token =>
            {
                await SendBinaryAsync(new WebReplRequest(WebReplOperation.GetVersion, 0, string.Empty).ToArray(), token).ConfigureAwait(false);
                byte[] reply = new byte[WebReplVersion.Length];
                await ReadBinaryAsync(reply, "version reply", token).ConfigureAwait(false);
                return WebReplVersion.Read(reply);
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _operationLock.Release();
        }
    }

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

        await _operationLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await RunTransferAsync($"put of '{remotePath}'", async token =>
            {
                await SendBinaryAsync(new WebReplRequest(WebReplOperation.PutFile, (uint)length, remotePath).ToArray(), token).ConfigureAwait(false);
                await ReadStatusAsync($"put of '{remotePath}'", token, PutOpenFailedHint).ConfigureAwait(false);
                byte[] buffer = new byte[Math.Clamp(_options.PutChunkSize, 1, 65535)];
                long sent = 0;
                while (sent < length)
                {
                    int read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, length - sent)), token).ConfigureAwait(false);
                    if (read == 0)
                    {
                        throw new IOException($"The local file ended after {sent} of {length} bytes: it changed while being sent.");
                    }

                    await SendBinaryAsync(buffer.AsMemory(0, read), token).ConfigureAwait(false);
                    sent += read;
                    progress?.Report(sent);
                }

                await ReadStatusAsync($"put of '{remotePath}'", token).ConfigureAwait(false);
                LogTransfer(_logger, "put", remotePath, length);
                return length;
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _operationLock.Release();
        }
    }

    /// <summary>
    /// Fetches a board file into a local file, atomically: the bytes go to a temporary file beside it, renamed
    /// at the end; a failed or cancelled fetch leaves no partial file and keeps an existing one.
    /// </summary>
    /// <returns>The number of bytes fetched.</returns>
    public async Task<long> GetFileAsync(string remotePath, string localPath, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
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
                length = await GetFileAsync(remotePath, destination, progress, cancellationToken).ConfigureAwait(false);
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

    /// <summary>Fetches a board file into <paramref name="destination"/> (GET_FILE).</summary>
    /// <returns>The number of bytes fetched.</returns>
    /// <exception cref="WebReplRemoteException">The board did not answer, or dropped the connection (a missing file does that).</exception>
    public async Task<long> GetFileAsync(string remotePath, Stream destination, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        WebReplRequest.ValidateFileName(remotePath);
        await _operationLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await RunTransferAsync($"get of '{remotePath}'", async token =>
            {
                await SendBinaryAsync(new WebReplRequest(WebReplOperation.GetFile, 0, remotePath).ToArray(), token).ConfigureAwait(false);
                await ReadStatusAsync($"get of '{remotePath}'", token, GetOpenFailedHint).ConfigureAwait(false);
                byte[] chunk = new byte[WebReplChunk.MaxData];
                byte[] header = new byte[WebReplChunk.HeaderLength];
                ReadOnlyMemory<byte> more = new byte[] { 0 };
                long received = 0;
                while (true)
                {
                    await SendBinaryAsync(more, token).ConfigureAwait(false);
                    await ReadBinaryAsync(header, "data chunk", token).ConfigureAwait(false);
                    int length = WebReplChunk.ReadHeader(header);
                    if (length == 0)
                    {
                        break;
                    }

                    if (length > chunk.Length)
                    {
                        chunk = new byte[length];
                    }

                    await ReadBinaryAsync(chunk.AsMemory(0, length), "data chunk", token).ConfigureAwait(false);
                    await destination.WriteAsync(chunk.AsMemory(0, length), token).ConfigureAwait(false);
                    received += length;
                    progress?.Report(received);
                }

                await ReadStatusAsync($"get of '{remotePath}'", token).ConfigureAwait(false);
                LogTransfer(_logger, "get", remotePath, received);
                return received;
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _operationLock.Release();
        }
    }

    /// <summary>Closes the connection politely (a close frame), then the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (!_receiveLoop.IsCompleted)
        {
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            try
            {
                await _connection.CloseAsync(1000, "client closed", quick.Token).ConfigureAwait(false);
                await _receiveLoop.WaitAsync(quick.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The board did not answer the close: the socket is closed below anyway.
            }
        }

        await _shutdown.CancelAsync().ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        await _receiveLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _shutdown.Dispose();
        _operationLock.Dispose();
    }

    private static bool IsPasswordPrompt(List<byte> seen)
    {
        // Boards send "Password: "; a client may go by the colon and the space.
        int n = seen.Count;
        return n >= 2 && seen[n - 2] == (byte)':' && seen[n - 1] == (byte)' ';
    }

    /// <summary>
    /// Runs one transfer under the reply timeout. A transfer that fails half way leaves the board in the
    /// middle of a request, so the connection is closed: the error says why.
    /// </summary>
    private async Task<T> RunTransferAsync<T>(string what, Func<CancellationToken, Task<T>> transfer, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_receiveLoop.IsCompleted)
        {
            throw new WebReplConnectionException($"{Target}: {_closeDescription}. Connect again.");
        }

        using var reply = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            return await transfer(reply.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not WebReplRemoteException and not ArgumentException)
        {
            // The board is mid-request: nothing sent later would be understood.
            _connection.Abort();
            if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw new WebReplTimeoutException($"The {what} got no reply from {Target} within {_options.ReplyTimeout.TotalSeconds:0.#} s; the connection was closed.", ex);
            }

            throw;
        }
        catch (WebReplRemoteException)
        {
            _connection.Abort();
            throw;
        }
    }

    private ValueTask SendBinaryAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        _connection.SendAsync(payload, WebSocketFrameType.Binary, true, cancellationToken);

    /// <summary>
    /// Reads a status reply. <paramref name="openFailedHint"/>, given for the reply to opening a file, turns
    /// silence or a drop into a <see cref="WebReplRemoteException"/>: that is how a board reports a bad path.
    /// </summary>
    private async Task ReadStatusAsync(string what, CancellationToken cancellationToken, string? openFailedHint = null)
    {
        byte[] status = new byte[WebReplStatus.Length];
        try
        {
            await ReadBinaryAsync(status, "status", cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (openFailedHint is not null && ex is WebReplConnectionException or WebReplTimeoutException)
        {
            throw new WebReplRemoteException(
                $"The {what} failed: {Target} {(ex is WebReplTimeoutException ? $"sent no reply within {_options.ReplyTimeout.TotalSeconds:0.#} s" : "dropped the connection")}. " +
                openFailedHint, ex);
        }

        if (!WebReplStatus.TryRead(status, out ushort code))
        {
            throw new WebReplProtocolException($"The {what} got a malformed status reply from {Target}: {Convert.ToHexString(status)}.");
        }

        if (code != 0)
        {
            throw new WebReplRemoteException($"The {what} failed: {Target} replied with error code {code}.");
        }
    }

    /// <summary>Reads exactly <paramref name="destination"/>'s length from the binary frames, as one byte stream.</summary>
    private async ValueTask ReadBinaryAsync(Memory<byte> destination, string what, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.ReplyTimeout);
        try
        {
            while (!destination.IsEmpty)
            {
                if (_binaryPending.IsEmpty)
                {
                    if (!_binary.Reader.TryRead(out _binaryPending))
                    {
                        if (!await _binary.Reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false))
                        {
                            throw new WebReplConnectionException($"{Target}: {_closeDescription} while waiting for the {what}.");
                        }

                        continue;
                    }
                }

                int n = Math.Min(destination.Length, _binaryPending.Length);
                _binaryPending[..n].CopyTo(destination);
                _binaryPending = _binaryPending[n..];
                destination = destination[n..];
            }
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WebReplTimeoutException($"{Target} sent no {what} within {_options.ReplyTimeout.TotalSeconds:0.#} s.", ex);
        }
    }

    private async Task ReceiveLoopAsync()
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                var frame = await _connection.ReceiveAsync(_shutdown.Token).ConfigureAwait(false);
                switch (frame.Type)
                {
                    case WebSocketFrameType.Text:
                        if (!frame.Payload.IsEmpty)
                        {
                            _output.Writer.TryWrite(frame.Payload);
                        }

                        break;
                    case WebSocketFrameType.Binary:
                        _binary.Writer.TryWrite(frame.Payload);
                        break;
                    default:
                        _closedWithStatus = frame.CloseStatus is not null;
                        _closeDescription = frame.CloseStatus is int status
                            ? $"the other end (a board or a gateway) closed the connection ({status}{(string.IsNullOrEmpty(frame.CloseReason) ? string.Empty : ": " + frame.CloseReason)})"
                            : frame.CloseReason is null ? "the board closed the connection" : $"the board closed the connection ({frame.CloseReason})";
                        return;
                }
            }
        }
        catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
        {
            _closeDescription = "the connection was closed by this client";
        }
        catch (WebReplException ex)
        {
            _closeDescription = "the connection was lost: " + ex.Message;
            error = ex;
        }
        finally
        {
            LogClosed(_logger, _targetText, _closeDescription);
            _output.Writer.TryComplete();
            _binary.Writer.TryComplete();
            _ = error;
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Connected to {Target}")]
    private static partial void LogConnected(ILogger logger, string target);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Logged in to {Target}")]
    private static partial void LogLoggedIn(ILogger logger, string target);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Finished {Operation} of {RemotePath}: {Bytes} bytes")]
    private static partial void LogTransfer(ILogger logger, string operation, string remotePath, long bytes);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Connection to {Target} ended: {Reason}")]
    private static partial void LogClosed(ILogger logger, string target, string reason);
}
