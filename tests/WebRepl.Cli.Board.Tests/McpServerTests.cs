using System.Text;
using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace WebRepl.Cli.Board.Tests;

/// <summary>
/// <c>webrepl mcp</c> as an agent runs it: a process of its own, driven by the MCP SDK's client over stdio, against
/// the virtual board (a board of its own: resets touch everything).
/// </summary>
public sealed class McpServerTests(BoardFixture fixture) : IClassFixture<BoardFixture>, IDisposable
{
    private static readonly string[] ToolNames = ["exec", "eval", "run_file", "interrupt", "list_files", "read_file", "write_file", "remove", "make_dir", "reset", "board_info"];

    private readonly CancellationTokenSource _timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
    private readonly StringBuilder _stderr = new();

    private CancellationToken Token => _timeout.Token;

    public void Dispose() => _timeout.Dispose();

    [Fact]
    public async Task Mcp_ListTools_EveryToolWithDescriptionSchemaAndAnnotations()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(120));
        await using var client = await StartAsync();

        var tools = await client.ListToolsAsync(cancellationToken: Token);

        Assert.Equal(ToolNames.Order(StringComparer.Ordinal), tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var tool in tools)
        {
            Assert.False(string.IsNullOrWhiteSpace(tool.Description), tool.Name);
            Assert.Equal("object", tool.JsonSchema.GetProperty("type").GetString());
            Assert.NotNull(tool.ProtocolTool.Annotations);
        }

        var byName = tools.ToDictionary(t => t.Name);
        Assert.True(byName["read_file"].ProtocolTool.Annotations!.ReadOnlyHint);
        Assert.True(byName["board_info"].ProtocolTool.Annotations!.ReadOnlyHint);
        Assert.True(byName["remove"].ProtocolTool.Annotations!.DestructiveHint);
        Assert.False(byName["remove"].ProtocolTool.Annotations!.ReadOnlyHint);
        Assert.Equal(["code"], Required(byName["exec"]));
        Assert.True(byName["exec"].JsonSchema.GetProperty("properties").TryGetProperty("timeout_seconds", out _));
        Assert.Equal(["content", "path"], Required(byName["write_file"]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Mcp_ExecEvalFiles_WorkOnTheBoard_TracebackIsAnError()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(180));
        string f = fixture.NewFolder("mcp");
        await using var client = await StartAsync();

        var printed = await CallAsync(client, "exec", new() { ["code"] = "for i in range(3):\n    print('n', i)" });
        Assert.False(printed.IsError, Text(printed));
        Assert.Equal("n 0\nn 1\nn 2\n", Text(printed));

        var failed = await CallAsync(client, "exec", new() { ["code"] = "print('before')\n1/0" });
        Assert.True(failed.IsError);
        Assert.Equal("before\n", Block(failed, 0));
        Assert.Contains("Traceback (most recent call last):", Block(failed, 1), StringComparison.Ordinal);
        Assert.Contains("ZeroDivisionError", Block(failed, 1), StringComparison.Ordinal);

        var evaluated = await CallAsync(client, "eval", new() { ["code"] = "6 * 7" });
        Assert.Equal("42\n", Text(evaluated));

        string script = Path.Combine(Path.GetTempPath(), $"mcp-run-{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(script, "print('from a local file', 2 + 3)\n", Token);
        try
        {
            Assert.Equal("from a local file 5\n", Text(await CallAsync(client, "run_file", new() { ["path"] = script })));
        }
        finally
        {
            File.Delete(script);
        }

        var made = await CallAsync(client, "make_dir", new() { ["path"] = $"{f}/lib/deep" });
        Assert.False(made.IsError, Text(made));
        Assert.True(Directory.Exists(fixture.HostPath($"{f}/lib/deep")));

        var wrote = await CallAsync(client, "write_file", new() { ["path"] = $"{f}/lib/util.py", ["content"] = "def f():\n    return 'ü'\n" });
        Assert.False(wrote.IsError, Text(wrote));
        Assert.Contains("verified", Text(wrote), StringComparison.Ordinal);
        Assert.Equal("def f():\n    return 'ü'\n", await File.ReadAllTextAsync(fixture.HostPath($"{f}/lib/util.py"), Token));

        var text = await CallAsync(client, "read_file", new() { ["path"] = $"{f}/lib/util.py" });
        Assert.False(text.IsError, Text(text));
        Assert.Contains("UTF-8 text", Block(text, 0), StringComparison.Ordinal);
        Assert.Equal("def f():\n    return 'ü'\n", Block(text, 1));

        // Every byte value, so that no text conversion can pass unnoticed.
        byte[] binary = [.. Enumerable.Range(0, 256).Select(i => (byte)i), .. Trees.RandomBytes(3000, 17)];
        var sent = await CallAsync(client, "write_file", new() { ["path"] = $"{f}/blob.bin", ["content"] = Convert.ToBase64String(binary), ["encoding"] = "base64" });
        Assert.False(sent.IsError, Text(sent));
        Assert.Equal(binary, await File.ReadAllBytesAsync(fixture.HostPath($"{f}/blob.bin"), Token));
        var back = await CallAsync(client, "read_file", new() { ["path"] = $"{f}/blob.bin" });
        Assert.False(back.IsError, Text(back));
        Assert.Contains("base64", Block(back, 0), StringComparison.Ordinal);
        Assert.Equal(binary, Convert.FromBase64String(Block(back, 1)));

        var listing = Text(await CallAsync(client, "list_files", new() { ["path"] = f, ["recursive"] = true }));
        Assert.Contains($"{f}/lib/", listing, StringComparison.Ordinal);
        Assert.Contains($"{f}/lib/util.py", listing, StringComparison.Ordinal);
        Assert.Contains($"{binary.Length} {f}/blob.bin", listing, StringComparison.Ordinal);

        var missing = await CallAsync(client, "read_file", new() { ["path"] = $"{f}/nothing.txt" });
        Assert.True(missing.IsError);
        Assert.Contains("nothing.txt", Text(missing), StringComparison.Ordinal);

        Assert.False((await CallAsync(client, "remove", new() { ["path"] = $"{f}/blob.bin" })).IsError);
        Assert.False(File.Exists(fixture.HostPath($"{f}/blob.bin")));
        var folder = await CallAsync(client, "remove", new() { ["path"] = $"{f}/lib" });
        Assert.True(folder.IsError);
        Assert.True(Directory.Exists(fixture.HostPath($"{f}/lib")));
        Assert.False((await CallAsync(client, "remove", new() { ["path"] = $"{f}/lib", ["recursive"] = true })).IsError);
        Assert.False(Directory.Exists(fixture.HostPath($"{f}/lib")));

        var info = Text(await CallAsync(client, "board_info", []));
        Assert.Contains("micropython: ", info, StringComparison.Ordinal);
        Assert.Contains("uname: ", info, StringComparison.Ordinal);
        Assert.Contains("memory: free ", info, StringComparison.Ordinal);
        Assert.Contains("filesystem /: size ", info, StringComparison.Ordinal);

        var badArgument = await CallAsync(client, "exec", new() { ["code"] = 5 });
        Assert.True(badArgument.IsError);
        Assert.Contains("'code' must be a string", Text(badArgument), StringComparison.Ordinal);

        AssertNoPassword();
    }

    [Fact]
    public async Task Mcp_Exec_PastItsTimeout_IsInterruptedAndReported_LongOutputIsCut()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(180));
        await using var client = await StartAsync();

        var stuck = await CallAsync(client, "exec", new() { ["code"] = "print('started')\nwhile True:\n    pass", ["timeout_seconds"] = 2 });

        Assert.True(stuck.IsError);
        Assert.Equal("started\n", Block(stuck, 0));
        Assert.Contains("Timed out", Block(stuck, 1), StringComparison.Ordinal);
        Assert.Equal("still here\n", Text(await CallAsync(client, "exec", new() { ["code"] = "print('still here')" })));

        var longOutput = await CallAsync(client, "exec", new() { ["code"] = "for i in range(4000):\n    print('line %05d' % i)" });
        string cut = Text(longOutput);
        Assert.False(longOutput.IsError, cut);
        Assert.StartsWith("line 00000\n", cut, StringComparison.Ordinal);
        Assert.EndsWith("line 03999\n", cut, StringComparison.Ordinal);
        Assert.Matches(@"\[\.\.\. \d+ bytes of output left out \.\.\.\]", cut);
        Assert.True(cut.Length < 4000 * 11, $"{cut.Length} characters");
    }

    [Fact]
    public async Task Mcp_Interrupt_StopsARunningExec()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(180));
        string f = fixture.NewFolder("mcp-int");
        await using var client = await StartAsync();

        var running = CallAsync(client, "exec", new() { ["code"] = $"open('{f}/running', 'w').write('1')\nwhile True:\n    pass", ["timeout_seconds"] = 600 });
        while (!File.Exists(fixture.HostPath($"{f}/running")))
        {
            Assert.False(running.IsCompleted, running.IsCompleted ? Text(await running) : string.Empty);
            await Task.Delay(50, Token);
        }

        var interrupted = await CallAsync(client, "interrupt", []);
        var stopped = await running;

        Assert.False(interrupted.IsError, Text(interrupted));
        Assert.True(stopped.IsError);
        Assert.Contains("Interrupted", Text(stopped), StringComparison.Ordinal);
        Assert.Equal("after\n", Text(await CallAsync(client, "exec", new() { ["code"] = "print('after')" })));
    }

    [Fact]
    public async Task Mcp_ResetAndBoardRestart_TheNextCallReconnects()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(240));
        await using var client = await StartAsync();
        Assert.False((await CallAsync(client, "exec", new() { ["code"] = "marker = 1" })).IsError);

        var soft = await CallAsync(client, "reset", new() { ["mode"] = "soft" });
        Assert.False(soft.IsError, Text(soft));
        Assert.Equal("False\n", Text(await CallAsync(client, "eval", new() { ["code"] = "'marker' in globals()" })));

        // The program restarts the board: the board drops the connection as it restarts, mid-call.
        var restarted = await CallAsync(client, "exec", new() { ["code"] = "marker = 2\nimport machine\nmachine.reset()" });
        Assert.True(restarted.IsError);
        Assert.Contains("the next call connects again", Text(restarted), StringComparison.Ordinal);
        var info = await CallAsync(client, "board_info", []);
        Assert.False(info.IsError, Text(info) + "\n" + Stderr());
        Assert.True(Stderr().Split("webrepl mcp: connected to").Length - 1 == 2, Stderr());
        Assert.Equal("False\n", Text(await CallAsync(client, "eval", new() { ["code"] = "'marker' in globals()" })));

        Assert.False((await CallAsync(client, "exec", new() { ["code"] = "marker = 3" })).IsError);
        var hard = await CallAsync(client, "reset", new() { ["mode"] = "hard" });
        Assert.False(hard.IsError, Text(hard) + "\n" + Stderr());
        Assert.Equal("False\n", Text(await CallAsync(client, "eval", new() { ["code"] = "'marker' in globals()" })));
        Assert.Contains("connected to", Stderr(), StringComparison.Ordinal);
        AssertNoPassword();
    }

    [Fact]
    public async Task Mcp_WrongPassword_ErrorSaysAccessDenied_WithoutThePassword()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(120));
        const string Wrong = "wr0ngpw";
        await using var client = await StartAsync(Wrong);

        var result = await CallAsync(client, "board_info", []);

        Assert.True(result.IsError);
        Assert.Contains("password", Text(result), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Wrong, Text(result), StringComparison.Ordinal);
        Assert.DoesNotContain(Wrong, Stderr(), StringComparison.Ordinal);
    }

    private async Task<McpClient> StartAsync(string password = BoardFixture.Password)
    {
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "webrepl",
            Command = "dotnet",
            Arguments = [Path.Combine(AppContext.BaseDirectory, "WebRepl.Cli.dll"), "mcp"],
            EnvironmentVariables = new Dictionary<string, string?>
            {
                [WebReplCli.TargetVariable] = fixture.Target,
                [WebReplCli.PasswordVariable] = password,
            },
            StandardErrorLines = line =>
            {
                lock (_stderr)
                {
                    _stderr.Append(line).Append('\n');
                }
            },
        });
        return await McpClient.CreateAsync(transport, cancellationToken: Token);
    }

    private readonly List<CallToolResult> _results = [];

    private async Task<CallToolResult> CallAsync(McpClient client, string tool, Dictionary<string, object?> arguments)
    {
        var result = await client.CallToolAsync(tool, arguments, cancellationToken: Token);
        lock (_results)
        {
            _results.Add(result);
        }

        return result;
    }

    private string Stderr()
    {
        lock (_stderr)
        {
            return _stderr.ToString();
        }
    }

    private void AssertNoPassword()
    {
        lock (_results)
        {
            Assert.DoesNotContain(_results, r => Text(r).Contains(BoardFixture.Password, StringComparison.Ordinal));
        }

        Assert.DoesNotContain(BoardFixture.Password, Stderr(), StringComparison.Ordinal);
    }

    private static string[] Required(McpClientTool tool) =>
        [.. tool.JsonSchema.GetProperty("required").EnumerateArray().Select(e => e.GetString()!)];

    private static string Block(CallToolResult result, int index) => ((TextContentBlock)result.Content[index]).Text;

    private static string Text(CallToolResult result) => string.Join("\n", result.Content.OfType<TextContentBlock>().Select(b => b.Text));
}
