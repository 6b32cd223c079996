using System.CommandLine;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using WebRepl.Board;

namespace WebRepl.Cli;

/// <summary><c>webrepl board</c>: a virtual MicroPython board on this machine.</summary>
internal static class BoardCommand
{
    /// <summary>The board's own password option: set, or generated and printed (never asked for).</summary>
    public static Option<string?> PasswordOption() => new("--password", "-p")
    {
        Description = $"The board's WebREPL password (1 to {WebReplClient.MaxPasswordLength} characters, as a real board's). Default: one is generated and printed at start.",
        HelpName = "PASSWORD",
    };

    /// <summary>The firmware's limit (extmod/modwebrepl.c keeps 9 bytes), checked before anything starts: a usage error.</summary>
    public static string? CheckPassword(string? password) =>
        password is not null && (Encoding.UTF8.GetByteCount(password) is < 1 or > WebReplClient.MaxPasswordLength || password.AsSpan().IndexOfAny('\r', '\n') >= 0)
            ? throw CliException.Usage($"-p: a WebREPL password has 1 to {WebReplClient.MaxPasswordLength} characters (bytes in UTF-8) and no line end, as on a real board; choose another.")
            : password;

    public static Command Create(CliContext context, Option<string?> password, Func<Func<Task<int>>, Task<int>> guard)
    {
        var port = new Option<int>("--port")
        {
            Description = "The WebREPL port (0: any free port).",
            DefaultValueFactory = _ => 8266,
        };
        var bind = new Option<string>("--bind")
        {
            Description = "The address to listen on. Other machines can reach the board only if this is not a loopback address.",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        var root = new Option<string?>("--root")
        {
            Description = $"The folder that holds the board's files (kept across restarts). Default: {VirtualBoardOptions.DefaultRoot}",
            HelpName = "DIR",
        };
        var node = new Option<string>("--node")
        {
            Description = "The Node.js executable (20 or newer) that runs MicroPython.",
            DefaultValueFactory = _ => "node",
            HelpName = "PATH",
        };
        var memory = new Option<int>("--max-memory-mb")
        {
            Description = "The cap of the interpreter's memory in MB (Python gets about half); 32 to 4096.",
            DefaultValueFactory = _ => 32,
            HelpName = "MB",
        };
        var command = new Command(
            "board",
            "Run a virtual MicroPython board: the real interpreter (WebAssembly, run by Node.js) behind WebREPL. " +
            "-p sets its password (one is generated otherwise). Ctrl-C or SIGTERM stops it cleanly.")
        {
            Options = { password, port, bind, root, node, memory },
        };
        command.SetAction((parse, ct) => guard(async () =>
        {
            if (!IPAddress.TryParse(parse.GetValue(bind), out var address))
            {
                throw CliException.Usage($"--bind takes an IP address (e.g. 127.0.0.1 or 0.0.0.0), not '{parse.GetValue(bind)}'.");
            }

            int portNumber = parse.GetValue(port);
            if (portNumber is < 0 or > 65535)
            {
                throw CliException.Usage("--port takes a number from 0 to 65535.");
            }

            var options = new VirtualBoardOptions
            {
                EndPoint = new IPEndPoint(address, portNumber),
                Password = CheckPassword(parse.GetValue(password)),
                Root = parse.GetValue(root),
                NodePath = parse.GetValue(node)!,
                MaxMemoryMB = parse.GetValue(memory),
                LoggerFactory = new StderrLoggerFactory(context.Error, LogLevel.Information),
            };
            return await RunAsync(context, options, ct);
        }));
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, VirtualBoardOptions options, CancellationToken cancellationToken)
    {
        // Ctrl-C and SIGTERM cancel the token (StopSignals, for every command): the board stops cleanly (the client
        // told, the Node.js child ended, the port released), also when no terminal sends the signal to the whole
        // process group (a script, CI, a service manager).
        VirtualBoard board;
        try
        {
            board = await VirtualBoard.StartAsync(options, cancellationToken);
        }
        catch (VirtualBoardException ex)
        {
            throw new CliException(ex.Message, StartFailure.ExitCode(ex));
        }

        await using (board)
        {
            var endPoint = board.EndPoint;
            string hostPort = endPoint.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
                ? $"[{endPoint.Address}]:{endPoint.Port}"
                : $"{endPoint.Address}:{endPoint.Port}";
            string passwordLine = board.PasswordGenerated
                ? $"{board.Password}   (generated; choose one with -p)"
                : "the one given with -p";
            // Through the environment, not -p: a command line is visible to every user of the computer (ps).
            string connect = board.PasswordGenerated
                ? $"WEBREPL_PASSWORD={board.Password} webrepl -t {hostPort} repl"
                : $"webrepl -t {hostPort} repl";
            await context.Out.WriteLineAsync(
                $"""
                Virtual MicroPython board ready: MicroPython {board.Version} (WebAssembly, run by Node.js)
                  WebREPL   {board.Url}
                  password  {passwordLine}
                  files     {board.Root}   (kept between runs; start clean: --root NEW_DIR, or delete this folder)
                Connect:    {connect}
                Ctrl-C stops the board.
                """);
            await context.Out.FlushAsync(cancellationToken);
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                await context.Error.WriteLineAsync("Stopping the board.");
            }
        }

        return ExitCodes.Success;
    }
}
