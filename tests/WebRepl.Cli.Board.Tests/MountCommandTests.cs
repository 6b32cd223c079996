using System.IO.Pipelines;
using System.Text;

namespace WebRepl.Cli.Board.Tests;

/// <summary><c>webrepl mount</c> against the virtual board: the board imports, reads and writes this computer's folder.</summary>
public sealed class MountCommandTests(BoardFixture fixture) : IClassFixture<BoardFixture>, IDisposable
{
    private readonly CancellationTokenSource _timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
    private readonly LocalFolder _local = new();

    private CancellationToken Token => _timeout.Token;

    public void Dispose()
    {
        _local.Dispose();
        _timeout.Dispose();
    }

    private Task<CliRun> MountExecAsync(string code, params string[] extra) =>
        fixture.RunAsync(["mount", _local.Path, "--exec", code, .. extra], Token);

    [Fact]
    public async Task Exec_ImportsAModuleAndAPackageFromTheLocalFolder()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        _local.File("mymod.py", "x = 42\nprint('mymod loaded')\n");
        _local.File("pkg/__init__.py", "from .inner import f\n");
        // Longer than many replies: the import's reader takes a short read for the end of the file.
        _local.File("pkg/inner.py", "def f():\n    return 'pkg.f ' + 'é' * 3\n" + string.Concat(Enumerable.Range(0, 100).Select(i => $"# comment line {i} of the module, to make it a few kilobytes long\n")));

        var run = await MountExecAsync("import os, mymod, pkg\nprint(mymod.x, pkg.f(), os.getcwd())");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("mymod loaded\r\n42 pkg.f ééé /remote\r\n", run.Out);
    }

    [Fact]
    public async Task Exec_ReadsListsAndStatsFiles()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string lines = string.Concat(Enumerable.Range(0, 40).Select(i => $"line {i} {new string('x', i)}\n"));
        _local.File("data.txt", lines);
        byte[] binary = Trees.RandomBytes(3000, 7);
        _local.File("sub/blob.bin", binary);

        var run = await MountExecAsync(
            "import os, hashlib\n" +
            "print(sorted(os.listdir()), os.listdir('sub'))\n" +
            "print(os.stat('data.txt')[6], os.stat('sub/blob.bin')[6], os.stat('sub')[0] & 0x4000)\n" +
            "with open('data.txt') as f:\n    first = f.readline()\n    rest = f.read()\n" +
            "print(repr(first), len(rest), len(open('data.txt').readlines()))\n" +
            "print(hashlib.sha256(open('sub/blob.bin', 'rb').read()).digest().hex())\n");

        Assert.True(run.ExitCode == 0, run.ToString());
        string[] output = run.Out.Split("\r\n");
        Assert.Equal("['data.txt', 'sub'] ['blob.bin']", output[0]);
        Assert.Equal($"{Encoding.UTF8.GetByteCount(lines)} 3000 16384", output[1]);
        Assert.Equal($"'line 0 \\n' {Encoding.UTF8.GetByteCount(lines) - 8} 40", output[2]);
        Assert.Equal(Trees.Sha256(binary), output[3]);
    }

    [Fact]
    public async Task Exec_WritesMakesRenamesAndRemovesOnTheLocalDisk()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        _local.File("old.txt", "to be removed");

        var run = await MountExecAsync(
            "import os\n" +
            "with open('out.txt', 'w') as f:\n    f.write('written on the board ' * 100)\n" +
            "with open('out.txt', 'a') as f:\n    f.write('|end')\n" +
            "open('bytes.bin', 'wb').write(bytes(range(256)))\n" +
            "os.mkdir('made')\nos.rename('bytes.bin', 'made/bytes.bin')\nos.remove('old.txt')\nprint('done')\n");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(string.Concat(Enumerable.Repeat("written on the board ", 100)) + "|end", File.ReadAllText(Path.Combine(_local.Path, "out.txt")));
        Assert.Equal(Enumerable.Range(0, 256).Select(i => (byte)i), File.ReadAllBytes(Path.Combine(_local.Path, "made", "bytes.bin")));
        Assert.False(File.Exists(Path.Combine(_local.Path, "old.txt")));
    }

    [Fact]
    public async Task Exec_PathsOutsideTheFolder_Refused()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string outside = Directory.CreateTempSubdirectory("webrepl-mount-outside-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(outside, "secret.txt"), "secret");
            Directory.CreateSymbolicLink(Path.Combine(_local.Path, "link"), outside);
            const string Code =
                "import os\n" +
                "def t(f):\n    try:\n        print(f())\n    except OSError as e:\n        print('OSError', e.errno)\n" +
                "t(lambda: open('link/secret.txt').read())\n" +
                "t(lambda: open('../../../../../../../' + 'etc/hostname').read())\n" +
                // The board's own code normalises '..'; a program talking to the channel directly is refused by this computer.
                "t(lambda: _webrepl_mount.c.q(b'S', '2f2e2e2f736563726574'))\n";

            var run = await MountExecAsync(Code);
            var unsafeRun = await MountExecAsync("print(open('link/secret.txt').read())", "--unsafe-links");

            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Equal("OSError 13\r\nOSError 2\r\nOSError 13\r\n", run.Out);
            Assert.Contains("symbolic link leads outside", run.Error, StringComparison.Ordinal);
            Assert.True(unsafeRun.ExitCode == 0, unsafeRun.ToString());
            Assert.Equal("secret\r\n", unsafeRun.Out);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task Exec_ProgramPrintsCtrlX_EveryByteShown()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        // Module names differ from test to test: the board keeps sys.modules between connections.
        _local.File("ctrlx_m.py", "v = 1\n");

        var run = await MountExecAsync("import sys, ctrlx_m\nsys.stdout.write('a\\x18b\\x18\\x18' + 'c')\nsys.stdout.write('\\x18')\nprint(ctrlx_m.v)");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("a\u0018b\u0018\u0018c\u00181\r\n", run.Out);
    }

    [Fact]
    public async Task Exec_Done_BoardUnmountedAndBackAtRoot()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        _local.File("done_m.py", "v = 1\n");

        var mounted = await MountExecAsync("import done_m\nprint(done_m.v)");
        var after = await fixture.RunAsync(["exec", "import os\nprint(os.getcwd())\ntry:\n    os.stat('/remote/done_m.py')\nexcept OSError as e:\n    print('gone', e.errno)"], Token);

        Assert.True(mounted.ExitCode == 0, mounted.ToString());
        Assert.Equal("/\r\ngone 2\r\n", after.Out);
    }

    [Fact]
    public async Task Exec_Traceback_ExitCode7AndUnmounted()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));

        var run = await MountExecAsync("import no_such_module_here");
        var after = await fixture.RunAsync(["exec", "import os\nprint(os.getcwd())"], Token);

        Assert.Equal(ExitCodes.BoardException, run.ExitCode);
        Assert.Contains("ImportError", run.Error, StringComparison.Ordinal);
        Assert.Equal("/\r\n", after.Out);
    }

    [Fact]
    public async Task Exec_StoppedInTheMiddleOfFileRequests_Exit130AndUnmounted()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        _local.File("loop.txt", "x");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Token);
        var stdout = new WatchedStream();

        var running = fixture.RunAsync(["mount", _local.Path, "--exec", "print('started')\nwhile True:\n    n = len(open('loop.txt').read())"], stop.Token, stdout);
        await stdout.WaitForAsync("started", Token);
        await stop.CancelAsync();
        var run = await running;
        var after = await fixture.RunAsync(["exec", "import os\nprint(os.getcwd())"], Token);

        Assert.True(run.ExitCode == ExitCodes.Interrupted, run.ToString());
        Assert.Equal("/\r\n", after.Out);
    }

    [Fact]
    public async Task Exec_ThroughTheGateway_ImportsReadsAndWrites()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await using var gateway = await WebRepl.Gateway.WebReplGateway.StartAsync(
            new WebRepl.Gateway.GatewayOptions { Listen = [new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0)] }, Token);
        string url = $"{gateway.WebSocketUrls[0]}/ws://{fixture.Target}";
        _local.File("gw_m.py", "v = 'through the gateway'\n");
        _local.File("big.txt", string.Concat(Enumerable.Range(0, 200).Select(i => $"{i:D4} ")));

        var run = await fixture.RunAsync(["-t", url, "mount", _local.Path, "--exec",
            "import gw_m\nprint(gw_m.v, len(open('big.txt').read()))\nopen('back.txt', 'w').write(gw_m.v)"], Token);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("through the gateway 1000\r\n", run.Out);
        Assert.Equal("through the gateway", File.ReadAllText(Path.Combine(_local.Path, "back.txt")));
    }

    [Fact]
    public async Task Repl_ImportCtrlCSoftResetThenExit_RemountsAndUnmounts()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(90));
        _local.File("repl_m.py", "v = 'from the computer'\n");
        await using var repl = Repl.Start(fixture, ["mount", _local.Path], Token);

        await repl.TypeAsync("import repl_m; print('A1', repl_m.v)\r", "A1 from the computer\r\n", Token);
        // Ctrl-C stops a loop that is in the middle of file requests; the mount keeps working after it.
        await repl.TypeAsync("while True: n = len(open('repl_m.py').read())\r\r", null, Token);
        await Task.Delay(300, Token); // let it run some requests (not a synchronisation: the interrupt works either way)
        await repl.TypeAsync("\u0003", "KeyboardInterrupt", Token);
        await repl.TypeAsync("print('A2', open('repl_m.py').read().strip())\r", "A2 v = 'from the computer'\r\n", Token);
        // A soft reset clears Python's state; the folder is mounted again, the current folder too.
        await repl.TypeAsync("\u0004", "soft reboot", Token);
        await repl.WaitForErrorAsync("mounted the folder again", Token);
        await repl.TypeAsync("import os, repl_m; print('A3', os.getcwd(), repl_m.v)\r", "A3 /remote from the computer\r\n", Token);
        var run = await repl.ExitAsync(Token);
        var after = await fixture.RunAsync(["exec", "import os\nprint(os.getcwd())"], Token);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.DoesNotContain("\u0018", run.Out, StringComparison.Ordinal);
        Assert.Equal("/\r\n", after.Out);
    }

    /// <summary>The command in-process with a standard input the test types into.</summary>
    private sealed class Repl : IAsyncDisposable
    {
        private readonly Pipe _input = new();
        private readonly WatchedStream _output = new();
        private readonly StringWriter _error = new();
        private Task<int>? _run;

        public static Repl Start(BoardFixture fixture, string[] args, CancellationToken cancellationToken)
        {
            var repl = new Repl();
            var context = new CliContext
            {
                Out = TextWriter.Synchronized(new StringWriter()),
                Error = TextWriter.Synchronized(repl._error),
                OpenInput = () => repl._input.Reader.AsStream(),
                OpenOutput = () => repl._output,
                InputIsTerminal = false,
                GetEnvironmentVariable = name => name == WebReplCli.TargetVariable ? fixture.Target : name == WebReplCli.PasswordVariable ? BoardFixture.Password : null,
            };
            repl._run = WebReplCli.RunAsync(args, context, cancellationToken: cancellationToken);
            return repl;
        }

        /// <summary>Types <paramref name="keys"/>, then waits until the output holds <paramref name="expected"/> (a text that appears once).</summary>
        public async Task TypeAsync(string keys, string? expected, CancellationToken cancellationToken)
        {
            await _input.Writer.WriteAsync(Encoding.UTF8.GetBytes(keys), cancellationToken);
            if (expected is not null)
            {
                await _output.WaitForAsync(expected, cancellationToken);
            }
        }

        public async Task WaitForErrorAsync(string text, CancellationToken cancellationToken)
        {
            while (!_error.ToString().Contains(text, StringComparison.Ordinal))
            {
                await Task.Delay(20, cancellationToken);
            }
        }

        public async Task<CliRun> ExitAsync(CancellationToken cancellationToken)
        {
            await _input.Writer.WriteAsync(new byte[] { 0x1d }, cancellationToken);
            int code = await _run!.WaitAsync(cancellationToken);
            return new CliRun(code, _output.Text, _error.ToString());
        }

        public async ValueTask DisposeAsync()
        {
            await _input.Writer.CompleteAsync();
            if (_run is not null)
            {
                await ((Task)_run).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }
}
