using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using WebRepl.Device;
using WebRepl.Transport;

namespace WebRepl.Gateway.Tests.Support;

/// <summary>Every async test runs under one of these: a hang fails the test instead of the run.</summary>
internal static class TestTimeout
{
    public static CancellationTokenSource Start(int seconds = 20)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(seconds));
        return cts;
    }
}

/// <summary>One log call, everything it carried rendered as text.</summary>
internal sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, string State, string? Exception)
{
    public string AllText => $"{Category} {EventId} {Message} {State} {Exception}";
}

/// <summary>Keeps every log entry at every level (trace included), scopes too.</summary>
internal sealed class CapturingLoggerFactory : ILoggerFactory, ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private static string Render(object? state) => state switch
    {
        null => string.Empty,
        IEnumerable<KeyValuePair<string, object?>> pairs => string.Join(", ", pairs.Select(p => $"{p.Key}={p.Value}")),
        _ => state.ToString() ?? string.Empty,
    };

    private sealed class Logger(CapturingLoggerFactory owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull
        {
            owner._entries.Enqueue(new LogEntry(category, LogLevel.None, default, "scope", Render(state), null));
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception), Render(state), exception?.ToString()));
    }
}

/// <summary>A real <see cref="WebReplServer"/> with an echo console on 127.0.0.1 and a port the system picks.</summary>
internal sealed class TestBoard : IAsyncDisposable
{
    public const string Password = "secret";

    private TestBoard(WebReplServer server, EchoConsole console, string root)
    {
        Server = server;
        Console = console;
        Root = root;
    }

    public WebReplServer Server { get; }

    public EchoConsole Console { get; }

    public string Root { get; }

    public int Port => Server.LocalEndPoint.Port;

    public string Url => $"ws://127.0.0.1:{Port}";

    public static TestBoard Start(bool firmwareTiming = true, ILoggerFactory? logging = null)
    {
        string root = Directory.CreateTempSubdirectory("webrepl-gateway-tests-").FullName;
        var console = new EchoConsole();
        var options = new WebReplServerOptions
        {
            Password = Password,
            EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            FirmwareTiming = firmwareTiming,
            LoggerFactory = logging ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance,
        };
        var server = new WebReplServer(options, console, new DirectoryFileStore(root));
        server.Start();
        return new TestBoard(server, console, root);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A gateway on 127.0.0.1:0 with captured logs.</summary>
internal sealed class TestGateway : IAsyncDisposable
{
    private TestGateway(WebReplGateway gateway, CapturingLoggerFactory logs)
    {
        Gateway = gateway;
        Logs = logs;
    }

    public WebReplGateway Gateway { get; }

    public CapturingLoggerFactory Logs { get; }

    public Uri Url => Gateway.Urls[0];

    public int Port => Url.Port;

    /// <summary>The WebSocket base, e.g. ws://127.0.0.1:12345.</summary>
    public string WsBase => Gateway.WebSocketUrls[0];

    public string Origin => $"{Url.Scheme}://127.0.0.1:{Port}";

    public static async Task<TestGateway> StartAsync(Func<GatewayOptions, GatewayOptions>? configure = null, CancellationToken cancellationToken = default)
    {
        var logs = new CapturingLoggerFactory();
        var options = new GatewayOptions { Listen = [new IPEndPoint(IPAddress.Loopback, 0)], LoggerFactory = logs };
        options = configure?.Invoke(options) ?? options;
        var gateway = await WebReplGateway.StartAsync(options, cancellationToken);
        return new TestGateway(gateway, logs);
    }

    public string Forward(string boardUrl, string query = "") => $"{WsBase}/{boardUrl}{query}";

    public ValueTask DisposeAsync() => Gateway.DisposeAsync();
}

/// <summary>A WebSocket client with our framing (it sends and receives any bytes, fragments and close codes).</summary>
internal static class RawClient
{
    public static Task<WebSocketConnection> ConnectAsync(string url, CancellationToken cancellationToken, string? origin = null) =>
        WebSocketConnection.ConnectAsync(
            WebReplTarget.Parse(url),
            new WebSocketConnectOptions { RequestHeaders = origin is null ? [] : [new("Origin", origin)] },
            cancellationToken);

    /// <summary>Reads text frames until <paramref name="expected"/> has appeared; returns everything read.</summary>
    public static async Task<byte[]> ReadTextUntilAsync(this WebSocketConnection connection, string expected, CancellationToken cancellationToken)
    {
        var seen = new List<byte>();
        byte[] marker = Encoding.UTF8.GetBytes(expected);
        while (seen.ToArray().AsSpan().IndexOf(marker) < 0)
        {
            var frame = await connection.ReceiveAsync(cancellationToken);
            if (frame.Type == WebSocketFrameType.Close)
            {
                throw new InvalidOperationException($"Closed ({frame.CloseStatus} {frame.CloseReason}) before '{expected}'; got '{Encoding.Latin1.GetString([.. seen])}'.");
            }

            if (frame.Type == WebSocketFrameType.Text)
            {
                seen.AddRange(frame.Payload.Span);
            }
        }

        return [.. seen];
    }

    /// <summary>Connects and logs in: Password prompt, password, "WebREPL connected ... >>> ".</summary>
    public static async Task<WebSocketConnection> LoginAsync(string url, CancellationToken cancellationToken, string password = TestBoard.Password, string? origin = null)
    {
        var connection = await ConnectAsync(url, cancellationToken, origin);
        await connection.ReadTextUntilAsync("Password: ", cancellationToken);
        await connection.SendAsync(Encoding.ASCII.GetBytes(password + "\r"), WebSocketFrameType.Text, true, cancellationToken);
        await connection.ReadTextUntilAsync("WebREPL connected\r\n>>> ", cancellationToken);
        return connection;
    }

    /// <summary>Reads until a close frame; returns it.</summary>
    public static async Task<WebSocketFrame> ReadCloseAsync(this WebSocketConnection connection, CancellationToken cancellationToken)
    {
        while (true)
        {
            var frame = await connection.ReceiveAsync(cancellationToken);
            if (frame.Type == WebSocketFrameType.Close)
            {
                return frame;
            }
        }
    }
}

/// <summary>.NET's ClientWebSocket with an Origin: a stand-in for a browser (it too aborts on invalid UTF-8 text).</summary>
internal static class BrowserClient
{
    public static async Task<ClientWebSocket> ConnectAsync(string url, string? origin, CancellationToken cancellationToken, Action<ClientWebSocketOptions>? configure = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        configure?.Invoke(socket.Options);
        await socket.ConnectAsync(new Uri(url), cancellationToken);
        return socket;
    }

    /// <summary>Reads whole text messages until the text contains <paramref name="expected"/>; returns the text read.</summary>
    public static async Task<string> ReadUntilAsync(this ClientWebSocket socket, string expected, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var buffer = new byte[64 * 1024];
        while (!text.ToString().Contains(expected, StringComparison.Ordinal))
        {
            var message = new MemoryStream();
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer, cancellationToken);
                message.Write(buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);

            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException($"Closed ({result.CloseStatus} {result.CloseStatusDescription}) before '{expected}'; got '{text}'.");
            }

            text.Append(Encoding.UTF8.GetString(message.ToArray()));
        }

        return text.ToString();
    }

    public static Task SendTextAsync(this ClientWebSocket socket, string text, CancellationToken cancellationToken) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, cancellationToken);

    /// <summary>Receives until the close message; returns its status and description.</summary>
    public static async Task<(WebSocketCloseStatus? Status, string? Description)> ReadCloseAsync(this ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (result.CloseStatus, result.CloseStatusDescription);
            }
        }
    }
}

/// <summary>
/// A scripted WebSocket server standing in for a board (or another gateway): it accepts one connection,
/// handshakes, and hands the test a <see cref="WebSocketConnection"/> to script; it counts every TCP connection.
/// </summary>
internal sealed class ScriptedPeer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private int _accepted;

    public ScriptedPeer(IPAddress? address = null)
    {
        _listener = new TcpListener(address ?? IPAddress.Loopback, 0);
        _listener.Start();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Accepted => Volatile.Read(ref _accepted);

    public string Url => $"ws://{((IPEndPoint)_listener.LocalEndpoint).Address}:{Port}";

    public async Task<WebSocketConnection> AcceptAsync(CancellationToken cancellationToken)
    {
        var socket = await _listener.AcceptSocketAsync(cancellationToken);
        Interlocked.Increment(ref _accepted);
        socket.NoDelay = true;
        var stream = new NetworkStream(socket, ownsSocket: true);
        var head = new List<byte>();
        byte[] one = new byte[1];
        while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await stream.ReadAsync(one, cancellationToken) == 0)
            {
                throw new IOException("The peer closed during the handshake.");
            }

            head.Add(one[0]);
        }

        string key = Encoding.ASCII.GetString([.. head]).Split("\r\n")
            .First(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))["Sec-WebSocket-Key:".Length..].Trim();
#pragma warning disable CA5350 // RFC 6455's accept value is SHA-1 by definition.
        string accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"), cancellationToken);
#pragma warning restore CA5350
        return WebSocketConnection.CreateServer(stream);
    }

    public ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Dispose();
        return ValueTask.CompletedTask;
    }
}
