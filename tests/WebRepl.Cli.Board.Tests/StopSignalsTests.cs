using WebRepl.Cli.Testing;

namespace WebRepl.Cli.Board.Tests;

/// <summary>
/// SIGINT and SIGTERM sent to <c>webrepl</c> alone (as a script, CI or <c>kill PID</c> sends them, with no terminal)
/// while it works with the virtual board: it stops cleanly with the signal's exit code, leaves nothing half-written,
/// and the board is usable after. A second signal while it stops ends it at once.
/// </summary>
public sealed class StopSignalsTests(BoardFixture fixture) : IClassFixture<BoardFixture>, IDisposable
{
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
    private readonly LocalFolder _local = new();

    private CancellationToken Token => _timeout.Token;

    private Dictionary<string, string> Environment => new()
    {
        [WebReplCli.TargetVariable] = fixture.Target,
        [WebReplCli.PasswordVariable] = BoardFixture.Password,
    };

    public void Dispose()
    {
        _local.Dispose();
        _timeout.Dispose();
    }

    [Fact]
    public async Task Run_Sigint_InterruptsTheProgramOnTheBoard_Exit130_BoardUsableAfter()
    {
        SkipUnlessDelivered(CliProcess.SigInt);
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string file = _local.File("forever.py", "import time\nprint('started')\nwhile True:\n    time.sleep(0.01)\n");
        using var process = CliProcess.Start(["run", file], Environment);
        await process.WaitForOutputAsync("started", Token);

        process.Signal(CliProcess.SigInt);
        var took = await process.WaitForExitAsync(TimeSpan.FromSeconds(15), Token);

        Assert.True(process.ExitCode == ExitCodes.Interrupted, process.ToString());
        Assert.True(took < Prompt, $"Stopped after {took}.");
        Assert.Contains("webrepl: interrupted.", process.Error, StringComparison.Ordinal);
        await AssertBoardUsableAsync();
    }

    [Fact]
    public async Task CpFromBoard_Sigint_Exit130_NoPartialLocalFile_BoardUsableAfter()
    {
        SkipUnlessDelivered(CliProcess.SigInt);
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string f = fixture.NewFolder();
        File.WriteAllBytes(fixture.HostPath($"{f}/huge.bin"), Trees.RandomBytes(64 << 20, 3));
        string destination = Path.Combine(_local.Path, "huge.bin");
        using var process = CliProcess.Start(["cp", $":{f}/huge.bin", destination], Environment);
        await WaitForFileAsync(_local.Path, process);

        process.Signal(CliProcess.SigInt);
        var took = await process.WaitForExitAsync(TimeSpan.FromSeconds(15), Token);

        Assert.True(process.ExitCode == ExitCodes.Interrupted, process.ToString());
        Assert.True(took < Prompt, $"Stopped after {took}.");
        Assert.Empty(Directory.GetFileSystemEntries(_local.Path));
        await AssertBoardUsableAsync();
    }

    [Fact]
    public async Task Sync_Sigterm_Exit143_NoPartialFileOnTheBoard_BoardUsableAfter()
    {
        SkipUnlessDelivered(CliProcess.SigTerm);
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string f = fixture.NewFolder();
        _local.File("app/main.py", "print('main')\n");
        _local.File("app/huge.bin", Trees.RandomBytes(64 << 20, 4));
        using var process = CliProcess.Start(["sync", Path.Combine(_local.Path, "app"), $":{f}"], Environment);
        await WaitForFileAsync(fixture.HostPath(f), process);

        process.Signal(CliProcess.SigTerm);
        var took = await process.WaitForExitAsync(TimeSpan.FromSeconds(15), Token);

        Assert.True(process.ExitCode == ExitCodes.Terminated, process.ToString());
        Assert.True(took < Prompt, $"Stopped after {took}.");
        Assert.Contains("webrepl: stopped by SIGTERM.", process.Error, StringComparison.Ordinal);
        await AssertBoardUsableAsync();
        Assert.DoesNotContain(Directory.GetFiles(fixture.HostPath(f)), path => Path.GetFileName(path) != "main.py");
    }

    [Fact]
    public async Task Run_SecondSignalWhileStopping_EndsAtOnce()
    {
        SkipUnlessDelivered(CliProcess.SigInt);
        _timeout.CancelAfter(TimeSpan.FromSeconds(90));
        // A program that shrugs off Ctrl-C for a few seconds: the first signal's stop waits for it (up to --timeout).
        // The inner loop is inside the try: MicroPython raises the interrupt at a loop's jump back, not only in sleep.
        string file = _local.File("stubborn.py",
            "import time\nprint('started')\nn = 0\nwhile n < 400:\n    try:\n        while n < 400:\n            time.sleep(0.02)\n            n += 1\n    except KeyboardInterrupt:\n        print('ignored')\n");
        using var process = CliProcess.Start(["--timeout", "60", "run", file], Environment);
        await process.WaitForOutputAsync("started", Token);

        process.Signal(CliProcess.SigInt);
        await Task.Delay(TimeSpan.FromSeconds(1.5), Token);
        Assert.False(process.HasExited, $"The first signal should stop it cleanly, which takes as long as the board does.\n{process}");
        process.Signal(CliProcess.SigInt);
        var took = await process.WaitForExitAsync(TimeSpan.FromSeconds(10), Token);

        Assert.True(took < TimeSpan.FromSeconds(3), $"Ended {took} after the second signal.");
        Assert.True(process.ExitCode == 128 + CliProcess.SigInt, process.ToString());
        await AssertBoardUsableAsync();
    }

    private static void SkipUnlessDelivered(int signal)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Signals are sent with kill(2), and which are ignored read from /proc, on Linux.");
        Assert.SkipWhen(CliProcess.IsIgnored(signal), $"Signal {signal} is ignored by this test run (started in the background by a shell), and so would be by the command.");
    }

    /// <summary>Waits until a file in <paramref name="folder"/> holds data: the transfer is under way.</summary>
    private async Task WaitForFileAsync(string folder, CliProcess process)
    {
        while (!new DirectoryInfo(folder).EnumerateFiles("*", new EnumerationOptions { AttributesToSkip = FileAttributes.None }).Any(f => f.Length > 0 && f.Name != "main.py"))
        {
            Assert.False(process.HasExited, $"The transfer ended before it could be interrupted.\n{process}");
            await Task.Delay(5, Token);
        }
    }

    /// <summary>Once the board has let go of the command's session, it runs code again (within a while: a stubborn program may still run).</summary>
    private async Task AssertBoardUsableAsync()
    {
        while (fixture.Board.Server.HasSession)
        {
            await Task.Delay(10, Token);
        }

        var after = await fixture.RunAsync(["--timeout", "30", "exec", "print('alive', 1 + 1)"], Token);
        Assert.True(after.ExitCode == 0, after.ToString());
        Assert.Equal("alive 2\r\n", after.Out);
    }
}
