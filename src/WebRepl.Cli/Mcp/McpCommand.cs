using System.CommandLine;
using System.Reflection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace WebRepl.Cli.Mcp;

/// <summary>
/// <c>webrepl mcp</c>: a Model Context Protocol server on stdin/stdout, so that a coding agent can run code on the
/// board, manage its files and reset it. Standard output carries the protocol alone; logs go to standard error.
/// </summary>
internal static class McpCommand
{
    public static Command Create(
        CliContext context,
        Func<ParseResult, CancellationToken, Task<WebReplClient>> connect,
        Func<ParseResult, string?> password,
        Func<Func<Task<int>>, Task<int>> guard)
    {
        var command = new Command("mcp",
            "Serve the board to a coding agent: a Model Context Protocol server on stdin/stdout (tools exec, eval, run_file, interrupt, " +
            "list_files, read_file, write_file, remove, make_dir, reset, board_info). Logs go to stderr.");
        command.SetAction((parse, ct) => guard(() => RunAsync(context, parse, connect, password(parse), ct)));
        return command;
    }

    private static async Task<int> RunAsync(
        CliContext context,
        ParseResult parse,
        Func<ParseResult, CancellationToken, Task<WebReplClient>> connect,
        string? password,
        CancellationToken cancellationToken)
    {
        // Whatever else might print to Console.Out would corrupt the protocol: send it to stderr.
        Console.SetOut(context.Error);
        string Scrub(string text) => string.IsNullOrEmpty(password) ? text : text.Replace(password, "***", StringComparison.Ordinal);
        void Log(string line)
        {
            lock (context.Error)
            {
                context.Error.WriteLine(Scrub($"webrepl mcp: {line}"));
                context.Error.Flush();
            }
        }

        using var loggerFactory = new StderrLoggerFactory(context.Error, LogLevel.Warning);
        await using var session = new BoardSession(ct => connect(parse, ct), Log);
        var tools = new McpServerPrimitiveCollection<McpServerTool>();
        foreach (var tool in new BoardTools(session, Scrub).Create())
        {
            tools.Add(tool);
        }

        var options = new McpServerOptions
        {
            ServerInfo = new Implementation
            {
                Name = "webrepl",
                Version = typeof(McpCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0",
            },
            ServerInstructions = "Tools for one MicroPython board reached over WebREPL. exec runs code and returns its output (a traceback as an error); " +
                "read_file/write_file/list_files manage the board's files; reset soft clears Python state; interrupt stops a running program.",
            ToolCollection = tools,
        };

        var transport = new StdioServerTransport(options, loggerFactory);
        await using var server = McpServer.Create(transport, options, loggerFactory);
        Log("serving over stdio; the board is connected on the first tool call");
        try
        {
            await server.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // A signal ends the server; that is a normal end here.
        }

        Log("stopped");
        return ExitCodes.Success;
    }
}
