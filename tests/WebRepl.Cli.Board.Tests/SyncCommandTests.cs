using System.Text.RegularExpressions;

namespace WebRepl.Cli.Board.Tests;

/// <summary><c>webrepl sync</c> against the virtual board: create, update, skip, delete, dry run, a second sync.</summary>
public sealed partial class SyncCommandTests(BoardFixture fixture) : IClassFixture<BoardFixture>, IDisposable
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
    public async Task Sync_CreatesUpdatesSkipsAndDeletes_ThenASecondSyncTransfersNothing()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string f = fixture.NewFolder();
        string app = $"{f}/app";
        string tree = Path.Combine(_local.Path, "app");
        _local.File("app/main.py", "print('v1')\n");
        _local.File("app/same-size.py", "x = 1\n");
        _local.File("app/grows.py", "y = 1\n");
        _local.File("app/gone.py", "z = 1\n");
        _local.File("app/leer", []);
        _local.File("app/lib/ünï/日本.py", "n = '日本'\n");
        _local.File("app/lib/data.bin", Trees.RandomBytes(300 * 1024, 5));
        _local.File("app/old/stale.py", "stale\n");

        // 1. Everything is new: the board folder and all files are created.
        var first = await SyncAsync(tree, $":{app}");

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal(Trees.Snapshot(tree), Trees.Snapshot(fixture.HostPath(app)));
        Assert.Equal(8, Count(first.Out, "create"));
        Assert.Contains($"mkdir  :{app}\n", first.Out.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains($"create :{app}/lib/ünï/日本.py", first.Out, StringComparison.Ordinal);
        Assert.Contains("Sent 8 file(s)", first.Out, StringComparison.Ordinal);
        Assert.Contains("verified", first.Out, StringComparison.Ordinal);

        // 2. Changes: same size but other content, another size, a new file, a removed file and folder, and a
        //    file on the board only; without --delete nothing is removed.
        _local.File("app/same-size.py", "x = 2\n");
        _local.File("app/grows.py", "y = 1000\n");
        _local.File("app/new.py", "neu\n");
        File.Delete(Path.Combine(tree, "gone.py"));
        Directory.Delete(Path.Combine(tree, "old"), recursive: true);
        File.WriteAllText(fixture.HostPath($"{app}/board-only.txt"), "mine\n");
        var unchangedBefore = Trees.WriteTimes(fixture.HostPath(app));

        var keep = await SyncAsync(tree, $":{app}");

        Assert.True(keep.ExitCode == 0, keep.ToString());
        Assert.Equal(
            [$"update :{app}/grows.py (9 bytes)", $"create :{app}/new.py (4 bytes)", $"update :{app}/same-size.py (6 bytes)"],
            ActionLines(keep.Out));
        Assert.Contains("removed 0; 4 unchanged", keep.Out, StringComparison.Ordinal);
        Assert.True(File.Exists(fixture.HostPath($"{app}/gone.py")));
        Assert.True(File.Exists(fixture.HostPath($"{app}/board-only.txt")));
        // Skipped files were not rewritten.
        var after = Trees.WriteTimes(fixture.HostPath(app));
        foreach (string unchanged in new[] { "main.py", "leer", Path.Combine("lib", "data.bin"), Path.Combine("lib", "ünï", "日本.py") })
        {
            Assert.Equal(unchangedBefore[unchanged], after[unchanged]);
        }

        // 3. With --delete, what the local tree lacks goes (files and whole folders).
        var delete = await SyncAsync(tree, $":{app}", "--delete");

        Assert.True(delete.ExitCode == 0, delete.ToString());
        Assert.Equal(
            [$"delete :{app}/board-only.txt", $"delete :{app}/gone.py", $"delete :{app}/old"],
            ActionLines(delete.Out).Order(StringComparer.Ordinal));
        Assert.Equal(Trees.Snapshot(tree), Trees.Snapshot(fixture.HostPath(app)));

        // 4. Nothing changed: nothing is sent, and the command says so.
        var times = Trees.WriteTimes(fixture.HostPath(app));
        var second = await SyncAsync(tree, $":{app}", "--delete");

        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal("Nothing to do: 7 file(s) already up to date; nothing was transferred.\n", second.Out.ReplaceLineEndings("\n"));
        Assert.Equal(times, Trees.WriteTimes(fixture.HostPath(app)));
    }

    [Fact]
    public async Task Sync_DryRun_ShowsThePlan_ChangesNothing()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        string tree = Path.Combine(_local.Path, "src");
        _local.File("src/a.py", "a = 1\n");
        _local.File("src/sub/b.py", "b = 2\n");
        File.WriteAllText(fixture.HostPath($"{f}/a.py"), "a = 0\n");
        File.WriteAllText(fixture.HostPath($"{f}/extra.py"), "extra\n");
        var before = Trees.Snapshot(fixture.HostPath(f));
        var times = Trees.WriteTimes(fixture.HostPath(f));

        var run = await SyncAsync(tree, $":{f}", "--delete", "--dry-run");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(
            [$"mkdir  :{f}/sub", $"update :{f}/a.py (6 bytes)", $"create :{f}/sub/b.py (6 bytes)", $"delete :{f}/extra.py"],
            ActionLines(run.Out));
        Assert.Contains("Dry run: 4 change(s), 12 bytes to send, 0 file(s) unchanged. Nothing was changed.", run.Out, StringComparison.Ordinal);
        Assert.Equal(before, Trees.Snapshot(fixture.HostPath(f)));
        Assert.Equal(times, Trees.WriteTimes(fixture.HostPath(f)));
    }

    [Fact]
    public async Task Sync_TypeClash_FileWhereAFolderWas_AndTheReverse()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        string tree = Path.Combine(_local.Path, "t");
        _local.File("t/was-folder", "now a file\n");
        _local.File("t/was-file/inner.py", "inner\n");
        Directory.CreateDirectory(fixture.HostPath($"{f}/was-folder/deep"));
        File.WriteAllText(fixture.HostPath($"{f}/was-folder/deep/x.py"), "x\n");
        File.WriteAllText(fixture.HostPath($"{f}/was-file"), "a file\n");

        var run = await SyncAsync(tree, $":{f}");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(Trees.Snapshot(tree), Trees.Snapshot(fixture.HostPath(f)));
    }

    [Fact]
    public async Task Sync_NoVerify_StillSends()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        string tree = Path.Combine(_local.Path, "nv");
        _local.File("nv/a.py", "a\n");

        var run = await SyncAsync(tree, $":{f}", "--no-verify");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Sent 1 file(s) (2 bytes); removed 0; 0 unchanged.", run.Out, StringComparison.Ordinal);
        Assert.Equal(Trees.Snapshot(tree), Trees.Snapshot(fixture.HostPath(f)));
    }

    [Fact]
    public async Task Sync_IntoABoardFile_ClearError()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        File.WriteAllText(fixture.HostPath($"{f}/file"), "x");
        _local.File("s/a.py", "a\n");

        var run = await SyncAsync(Path.Combine(_local.Path, "s"), $":{f}/file");
        var missing = await SyncAsync(Path.Combine(_local.Path, "nope"), $":{f}");

        Assert.True(run.ExitCode == 5, run.ToString());
        Assert.Contains("is a file on the board, not a folder", run.Error, StringComparison.Ordinal);
        Assert.True(missing.ExitCode == 1, missing.ToString());
        Assert.Contains("No such local folder", missing.Error, StringComparison.Ordinal);
    }

    private Task<CliRun> SyncAsync(string local, string remote, params string[] options) =>
        fixture.RunAsync(["sync", local, remote, .. options], Token);

    private static int Count(string text, string word) => Regex.Count(text, $"^{word} ", RegexOptions.Multiline);

    /// <summary>The per-action lines of a sync's output (mkdir, create, update, delete), in order.</summary>
    private static string[] ActionLines(string output) =>
        [.. output.ReplaceLineEndings("\n").Split('\n').Where(l => ActionLine().IsMatch(l))];

    [GeneratedRegex("^(mkdir |create|update|delete) :")]
    private static partial Regex ActionLine();
}
