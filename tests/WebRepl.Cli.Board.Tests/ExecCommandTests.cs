using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace WebRepl.Cli.Board.Tests;

/// <summary><c>webrepl exec</c>, <c>run</c> and <c>eval</c> against the virtual board.</summary>
public sealed class ExecCommandTests(BoardFixture fixture) : IClassFixture<BoardFixture>, IDisposable
{
    private readonly CancellationTokenSource _timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
    private readonly LocalFolder _local = new();

    private CancellationToken Token => _timeout.Token;

    public void Dispose()
    {
        _local.Dispose();
        _timeout.Dispose();
    }

    [Fact]
    public async Task Exec_PrintsTheOutput_ExitZero()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));

        var run = await fixture.RunAsync(["exec", "print('héllo', 6 * 7)\nprint('ü' * 3)"], Token);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("héllo 42\r\nüüü\r\n", run.Out);
        Assert.Equal(string.Empty, run.Error);
    }

    [Fact]
    public async Task Exec_CodeLongerThan4KB_NothingLost()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        // Every line counts: a lost byte anywhere is a syntax error, a wrong sum or a wrong text.
        var code = new StringBuilder("t = 0\nparts = []\n");
        for (int i = 0; i < 300; i++)
        {
            code.Append(CultureInfo.InvariantCulture, $"t += {i}; parts.append('{i:x}é')  # line {i}: padding to make the program longer\n");
        }

        code.Append("print(t, len(parts), ''.join(parts)[-20:], len(''.join(parts)))\n");
        Assert.True(Encoding.UTF8.GetByteCount(code.ToString()) > 16 * 1024);
        string joined = string.Concat(Enumerable.Range(0, 300).Select(i => i.ToString("x", CultureInfo.InvariantCulture) + "é"));

        var run = await fixture.RunAsync(["exec", code.ToString()], Token);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(FormattableString.Invariant($"{Enumerable.Range(0, 300).Sum()} 300 {joined[^20..]} {joined.Length}\r\n"), run.Out);
    }

    [Fact]
    public async Task Exec_Traceback_OnStderrWithExitCode7_NothingExtraOnStdout()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));

        var run = await fixture.RunAsync(["exec", "print('before')\ndef f():\n raise ValueError('bad thing')\nf()"], Token);

        Assert.True(run.ExitCode == 7, run.ToString());
        Assert.Equal("before\r\n", run.Out);
        Assert.Equal(
            "Traceback (most recent call last):\n  File \"<stdin>\", line 4, in <module>\n  File \"<stdin>\", line 3, in f\nValueError: bad thing\n",
            run.Error);
    }

    [Fact]
    public async Task Exec_SyntaxError_ExitCode7()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));

        var run = await fixture.RunAsync(["exec", "print('x'"], Token);

        Assert.True(run.ExitCode == 7, run.ToString());
        Assert.Equal(string.Empty, run.Out);
        Assert.Contains("SyntaxError", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exec_StateStaysBetweenRuns()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string name = $"v{Guid.NewGuid():N}";

        Assert.Equal(0, (await fixture.RunAsync(["exec", $"{name} = 41"], Token)).ExitCode);
        var run = await fixture.RunAsync(["exec", $"print({name} + 1)"], Token);

        Assert.Equal("42\r\n", run.Out);
    }

    [Fact]
    public async Task Eval_PrintsTheRepr()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));

        var run = await fixture.RunAsync(["eval", "[1, 2.5, 'é', None, {'k': (len('é'), ord('é'))}]"], Token);

        Assert.True(run.ExitCode == 0, run.ToString());
        // MicroPython's repr escapes characters beyond ASCII (CPython's would print é).
        Assert.Equal("[1, 2.5, '\\xe9', None, {'k': (1, 233)}]" + Environment.NewLine, run.Out);
    }

    [Fact]
    public async Task Eval_Error_ExitCode7()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));

        var run = await fixture.RunAsync(["eval", "undefined_name_xyz"], Token);

        Assert.True(run.ExitCode == 7, run.ToString());
        Assert.Contains("NameError", run.Error, StringComparison.Ordinal);
        Assert.Equal(string.Empty, run.Out);
    }

    [Fact]
    public async Task Run_File_StreamsOutputWhileItRuns()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string file = _local.File("slow.py", "import time\nfor i in range(4):\n    print('line', i)\n    time.sleep(0.4)\nprint('done')\n");
        var stdout = new WatchedStream();

        var command = fixture.RunAsync(["run", file], Token, stdout);
        await stdout.WaitForAsync("line 0\r\n", Token);

        Assert.False(command.IsCompleted, "the first line should arrive while the program still runs");
        Assert.DoesNotContain("done", stdout.Text, StringComparison.Ordinal);
        var run = await command;
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("line 0\r\nline 1\r\nline 2\r\nline 3\r\ndone\r\n", run.Out);
    }

    [Theory]
    [InlineData("import time\nprint('started')\nwhile True:\n    time.sleep(0.01)\n")]
    [InlineData("print('started')\nn = 0\nwhile True:\n    n += 1\n")]
    [InlineData("print('started')\nn = 0\nwhile True:\n    n += 1\n    if n % 2000 == 0:\n        print('tick', n)\n")]
    public async Task Run_CtrlC_InterruptsWhileTrue_Exit130_BoardUsableAfter(string program)
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string file = _local.File("forever.py", program);
        var stdout = new WatchedStream();
        using var ctrlC = CancellationTokenSource.CreateLinkedTokenSource(Token);

        var command = fixture.RunAsync(["run", file], ctrlC.Token, stdout);
        await stdout.WaitForAsync("started\r\n", Token);
        await Task.Delay(300, Token);
        Assert.False(command.IsCompleted);
        var watch = Stopwatch.StartNew();
        await ctrlC.CancelAsync();
        var run = await command.WaitAsync(Token);

        Assert.True(run.ExitCode == 130, run.ToString());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed} to stop");
        var after = await fixture.RunAsync(["exec", "print('alive', 1 + 1)"], Token);
        Assert.True(after.ExitCode == 0, after.ToString());
        Assert.Equal("alive 2\r\n", after.Out);
    }

    [Fact]
    public async Task Exec_LargeOutput_AllOfItArrives()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));

        var run = await fixture.RunAsync(["exec", "for i in range(20000):\n    print(i, 'ünïcödé')"], Token);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(string.Concat(Enumerable.Range(0, 20000).Select(i => FormattableString.Invariant($"{i} ünïcödé\r\n"))), run.Out);
    }

    [Fact]
    public async Task Exec_WhileAProgramIsLeftRunning_InterruptsItFirst()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        // A client that starts an endless program in the raw REPL and goes away without stopping it.
        await using (var client = await WebReplClient.ConnectAndLoginAsync(fixture.Target, BoardFixture.Password, cancellationToken: Token))
        {
            await client.SendInputAsync("\r\u0003\u0001print('left running')\nwhile True:\n    pass\n\u0004", Token);
            var seen = new StringBuilder();
            while (!seen.ToString().Contains("left running", StringComparison.Ordinal))
            {
                seen.Append(Encoding.UTF8.GetString((await client.Output.ReadAsync(Token)).Span));
            }
        }

        while (fixture.Board.Server.HasSession)
        {
            await Task.Delay(10, Token);
        }

        var run = await fixture.RunAsync(["exec", "print('took over')"], Token);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("took over\r\n", run.Out);
    }

    [Fact]
    public async Task Run_Traceback_ExitCode7()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string file = _local.File("fails.py", "print('partial', end='')\nimport nonexistent_module_xyz\n");

        var run = await fixture.RunAsync(["run", file], Token);

        Assert.True(run.ExitCode == 7, run.ToString());
        Assert.Equal("partial", run.Out);
        Assert.EndsWith("ImportError: no module named 'nonexistent_module_xyz'\n", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_MissingLocalFile_ExitCode1()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));

        var run = await fixture.RunAsync(["run", Path.Combine(_local.Path, "nope.py")], Token);

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("No such local file", run.Error, StringComparison.Ordinal);
    }
}
