using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using WebRepl.Device;

namespace WebRepl.Cli.Tests;

/// <summary>A board (WebReplServer with an echo console) on a loopback port the system picks, with its files in a temporary folder.</summary>
internal sealed class TestBoard : IAsyncDisposable
{
    public const string Password = "s3cret";

    private TestBoard(WebReplServer server, EchoConsole console, string root, LogCapture logs)
    {
        Server = server;
        Console = console;
        Root = root;
        Logs = logs;
    }

    public WebReplServer Server { get; }

    public EchoConsole Console { get; }

    /// <summary>The board's files.</summary>
    public string Root { get; }

    /// <summary>What the server logged, all levels.</summary>
    public LogCapture Logs { get; }

    public string Address => $"127.0.0.1:{Server.LocalEndPoint.Port}";

    /// <param name="transferChunkDelay">A pause after each file-transfer chunk, to make transfers slow enough to interrupt.</param>
    public static TestBoard Start(TimeSpan transferChunkDelay = default)
    {
        string root = Directory.CreateTempSubdirectory("webrepl-board-").FullName;
        var console = new EchoConsole();
        var logs = new LogCapture();
        var server = new WebReplServer(
            new WebReplServerOptions { Password = Password, EndPoint = new IPEndPoint(IPAddress.Loopback, 0), TransferChunkDelay = transferChunkDelay, LoggerFactory = logs },
            console,
            new DirectoryFileStore(root));
        server.Start();
        return new TestBoard(server, console, root, logs);
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }
}

/// <summary>Log entries, all levels, to see how the server saw a connection end.</summary>
internal sealed class LogCapture : ILoggerFactory
{
    private readonly ConcurrentQueue<(EventId Id, string Message)> _entries = new();

    public IReadOnlyList<(EventId Id, string Message)> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            capture._entries.Enqueue((eventId, formatter(state, exception)));
    }
}

/// <summary>The result of one run of the command.</summary>
internal sealed record CliRun(int ExitCode, string Out, string Error)
{
    public string All => Out + Error;
}

/// <summary>Runs the command in-process with captured streams.</summary>
internal static class Cli
{
    public static async Task<CliRun> RunAsync(string[] args, string input = "", IDictionary<string, string>? environment = null, CancellationToken cancellationToken = default)
    {
        var output = new MemoryStream();
        var outWriter = new StringWriter();
        var errWriter = new StringWriter();
        var context = new CliContext
        {
            Out = outWriter,
            Error = errWriter,
            OpenInput = () => new MemoryStream(Encoding.UTF8.GetBytes(input)),
            OpenOutput = () => output,
            InputIsTerminal = false,
            ErrorIsTerminal = false,
            GetEnvironmentVariable = name => environment is not null && environment.TryGetValue(name, out string? value) ? value : null,
        };
        int code = await WebReplCli.RunAsync(args, context, cancellationToken: cancellationToken);
        return new CliRun(code, outWriter + Encoding.UTF8.GetString(output.ToArray()), errWriter.ToString());
    }

    /// <summary>A loopback port with nothing listening on it.</summary>
    public static int ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>The built command, to run as a process.</summary>
    public static string CommandPath => Path.Combine(AppContext.BaseDirectory, "WebRepl.Cli.dll");

    /// <summary>
    /// Runs a shell command as a process, through <c>script</c> when a terminal is wanted, as a person would:
    /// waits for each expected text on its output, then types the step's keys.
    /// </summary>
    public static async Task<CliRun> RunInteractiveAsync(string shellCommand, IReadOnlyList<(string Expect, string Keys)> steps, TimeSpan timeout, bool terminal)
    {
        var start = terminal
            ? new ProcessStartInfo("script", ["-q", "-e", "-c", shellCommand, "/dev/null"])
            : new ProcessStartInfo("sh", ["-c", shellCommand]);
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.Environment["TERM"] = "xterm";
        using var process = Process.Start(start)!;
        using var cts = new CancellationTokenSource(timeout);
        var seen = new StringBuilder();
        var stderr = process.StandardError.ReadToEndAsync(cts.Token);
        var reader = Task.Run(async () =>
        {
            char[] buffer = new char[1024];
            int n;
            while ((n = await process.StandardOutput.ReadAsync(buffer, cts.Token)) > 0)
            {
                lock (seen)
                {
                    seen.Append(buffer, 0, n);
                }
            }
        });
        try
        {
            foreach (var (expect, keys) in steps)
            {
                while (true)
                {
                    lock (seen)
                    {
                        if (seen.ToString().Contains(expect, StringComparison.Ordinal))
                        {
                            break;
                        }
                    }

                    await Task.Delay(20, cts.Token);
                }

                await process.StandardInput.BaseStream.WriteAsync(Encoding.UTF8.GetBytes(keys), cts.Token);
                await process.StandardInput.BaseStream.FlushAsync(cts.Token);
            }

            await process.WaitForExitAsync(cts.Token);
            await reader;
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{shellCommand}' did not finish within {timeout}. Output so far: {seen}");
        }

        return new CliRun(process.ExitCode, seen.ToString(), await stderr);
    }
}
