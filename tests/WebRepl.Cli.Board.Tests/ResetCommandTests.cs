namespace WebRepl.Cli.Board.Tests;

/// <summary><c>webrepl reset</c> against the virtual board (a board of its own: resets touch everything).</summary>
public sealed class ResetCommandTests(BoardFixture fixture) : IClassFixture<BoardFixture>, IDisposable
{
    private readonly CancellationTokenSource _timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

    private CancellationToken Token => _timeout.Token;

    public void Dispose() => _timeout.Dispose();

    [Fact]
    public async Task Reset_Soft_ClearsPythonState_KeepsFiles()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string f = fixture.NewFolder();
        Assert.Equal(0, (await RunAsync("exec", $"marker = 41\nopen('{f}/kept.txt', 'w').write('kept')")).ExitCode);
        Assert.Equal("42\r\n", (await RunAsync("exec", "print(marker + 1)")).Out);

        var reset = await RunAsync("reset");

        Assert.True(reset.ExitCode == 0, reset.ToString());
        Assert.Contains("Soft reset done", reset.Out, StringComparison.Ordinal);
        var state = await RunAsync("exec", $"print('marker' in globals(), open('{f}/kept.txt').read())");
        Assert.True(state.ExitCode == 0, state.ToString());
        Assert.Equal("False kept\r\n", state.Out);
    }

    [Fact]
    public async Task Reset_HardWait_ReconnectsAfterTheBoardRestarts()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(90));
        string f = fixture.NewFolder();
        Assert.Equal(0, (await RunAsync("exec", $"hard_marker = 1\nopen('{f}/kept.txt', 'w').write('kept')")).ExitCode);

        var reset = await RunAsync("reset", "--hard", "--wait");

        Assert.True(reset.ExitCode == 0, reset.ToString());
        Assert.Contains("Hard reset done; the board is back", reset.Out, StringComparison.Ordinal);
        var state = await RunAsync("exec", $"print('hard_marker' in globals(), open('{f}/kept.txt').read())");
        Assert.True(state.ExitCode == 0, state.ToString());
        Assert.Equal("False kept\r\n", state.Out);
    }

    [Fact]
    public async Task Reset_HardWithoutWait_ReturnsAtOnce_BoardComesBack()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(90));

        var reset = await RunAsync("reset", "--hard");

        Assert.True(reset.ExitCode == 0, reset.ToString());
        Assert.Contains("Hard reset sent", reset.Out, StringComparison.Ordinal);
        // The board restarts on its own; a later command finds it (a person would wait a moment too).
        CliRun? after = null;
        for (int attempt = 0; attempt < 20 && after?.ExitCode != 0; attempt++)
        {
            await Task.Delay(250, Token);
            after = await RunAsync("exec", "print('back')");
        }

        Assert.True(after!.ExitCode == 0, after.ToString());
        Assert.Equal("back\r\n", after.Out);
    }

    private Task<CliRun> RunAsync(params string[] args) => fixture.RunAsync(args, Token);
}
