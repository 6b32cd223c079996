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
    /// <summary>The longest password a real board accepts (webrepl_setup's limit; the firmware keeps 10 bytes of the line typed).</summary>
    public const int MaxPasswordLength = 9;

    /// <summary>
    /// The longest password the client sends, and <see cref="Device.WebReplServer"/> (the virtual board) accepts. A real
    /// board refuses any longer than <see cref="MaxPasswordLength"/>, which is about 46 bits of secrecy at best; a
    /// virtual board generates 12 characters (about 59 bits), so the client must be able to send them.
    /// </summary>
    public const int MaxServerPasswordLength = 64;

    // A board sends "Password: " and then "WebREPL connected" or "Access denied": far less than this.
    private const int MaxLoginReplyBytes = 64 * 1024;

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
    private string? _requestParserDirty;
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

    /// <summary>A board says a few words around the login; one that says much more is not a board (bounded memory).</summary>
    private void CheckLoginReply(List<byte> seen)
    {
        if (seen.Count > MaxLoginReplyBytes)
        {
            throw new WebReplProtocolException($"{Target} sent more than {MaxLoginReplyBytes} bytes without a password prompt or a login answer. Is it a WebREPL board?");
        }
    }

    /// <summary>Why a long password may have been refused: a real board's has at most 9 characters.</summary>
    private static string LongPasswordHint(string password) =>
        Encoding.UTF8.GetByteCount(password) > MaxPasswordLength
            ? $" The password given is longer than {MaxPasswordLength} characters: a real board's has at most {MaxPasswordLength} (longer ones work only with a virtual board)."
            : string.Empty;

    /// <summary>Checks a password before anything is sent.</summary>
    /// <exception cref="WebReplAuthenticationException">Longer than <see cref="MaxServerPasswordLength"/>, or it contains a line end.</exception>
    public static void ValidatePassword(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        int length = Encoding.UTF8.GetByteCount(password);
        if (length > MaxServerPasswordLength)
        {
            throw new WebReplAuthenticationException(
                $"The password is {length} bytes long; WebREPL passwords have at most {MaxPasswordLength} characters on a real board, and {MaxServerPasswordLength} bytes on a virtual one. Not sent.");
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
                CheckLoginReply(seen);
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
                CheckLoginReply(seen);
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
                    throw new WebReplAuthenticationException($"{Target} refused the password (Access denied). Check the password set with webrepl_setup.{LongPasswordHint(password)}");
                }
            }
        }
        catch (WebReplConnectionException ex)
        {
            throw new WebReplAuthenticationException(
                $"{Target} closed the connection right after the password was sent, as boards do for a wrong password. Check the password.{LongPasswordHint(password)}", ex);
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
            await LeaveRawReplIfIdleAsync(cancellationToken).ConfigureAwait(false);
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
                // Back to the friendly REPL if an operation left the board at the raw prompt (see WithRawReplAsync),
                // then the close frame; the board takes both in order. Its answer to the close is awaited: it comes as
                // the board ends the session, so that a command run right after finds the board free.
                await LeaveRawReplUnawaitedAsync(quick.Token).ConfigureAwait(false);
                await _connection.CloseAsync(1000, "client closed", quick.Token).ConfigureAwait(false);
                await _receiveLoop.WaitAsync(quick.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or WebReplException)
            {
                // The connection is going anyway: the socket is closed below.
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

        if (_requestParserDirty is not null)
        {
            throw new WebReplConnectionException($"{Target}: {_requestParserDirty} No file transfer is possible on this connection (the terminal still works). Connect again.");
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
        catch (WebReplRemoteException ex) when (ex is not WebReplFileChangedException { ConnectionKept: true })
        {
            _connection.Abort();
            throw;
        }
    }

    /// <summary>A GET in a session that ends after it left more requests than a record can absorb (see <see cref="WebReplGetOptions.SessionEndsAfter"/>).</summary>
    private void MarkRequestParserDirty(int surplus) =>
        _requestParserDirty = $"the last fetch left {surplus} unanswered chunk requests, which the board holds as the start of a request record.";

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
