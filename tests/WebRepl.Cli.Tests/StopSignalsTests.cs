using WebRepl.Cli.Testing;

namespace WebRepl.Cli.Tests;

/// <summary>
/// SIGINT and SIGTERM sent to a running <c>webrepl</c> (as a script, CI or <c>kill PID</c> sends them, with no
/// terminal) stop it cleanly: the exit code says which signal, nothing half-written is left, the session ends.
/// </summary>
public sealed class StopSignalsTests : IAsyncLifetime
{
    // Slow enough that a transfer is still under way when the signal comes (256-byte chunks on a GET).
    private static readonly TimeSpan ChunkDelay = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));
    private readonly string _local = Directory.CreateTempSubdirectory("webrepl-local-").FullName;
    private TestBoard _board = null!;

    private CancellationToken Token => _timeout.Token;

    public ValueTask InitializeAsync()
    {
        _board = TestBoard.Start(ChunkDelay);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _board.DisposeAsync();

        Directory.Delete(_local, recursive: true);
        _timeout.Dispose();
    }

    [Fact]
    public async Task Get_Sigint_Exit130_NoDestination_NoTemporaryFile()
    {
        SkipUnlessDelivered(CliProcess.SigInt);
        File.WriteAllBytes(Path.Combine(_board.Root, "big.bin"), RandomBytes(1 << 20));
        string destination = Path.Combine(_local, "big.bin");
        using var process = CliProcess.Start(["-t", _board.Address, "-p", TestBoard.Password, "get", ":big.bin", destination]);
        await WaitForFileAsync(_local, "*.webrepl-part", process);

        process.Signal(CliProcess.SigInt);
        var took = await process.WaitForExitAsync(TimeSpan.FromSeconds(15), Token);

        Assert.True(process.ExitCode == ExitCodes.Interrupted, process.ToString());
        Assert.True(took < Prompt, $"Stopped after {took}.");
        Assert.Contains("webrepl: interrupted.", process.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_local));
        await WaitUntilSessionEndedAsync();
    }

    [Fact]
    public async Task LegacyGet_Sigterm_Exit143_ExistingDestinationUnchanged_NoTemporaryFile()
    {
        SkipUnlessDelivered(CliProcess.SigTerm);
        File.WriteAllBytes(Path.Combine(_board.Root, "big.bin"), RandomBytes(1 << 20));
        string destination = Path.Combine(_local, "big.bin");
        File.WriteAllText(destination, "the old copy");
        using var process = CliProcess.Start(["-p", TestBoard.Password, $"{_board.Address}:/big.bin", destination]);
        await WaitForFileAsync(_local, "*.webrepl-part", process);

        process.Signal(CliProcess.SigTerm);
        var took = await process.WaitForExitAsync(TimeSpan.FromSeconds(15), Token);

        Assert.True(process.ExitCode == ExitCodes.Terminated, process.ToString());
        Assert.True(took < Prompt, $"Stopped after {took}.");
        Assert.Contains("webrepl: stopped by SIGTERM.", process.Error, StringComparison.Ordinal);
        Assert.Equal("the old copy", File.ReadAllText(destination));
        Assert.Equal([destination], Directory.GetFileSystemEntries(_local));
        await WaitUntilSessionEndedAsync();
    }

    [Fact]
    public async Task LegacyPut_Sigterm_Exit143_NothingLeftOnTheBoard()
    {
        SkipUnlessDelivered(CliProcess.SigTerm);
        string source = Path.Combine(_local, "big.bin");
        File.WriteAllBytes(source, RandomBytes(4 << 20));
        using var process = CliProcess.Start(["-p", TestBoard.Password, source, $"{_board.Address}:/big.bin"]);
        await WaitForFileAsync(_board.Root, "*.webrepl-upload", process);

        process.Signal(CliProcess.SigTerm);
        var took = await process.WaitForExitAsync(TimeSpan.FromSeconds(15), Token);

        Assert.True(process.ExitCode == ExitCodes.Terminated, process.ToString());
        Assert.True(took < Prompt, $"Stopped after {took}.");
        await WaitUntilSessionEndedAsync();
        Assert.Empty(Directory.GetFileSystemEntries(_board.Root));
    }

    [Theory]
    [InlineData(CliProcess.SigInt, ExitCodes.Interrupted)]
    [InlineData(CliProcess.SigTerm, ExitCodes.Terminated)]
    public async Task Repl_PipedInputStillOpen_Signal_StopsWithItsExitCode_SessionClosed(int signal, int exitCode)
    {
        SkipUnlessDelivered(signal);
        using var process = CliProcess.Start(["-t", _board.Address, "-p", TestBoard.Password, "repl"]);
        await process.Input.WriteAsync("print('hello')\n");
        await process.Input.FlushAsync(Token);
        await process.WaitForOutputAsync("print('hello')", Token);

        process.Signal(signal);
        var took = await process.WaitForExitAsync(TimeSpan.FromSeconds(15), Token);

        Assert.True(process.ExitCode == exitCode, process.ToString());
        Assert.True(took < Prompt, $"Stopped after {took}.");
        await AssertSessionClosedPolitelyAsync();
    }

    [Fact]
    public async Task Help_DocumentsTheSignalsExitCodes()
    {
        var run = await Cli.RunAsync(["--help"], cancellationToken: Token);

        Assert.Contains("130 interrupted (Ctrl-C, SIGINT), 143 stopped by SIGTERM", run.Out, StringComparison.Ordinal);
    }

    private static void SkipUnlessDelivered(int signal)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Signals are sent with kill(2), and which are ignored read from /proc, on Linux.");
        Assert.SkipWhen(CliProcess.IsIgnored(signal), $"Signal {signal} is ignored by this test run (started in the background by a shell), and so would be by the command.");
    }

    /// <summary>Waits until a file matching <paramref name="pattern"/> holds data: the transfer is under way.</summary>
    private async Task WaitForFileAsync(string folder, string pattern, CliProcess process)
    {
        while (!new DirectoryInfo(folder).EnumerateFiles(pattern, new EnumerationOptions { AttributesToSkip = FileAttributes.None }).Any(f => f.Length > 0))
        {
            Assert.False(process.HasExited, $"The transfer ended before it could be interrupted.\n{process}");
            await Task.Delay(10, Token);
        }
    }

    private async Task WaitUntilSessionEndedAsync()
    {
        while (_board.Server.HasSession)
        {
            await Task.Delay(10, Token);
        }
    }

    /// <summary>
    /// The command closed its session with a close frame, as it does when it stops cleanly (a killed one just drops
    /// the socket). Not after a transfer cut short: the library aborts that connection on purpose (the board is mid-request).
    /// </summary>
    private async Task AssertSessionClosedPolitelyAsync()
    {
        await WaitUntilSessionEndedAsync();
        var ended = _board.Logs.Entries.Where(e => e.Id.Id == 109).Select(e => e.Message).ToList();
        Assert.True(ended.Count == 1 && ended[0].EndsWith("ended: client closed", StringComparison.Ordinal), string.Join("\n", ended));
    }

    private static byte[] RandomBytes(int length)
    {
        byte[] bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }
}
