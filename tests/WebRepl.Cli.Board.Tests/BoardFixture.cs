using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using WebRepl.Board;

namespace WebRepl.Cli.Board.Tests;

/// <summary>
/// One virtual board (the real MicroPython) on a free loopback port, shared by the tests of a class. Each test
/// works in its own board folder (<see cref="NewFolder"/>) and its own local folder, so the tests stay
/// independent of each other's files.
/// </summary>
public class BoardFixture : IAsyncLifetime
{
    public const string Password = "pyth0n";

    private int _folders;
    private VirtualBoard? _board;

    /// <summary>The board's files on this machine (the board's <c>/</c>).</summary>
    public string Root { get; } = Directory.CreateTempSubdirectory("webrepl-cli-board-").FullName;

    public VirtualBoard Board => _board ?? throw new InvalidOperationException("The board is not started.");

    /// <summary>What the board's WebREPL server logged (warnings and up), e.g. a dropped session.</summary>
    public LogCapture Logs { get; } = new();

    /// <summary>The <c>-t</c> value for this board.</summary>
    public string Target => $"127.0.0.1:{Board.EndPoint.Port}";

    public async ValueTask InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        _board = await VirtualBoard.StartAsync(
            Configure(new VirtualBoardOptions
            {
                EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
                Password = Password,
                Root = Root,
                LoggerFactory = Logs,
            }),
            timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (_board is not null)
        {
            await _board.DisposeAsync();
        }

        Logs.Dispose();
        Directory.Delete(Root, recursive: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>A new, empty board folder for one test; returns its board path (<c>/name-N</c>).</summary>
    public string NewFolder(string name = "t")
    {
        string folder = $"/{name}-{Interlocked.Increment(ref _folders)}";
        Directory.CreateDirectory(HostPath(folder));
        return folder;
    }

    /// <summary>Where a board path is on this machine.</summary>
    public string HostPath(string boardPath) =>
        Path.Combine(Root, boardPath.TrimStart('/').Replace('/', Path.DirectorySeparatorChar));

    /// <summary>Runs <c>webrepl ARGS</c> in-process against this board (target and password from the environment).</summary>
    public Task<CliRun> RunAsync(string[] args, CancellationToken cancellationToken, Stream? stdout = null) =>
        Cli.RunAsync(args, new Dictionary<string, string> { [WebReplCli.TargetVariable] = Target, [WebReplCli.PasswordVariable] = Password }, stdout, cancellationToken);

    /// <summary>Changes the board's options before it starts.</summary>
    protected virtual VirtualBoardOptions Configure(VirtualBoardOptions options) => options;
}

/// <summary>A local temporary folder for one test, and tree helpers.</summary>
internal sealed class LocalFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("webrepl-cli-local-").FullName;

    public string File(string relative, byte[] content)
    {
        string full = System.IO.Path.Combine(Path, relative.Replace('/', System.IO.Path.DirectorySeparatorChar));
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        System.IO.File.WriteAllBytes(full, content);
        return full;
    }

    public string File(string relative, string content) => File(relative, System.Text.Encoding.UTF8.GetBytes(content));

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

internal static class Trees
{
    /// <summary>Relative path (with <c>/</c>) to SHA-256 (files) or <c>dir</c> (folders), for comparing two trees.</summary>
    public static SortedDictionary<string, string> Snapshot(string folder)
    {
        var tree = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var info in new DirectoryInfo(folder).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.None }))
        {
            string relative = Path.GetRelativePath(folder, info.FullName).Replace(Path.DirectorySeparatorChar, '/');
            tree[relative] = info is FileInfo file ? Sha256(File.ReadAllBytes(file.FullName)) : "dir";
        }

        return tree;
    }

    /// <summary>Relative path to last write time (files), to tell whether anything was rewritten.</summary>
    public static SortedDictionary<string, DateTime> WriteTimes(string folder)
    {
        var times = new SortedDictionary<string, DateTime>(StringComparer.Ordinal);
        foreach (var file in new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories))
        {
            times[Path.GetRelativePath(folder, file.FullName)] = file.LastWriteTimeUtc;
        }

        return times;
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static byte[] RandomBytes(int count, int seed)
    {
        byte[] bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}

/// <summary>Keeps the board's warnings and errors (with their event ids) for assertions.</summary>
public sealed class LogCapture : ILoggerFactory
{
    private readonly ConcurrentQueue<(EventId Id, string Category, string Message)> _entries = new();

    public IReadOnlyList<(EventId Id, string Category, string Message)> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                capture._entries.Enqueue((eventId, category, formatter(state, exception)));
            }
        }
    }
}
