using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using WebRepl.Protocol;
using WebRepl.Transport;

namespace WebRepl.Device;

/// <summary>
/// The board's side of WebREPL, as MicroPython's firmware implements it (extmod/modwebrepl.c and
/// webrepl.py): the handshake, the page for plain HTTP, the password, one session at a time, the terminal
/// to an <see cref="IWebReplConsole"/>, and PUT, GET and GET_VER against an <see cref="IWebReplFileStore"/>.
/// Requests are read as the firmware reads them (one byte stream, op at byte 2, no signature check); where the
/// firmware would read past a name's field, this one ignores the request.
/// </summary>
public sealed partial class WebReplServer : IAsyncDisposable
{
    private static readonly byte[] PasswordPrompt = "Password: "u8.ToArray();
    private static readonly byte[] ConnectedPrompt = "\r\nWebREPL connected\r\n>>> "u8.ToArray();
    private static readonly byte[] DeniedPrompt = "\r\nAccess denied\r\n"u8.ToArray();

    private readonly WebReplServerOptions _options;
    private readonly IWebReplConsole _console;
    private readonly IWebReplFileStore _files;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<Task> _connections = [];
    private readonly Lock _gate = new();
    private Socket? _listener;
    private Task? _acceptLoop;
    private int _sessionActive;
    private CancellationTokenSource? _sessionClose;

    /// <summary>Creates the server; <see cref="Start"/> begins listening.</summary>
    public WebReplServer(WebReplServerOptions options, IWebReplConsole console, IWebReplFileStore files)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(files);
        // As the firmware's webrepl.password(): it keeps at most 9 bytes (a 10-byte buffer) and refuses a longer one.
        int passwordLength = Encoding.UTF8.GetByteCount(options.Password ?? string.Empty);
        if (passwordLength is < 1 or > WebReplClient.MaxPasswordLength)
        {
            throw new ArgumentException($"A WebREPL password has 1 to {WebReplClient.MaxPasswordLength} bytes, as on a board.", nameof(options));
        }

        _options = options;
        _console = console;
        _files = files;
        _logger = options.LoggerFactory.CreateLogger<WebReplServer>();
    }

    /// <summary>Where the server listens, once started (the chosen port when port 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint?)_listener?.LocalEndPoint ?? throw new InvalidOperationException("The server is not started.");

    /// <summary>
    /// Ends the current session, if any, with a plain TCP close, as a board's connection ends when it resets.
    /// </summary>
    public void DisconnectSession()
    {
        lock (_gate)
        {
            _sessionClose?.Cancel();
        }
    }

    /// <summary>True while a client is logged in or logging in.</summary>
    public bool HasSession => Volatile.Read(ref _sessionActive) != 0;

    /// <summary>Binds and starts accepting connections.</summary>
    /// <exception cref="SocketException">The address is in use or cannot be bound.</exception>
    public void Start()
    {
        if (_listener is not null)
        {
            throw new InvalidOperationException("The server is already started.");
        }

        var listener = new Socket(_options.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(_options.EndPoint);
            listener.Listen(16);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        _listener = listener;
        LogListening(_logger, LocalEndPoint);
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Stops listening and drops every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener?.Dispose();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        Task[] running;
        lock (_gate)
        {
            running = [.. _connections];
        }

        await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener!.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException && _stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex)
            {
                LogAcceptFailed(_logger, ex);
                continue;
            }

            Task connection = HandleConnectionAsync(client);
            lock (_gate)
            {
                _connections.Add(connection);
            }

            _ = connection.ContinueWith(
                done =>
                {
                    lock (_gate)
                    {
                        _connections.Remove(done);
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    private async Task HandleConnectionAsync(Socket socket)
    {
        await Task.Yield();
        EndPoint? remote = socket.RemoteEndPoint;
        // The firmware's lwIP socket has Nagle on.
        socket.NoDelay = !_options.FirmwareTiming;
        var stream = new NetworkStream(socket, ownsSocket: true);
        WebSocketConnection? connection = null;
        bool ownsSession = false;
        try
        {
            HttpHead? head;
            using (var handshake = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
            {
                handshake.CancelAfter(_options.HandshakeTimeout);
                head = await WebSocketHandshake.ReadHeadAsync(stream, handshake.Token).ConfigureAwait(false);
            }

            if (head is null)
            {
                return;
            }

            string? key = head["Sec-WebSocket-Key"];
            if (!head.HeaderContains("Connection", "Upgrade") || !head.HeaderContains("Upgrade", "websocket") || string.IsNullOrWhiteSpace(key))
            {
                // A browser opening the board's address: the firmware's tiny page, then close.
                await stream.WriteAsync(BuildStaticPage(), _stopping.Token).ConfigureAwait(false);
                LogServedPage(_logger, remote);
                return;
            }

            await stream.WriteAsync(WebSocketHandshake.BuildServerResponse(key), _stopping.Token).ConfigureAwait(false);
            if (Interlocked.CompareExchange(ref _sessionActive, 1, 0) != 0)
            {
                _console.PrintNotice($"\r\nConcurrent WebREPL connection from {FormatRemote(remote)} rejected\r\n");
                LogRejected(_logger, remote);
                return;
            }

            ownsSession = true;
            connection = WebSocketConnection.CreateBoard(stream, socket, head.Leftover, _options.FirmwareTiming);
            using var sessionClose = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            lock (_gate)
            {
                _sessionClose = sessionClose;
            }

            try
            {
                await new Session(this, connection, remote).RunAsync(sessionClose.Token).ConfigureAwait(false);
            }
            finally
            {
                lock (_gate)
                {
                    _sessionClose = null;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or WebReplException)
        {
            LogConnectionEnded(_logger, remote, ex.Message);
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            await stream.DisposeAsync().ConfigureAwait(false);
            if (ownsSession)
            {
                Volatile.Write(ref _sessionActive, 0);
            }
        }
    }

    private byte[] BuildStaticPage()
    {
        string baseUrl = WebUtility.HtmlEncode(_options.StaticHost);
        return Encoding.UTF8.GetBytes(
            "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n" +
            $"<base href=\"{baseUrl}\"></base>\r\n<script src=\"webrepl_content.js\"></script>\r\n");
    }

    private static string FormatRemote(EndPoint? remote) =>
        remote is IPEndPoint ip ? $"('{ip.Address}', {ip.Port})" : remote?.ToString() ?? "unknown";

    /// <summary>One logged-in (or logging-in) client, read as the firmware reads it: a byte stream.</summary>
#pragma warning disable CA1001 // The password line is wiped when RunAsync ends, which is the session's whole life.
    private sealed class Session(WebReplServer server, WebSocketConnection connection, EndPoint? remote)
#pragma warning restore CA1001
    {
        // The line as the firmware reads and compares it (as a C string); more than the longest password is kept, so that more typed is a mismatch.
        private readonly PasswordLine _password = new();
        private readonly WebReplRequestReader _requests = new();
        private bool _loggedIn;
        private WebReplRequest _request;
        private IWebReplFileUpload? _upload;
        private Stream? _download;
        private IDisposable? _attached;
        private bool _requestsStuck;

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            try
            {
                await connection.SendAsync(PasswordPrompt, WebSocketFrameType.Text, true, cancellationToken).ConfigureAwait(false);
                using var login = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                login.CancelAfter(server._options.LoginTimeout);
                while (true)
                {
                    WebSocketFrame frame;
                    try
                    {
                        frame = await connection.ReceiveAsync(_loggedIn ? cancellationToken : login.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!_loggedIn && !cancellationToken.IsCancellationRequested)
                    {
                        // No password line in time: let the board go, as the firmware would once its socket times out.
                        LogLoginTimedOut(server._logger, remote, server._options.LoginTimeout.TotalSeconds);
                        return;
                    }

                    if (frame.Type == WebSocketFrameType.Close)
                    {
                        LogConnectionEnded(server._logger, remote, frame.CloseReason ?? "client closed");
                        return;
                    }

                    if (!await ProcessAsync(frame, cancellationToken).ConfigureAwait(false))
                    {
                        // Dropped as the firmware drops it: a plain TCP close (FIN, no close frame). A reset
                        // would make the client's kernel discard the "Access denied" it has not read yet.
                        return;
                    }
                }
            }
            finally
            {
                _password.Dispose();
                _attached?.Dispose();
                if (_upload is not null)
                {
                    await _upload.DisposeAsync().ConfigureAwait(false);
                }

                if (_download is not null)
                {
                    await _download.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        /// <summary>Handles one frame; false ends the session by dropping the connection, as the firmware does.</summary>
        private async ValueTask<bool> ProcessAsync(WebSocketFrame frame, CancellationToken cancellationToken)
        {
            ReadOnlyMemory<byte> data = frame.Payload;
            if (!_loggedIn)
            {
                // Before login every byte is password, whatever the frame type.
                if (!data.IsEmpty)
                {
                    data = data[_password.Feed(data.Span)..];
                    if (_password.IsComplete && !await CompleteLoginAsync(cancellationToken).ConfigureAwait(false))
                    {
                        return false;
                    }
                }

                if (data.IsEmpty)
                {
                    return true;
                }
            }

            if (frame.Type == WebSocketFrameType.Text)
            {
                // An empty frame is no input: the firmware ignores it (clients use it as a keepalive).
                if (!data.IsEmpty)
                {
                    await server._console.WriteInputAsync(data, cancellationToken).ConfigureAwait(false);
                }

                return true;
            }

            return _requestsStuck || await ProcessRequestBytesAsync(data, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>The password line is complete: checks it, and either refuses (false) or logs the client in.</summary>
        private async ValueTask<bool> CompleteLoginAsync(CancellationToken cancellationToken)
        {
            if (!CheckPassword())
            {
                // A pause before the answer, as login prompts make: a client cannot guess thousands a second.
                await Task.Delay(server._options.WrongPasswordDelay, cancellationToken).ConfigureAwait(false);
                await connection.SendAsync(DeniedPrompt, WebSocketFrameType.Text, true, cancellationToken).ConfigureAwait(false);
                LogDenied(server._logger, remote);
                return false;
            }

            _loggedIn = true;
            // The firmware switches to forwarding output as it sends the prompt, in one step: a client
            // that has read "WebREPL connected" gets everything printed after. So attach first, and
            // hold output back until the prompt is out, so that none is lost or comes before it.
            var promptSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _attached = server._console.AttachOutput(async (output, token) =>
            {
                await promptSent.Task.WaitAsync(token).ConfigureAwait(false);
                await connection.SendAsync(output, WebSocketFrameType.Text, true, token).ConfigureAwait(false);
            });
            try
            {
                await connection.SendAsync(ConnectedPrompt, WebSocketFrameType.Text, true, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                promptSent.TrySetResult();
            }

            LogLoggedIn(server._logger, remote);
            return true;
        }

        /// <summary>Binary bytes after login: request records, PUT data and GET's chunk requests, as the firmware reads them.</summary>
        private async ValueTask<bool> ProcessRequestBytesAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            while (!data.IsEmpty && !_requestsStuck)
            {
                int used = _requests.Read(data.Span, out var part, out var record);
                var bytes = data[..used];
                data = data[used..];
                switch (part)
                {
                    case WebReplRequestPart.Record:
                        if (!await StartRequestAsync(record, cancellationToken).ConfigureAwait(false))
                        {
                            return false;
                        }

                        break;

                    case WebReplRequestPart.PutData:
                        await _upload!.Stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                        if (_requests.PutRemaining == 0)
                        {
                            await _upload.CommitAsync(cancellationToken).ConfigureAwait(false);
                            await _upload.DisposeAsync().ConfigureAwait(false);
                            _upload = null;
                            LogTransfer(server._logger, "PUT", _request.FileName, _request.Size);
                            await SendStatusAsync(cancellationToken).ConfigureAwait(false);
                        }

                        await DelayAsync(cancellationToken).ConfigureAwait(false);
                        break;

                    case WebReplRequestPart.ChunkRequest:
                        // GET: every byte the client sends asks for the next chunk (the firmware expects 0).
                        if (!await SendChunkAsync(cancellationToken).ConfigureAwait(false))
                        {
                            _requests.EndGet();
                            await _download!.DisposeAsync().ConfigureAwait(false);
                            _download = null;
                            LogTransfer(server._logger, "GET", _request.FileName, -1);
                            await SendStatusAsync(cancellationToken).ConfigureAwait(false);
                        }

                        await DelayAsync(cancellationToken).ConfigureAwait(false);
                        break;
                }
            }

            return true;
        }

        private bool CheckPassword()
        {
            using var expected = new PasswordLine();
            expected.Feed(Encoding.UTF8.GetBytes(server._options.Password + "\n"));
            return _password.Matches(expected);
        }

        private async ValueTask<bool> StartRequestAsync(WebReplRecord record, CancellationToken cancellationToken)
        {
            // As the firmware reads a record (WebReplRequestReader). GET_VER needs nothing more.
            byte op = record.Op;
            if (op == (byte)WebReplOperation.GetVersion)
            {
                byte[] version = new byte[WebReplVersion.Length];
                server._console.Version.Write(version);
                await connection.SendAsync(version, WebSocketFrameType.Binary, true, cancellationToken).ConfigureAwait(false);
                return true;
            }

            bool known = record.IsKnown; // any other op opens the name for reading, and goes no further
            if (record.Request is not { } request)
            {
                // A name the firmware would read past its field, or not UTF-8: ignoring it keeps the files and the session safe.
                LogIgnoredRequest(server._logger, remote);
                return true;
            }

            _request = request;

            try
            {
                if (_request.Operation == WebReplOperation.PutFile)
                {
                    _upload = await server._files.CreateAsync(_request.FileName, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    _download = await server._files.OpenReadAsync(_request.FileName, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The firmware raises inside its read: no reply, the console shows the error, the socket is dropped.
                _attached?.Dispose();
                _attached = null;
                string errno = ex is UnauthorizedAccessException ? "[Errno 21] EISDIR" : "[Errno 2] ENOENT";
                server._console.PrintNotice($"dupterm: OSError: {errno}\r\n");
                LogOpenFailed(server._logger, known ? _request.Operation.ToString() : $"op {op}", _request.FileName, ex.Message);
                return false;
            }

            if (!known)
            {
                // The firmware replies, keeps the file open, and never expects another record: every later binary
                // byte is dropped (the terminal goes on). A GET with three or more surplus zero bytes ends so.
                await SendStatusAsync(cancellationToken).ConfigureAwait(false);
                await _download!.DisposeAsync().ConfigureAwait(false);
                _download = null;
                _requestsStuck = true;
                LogRequestsStuck(server._logger, remote, op);
                return true;
            }

            await SendStatusAsync(cancellationToken).ConfigureAwait(false);
            if (_request.Operation == WebReplOperation.PutFile && _request.Size == 0)
            {
                await _upload!.CommitAsync(cancellationToken).ConfigureAwait(false);
                await _upload.DisposeAsync().ConfigureAwait(false);
                _upload = null;
                await SendStatusAsync(cancellationToken).ConfigureAwait(false);
            }

            return true;
        }

        /// <summary>Sends the next chunk of the file; false after the empty chunk that ends it.</summary>
        private async ValueTask<bool> SendChunkAsync(CancellationToken cancellationToken)
        {
            byte[] chunk = new byte[WebReplChunk.HeaderLength + WebReplChunk.MaxData];
            int filled = 0;
            while (filled < WebReplChunk.MaxData)
            {
                int read = await _download!.ReadAsync(chunk.AsMemory(WebReplChunk.HeaderLength + filled, WebReplChunk.MaxData - filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                filled += read;
            }

            WebReplChunk.WriteHeader(chunk, filled);
            await connection.SendAsync(chunk.AsMemory(0, WebReplChunk.HeaderLength + filled), WebSocketFrameType.Binary, true, cancellationToken).ConfigureAwait(false);
            return filled > 0;
        }

        private ValueTask SendStatusAsync(CancellationToken cancellationToken)
        {
            byte[] status = new byte[WebReplStatus.Length];
            WebReplStatus.Write(status, 0);
            return connection.SendAsync(status, WebSocketFrameType.Binary, true, cancellationToken);
        }

        private ValueTask DelayAsync(CancellationToken cancellationToken) =>
            server._options.TransferChunkDelay > TimeSpan.Zero
                ? new ValueTask(Task.Delay(server._options.TransferChunkDelay, cancellationToken))
                : ValueTask.CompletedTask;
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "WebREPL server listening on {EndPoint}")]
    private static partial void LogListening(ILogger logger, EndPoint endPoint);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Accepting a connection failed")]
    private static partial void LogAcceptFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "Served the static page to {Remote}")]
    private static partial void LogServedPage(ILogger logger, EndPoint? remote);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Rejected a concurrent connection from {Remote}")]
    private static partial void LogRejected(ILogger logger, EndPoint? remote);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Client {Remote} logged in")]
    private static partial void LogLoggedIn(ILogger logger, EndPoint? remote);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "Client {Remote} sent no password within {Seconds} s: dropped")]
    private static partial void LogLoginTimedOut(ILogger logger, EndPoint? remote, double seconds);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "Client {Remote} sent a wrong password")]
    private static partial void LogDenied(ILogger logger, EndPoint? remote);

    [LoggerMessage(EventId = 106, Level = LogLevel.Debug, Message = "{Operation} of {FileName} done ({Size} bytes, -1: not counted)")]
    private static partial void LogTransfer(ILogger logger, string operation, string fileName, long size);

    [LoggerMessage(EventId = 107, Level = LogLevel.Warning, Message = "{Operation} of {FileName} failed: {Reason}; dropping the connection as the firmware does")]
    private static partial void LogOpenFailed(ILogger logger, string operation, string fileName, string reason);

    [LoggerMessage(EventId = 108, Level = LogLevel.Warning, Message = "Ignored a malformed request record from {Remote}")]
    private static partial void LogIgnoredRequest(ILogger logger, EndPoint? remote);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "Client {Remote} sent a request with op {Op}: as the firmware, no further request is read on this connection")]
    private static partial void LogRequestsStuck(ILogger logger, EndPoint? remote, byte op);

    [LoggerMessage(EventId = 109, Level = LogLevel.Debug, Message = "Connection from {Remote} ended: {Reason}")]
    private static partial void LogConnectionEnded(ILogger logger, EndPoint? remote, string reason);
}
