namespace WebRepl.Cli.Board.Tests;

/// <summary>
/// Transfers damaged on the board's side (<see cref="CorruptingFileStore"/>: one byte flipped as the file is
/// written, the size and the board's acknowledgement as usual). SHA-256 verification must notice, send once
/// more, and succeed; when every copy is damaged the command must fail with a clear message.
/// </summary>
public sealed class VerificationTests(CorruptFirstUploadBoardFixture once, CorruptEveryUploadBoardFixture always)
    : IClassFixture<CorruptFirstUploadBoardFixture>, IClassFixture<CorruptEveryUploadBoardFixture>, IDisposable
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
    public async Task Cp_CorruptedOnce_DetectedAndSentAgain()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = once.NewFolder();
        byte[] content = Trees.RandomBytes(300 * 1024, 6);
        string source = _local.File("big.bin", content);

        var run = await once.RunAsync(["cp", source, $":{f}/big.bin"], Token);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("(verified) (sent twice: the first copy failed its check)", run.Error, StringComparison.Ordinal);
        Assert.Equal(2, once.Store!.UploadsOf($"{f}/big.bin"));
        Assert.Equal(content, File.ReadAllBytes(once.HostPath($"{f}/big.bin")));
    }

    [Fact]
    public async Task Put_CorruptedOnce_EmptyFileToo_DetectedAndSentAgain()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = once.NewFolder();
        string small = _local.File("small.py", "print('ok')\n");
        string empty = _local.File("empty", []);

        var run = await once.RunAsync(["put", small, empty, $":{f}/"], Token);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(2, once.Store!.UploadsOf($"{f}/small.py"));
        Assert.Equal(2, once.Store.UploadsOf($"{f}/empty"));
        Assert.Equal("print('ok')\n", File.ReadAllText(once.HostPath($"{f}/small.py")));
        Assert.Empty(File.ReadAllBytes(once.HostPath($"{f}/empty")));
    }

    [Fact]
    public async Task Sync_CorruptedOnce_DetectedAndSentAgain_SaysSo()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = once.NewFolder();
        string tree = Path.Combine(_local.Path, "tree");
        _local.File("tree/a.py", "a = 1\n");
        _local.File("tree/sub/b.bin", Trees.RandomBytes(4000, 7));

        var run = await once.RunAsync(["sync", tree, $":{f}"], Token);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains($"2 file(s) failed the check and were sent again: :{f}/a.py, :{f}/sub/b.bin.", run.Out, StringComparison.Ordinal);
        Assert.Equal(Trees.Snapshot(tree), Trees.Snapshot(once.HostPath(f)));
    }

    [Fact]
    public async Task Sync_NoVerify_CorruptionGoesUnnoticed()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = once.NewFolder();
        string tree = Path.Combine(_local.Path, "nv");
        _local.File("nv/a.py", "a = 1\n");

        var run = await once.RunAsync(["sync", tree, $":{f}", "--no-verify"], Token);

        // Without the check the damaged copy stays: which is what the check is for.
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.NotEqual(Trees.Snapshot(tree), Trees.Snapshot(once.HostPath(f)));
    }

    [Fact]
    public async Task Cp_AlwaysCorrupted_FailsClearly()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = always.NewFolder();
        string source = _local.File("a.py", "print('a')\n");

        var run = await always.RunAsync(["cp", source, $":{f}/a.py"], Token);

        Assert.True(run.ExitCode == 5, run.ToString());
        Assert.Contains($"':{f}/a.py' did not arrive intact", run.Error, StringComparison.Ordinal);
        Assert.Contains("twice", run.Error, StringComparison.Ordinal);
        Assert.Equal(2, always.Store!.UploadsOf($"{f}/a.py"));
    }

    [Fact]
    public async Task Put_AlwaysCorrupted_FailsClearly()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = always.NewFolder();
        string source = _local.File("p.py", "print('p')\n");

        var run = await always.RunAsync(["put", source, $":{f}/p.py"], Token);

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains($"':{f}/p.py' did not arrive intact", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sync_AlwaysCorrupted_FailsClearly()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = always.NewFolder();
        string tree = Path.Combine(_local.Path, "bad");
        _local.File("bad/a.py", "a = 1\n");
        _local.File("bad/b.py", "b = 2\n");

        var run = await always.RunAsync(["sync", tree, $":{f}"], Token);

        Assert.True(run.ExitCode == 5, run.ToString());
        Assert.Contains("2 file(s) did not arrive intact, twice", run.Error, StringComparison.Ordinal);
        Assert.Contains($":{f}/a.py", run.Error, StringComparison.Ordinal);
    }
}
