using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using WebRepl.Device;

namespace WebRepl.Board;

/// <summary>How a <see cref="VirtualBoard"/> starts.</summary>
public sealed record VirtualBoardOptions
{
    /// <summary>Where the board's WebREPL listens (port 8266 by default, as a board; 0 for any free port).</summary>
    public IPEndPoint EndPoint { get; init; } = new(IPAddress.Loopback, 8266);

    /// <summary>
    /// The WebREPL password: 1 to <see cref="WebReplClient.MaxPasswordLength"/> (9) bytes, as a board's firmware keeps;
    /// null generates one of 9 characters.
    /// </summary>
    public string? Password { get; init; }

    /// <summary>The host folder that holds the board's files (its <c>/</c>); null uses <see cref="DefaultRoot"/>.</summary>
    public string? Root { get; init; }

    /// <summary>The Node.js executable (20 or newer).</summary>
    public string NodePath { get; init; } = "node";

    /// <summary>
    /// The cap, in MB, of the interpreter's WebAssembly memory; Python gets about half of it. WebAssembly memory
    /// never shrinks, so this bounds the board's memory (32: Python has 16 MB, more than any real board).
    /// </summary>
    public int MaxMemoryMB { get; init; } = 32;

    /// <summary>How long the interpreter may take to start.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the interpreter's host is asked whether it is alive.</summary>
    public TimeSpan WatchdogInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the host may leave a ping unanswered before it is restarted (files are kept).</summary>
    public TimeSpan WatchdogTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Makes the store that WebREPL's PUT and GET use, given the board's folder (<see cref="Root"/>, made full);
    /// null uses a <see cref="DirectoryFileStore"/> on it. The interpreter always reads and writes that folder
    /// directly, so a replacement should keep its files there: it is meant for wrapping the default store, for
    /// instance to observe transfers or, in tests, to damage one and see that verification notices.
    /// </summary>
    public Func<string, IWebReplFileStore>? FileStore { get; init; }

    /// <summary>Where the board logs.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>The default folder for the board's files, under the user's data folder.</summary>
    public static string DefaultRoot =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "webrepl", "board");
}
