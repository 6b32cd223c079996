using System.Globalization;
using System.Text.RegularExpressions;

namespace WebRepl.Cli.Board.Tests;

/// <summary>
/// mpremote's everyday commands (issue 15): <c>edit</c> with a scripted $EDITOR, <c>tree</c>, <c>touch</c>,
/// <c>rtc</c>, <c>df -h</c> and <c>cat</c> of several files, against the virtual board (the real MicroPython).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // file modes, shell scripts
public sealed class DailyCommandTests(BoardFixture fixture) : IClassFixture<BoardFixture>, IDisposable
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
    public async Task Edit_ChangedByTheEditor_IsSentBack_Verified_AndTheTemporaryCopyIsRemoved()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string f = fixture.NewFolder();
        await File.WriteAllTextAsync(fixture.HostPath($"{f}/main.py"), "print('hello world')\n", Token);
        string log = Path.Combine(_local.Path, "editor.log");
        string editor = Script("editor.sh", $"printf '%s\\n' \"$1\" >> '{log}'\nsed -i 's/world/board/' \"$1\"\n");

        var run = await EditAsync(editor, $":{f}/main.py");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("print('hello board')\n", await File.ReadAllTextAsync(fixture.HostPath($"{f}/main.py"), Token));
        Assert.Contains("(verified)", run.Out, StringComparison.Ordinal);
        string edited = (await File.ReadAllLinesAsync(log, Token)).Single();
        Assert.Equal("main.py", Path.GetFileName(edited)); // the board file's name: the editor knows its type
        Assert.False(Directory.Exists(Path.GetDirectoryName(edited)), "the temporary copy and its folder are removed");
    }

    [Fact]
    public async Task Edit_Unchanged_SendsNothing_AFailingEditor_SendsNothing_Exit1()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string f = fixture.NewFolder();
        string host = fixture.HostPath($"{f}/keep.py");
        await File.WriteAllTextAsync(host, "x = 1\n", Token);
        var written = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(host, written);

        var unchanged = await EditAsync("true", $":{f}/keep.py");
        var failing = await EditAsync(Script("fail.sh", "echo 'y = 2' > \"$1\"\nexit 3\n"), $":{f}/keep.py");

        Assert.True(unchanged.ExitCode == 0, unchanged.ToString());
        Assert.Contains("unchanged, nothing sent", unchanged.Out, StringComparison.Ordinal);
        Assert.True(failing.ExitCode == ExitCodes.LocalError, failing.ToString());
        Assert.Contains("exited with code 3", failing.Error, StringComparison.Ordinal);
        Assert.Equal("x = 1\n", await File.ReadAllTextAsync(host, Token));
        Assert.Equal(written, File.GetLastWriteTimeUtc(host)); // not rewritten either time
    }

    [Fact]
    public async Task Edit_AMissingFile_StartsEmpty_IsMadeWhenWritten_NotWhenLeftEmpty_AndNoEditorIsAUsageError()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string f = fixture.NewFolder();

        var made = await EditAsync(Script("write.sh", "printf 'new\\n' > \"$1\"\n"), $":{f}/new.py");
        var empty = await EditAsync("true", $":{f}/empty.py");
        var noEditor = await Cli.RunAsync(["edit", $":{f}/new.py"], Env(null), null, Token);

        Assert.True(made.ExitCode == 0, made.ToString());
        Assert.Equal("new\n", await File.ReadAllTextAsync(fixture.HostPath($"{f}/new.py"), Token));
        Assert.True(empty.ExitCode == 0, empty.ToString());
        Assert.False(File.Exists(fixture.HostPath($"{f}/empty.py")));
        Assert.True(noEditor.ExitCode == ExitCodes.Usage && noEditor.Error.Contains("EDITOR", StringComparison.Ordinal), noEditor.ToString());
    }

    [Fact]
    public async Task Tree_DrawsFoldersAndFiles_WithSizes_AndHumanSizes()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string f = fixture.NewFolder();
        Directory.CreateDirectory(fixture.HostPath($"{f}/lib/sub"));
        Directory.CreateDirectory(fixture.HostPath($"{f}/empty"));
        await File.WriteAllBytesAsync(fixture.HostPath($"{f}/main.py"), new byte[10], Token);
        await File.WriteAllBytesAsync(fixture.HostPath($"{f}/lib/big.bin"), new byte[3 * 1024 / 2], Token);
        await File.WriteAllBytesAsync(fixture.HostPath($"{f}/lib/sub/x.py"), new byte[2048 * 1024], Token);

        var plain = await fixture.RunAsync(["tree", $":{f}"], Token);
        var sizes = await fixture.RunAsync(["tree", "-s", $":{f}"], Token);
        var human = await fixture.RunAsync(["tree", "-h", $":{f}"], Token);

        Assert.True(plain.ExitCode == 0, plain.ToString());
        Assert.Equal(
            [$":{f}", "├── empty/", "├── lib/", "│   ├── big.bin", "│   └── sub/", "│       └── x.py", "└── main.py", string.Empty, "3 folders, 3 files"],
            Lines(plain.Out));
        Assert.Contains("│   ├── [  1536]  big.bin", Lines(sizes.Out));
        Assert.Contains("└── [    10]  main.py", Lines(sizes.Out));
        Assert.Contains("│   ├── [  1.5K]  big.bin", Lines(human.Out));
        Assert.Contains("│       └── [  2.0M]  x.py", Lines(human.Out));
    }

    [Fact]
    public async Task Touch_MakesEmptyFiles_LeavesExistingOnes_AMissingFolderIsAnError()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string f = fixture.NewFolder();
        await File.WriteAllTextAsync(fixture.HostPath($"{f}/old.txt"), "kept", Token);

        var run = await fixture.RunAsync(["touch", $":{f}/new.txt", $":{f}/old.txt"], Token);
        var missing = await fixture.RunAsync(["touch", $":{f}/no/such.txt"], Token);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(0, new FileInfo(fixture.HostPath($"{f}/new.txt")).Length);
        Assert.Equal("kept", await File.ReadAllTextAsync(fixture.HostPath($"{f}/old.txt"), Token));
        Assert.True(missing.ExitCode == ExitCodes.RemoteError, missing.ToString());
        Assert.Contains("No such file or folder", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rtc_ReadsTheBoardsClock_AndSetSetsItToThisComputersTime()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));

        var moved = await fixture.RunAsync(["exec", "import machine\nmachine.RTC().datetime((2031, 2, 3, 0, 4, 5, 6, 0))"], Token);
        var read = await fixture.RunAsync(["rtc"], Token);
        var before = DateTime.Now;
        var set = await fixture.RunAsync(["rtc", "--set"], Token);
        var again = await fixture.RunAsync(["rtc"], Token);

        Assert.True(moved.ExitCode == 0, moved.ToString());
        Assert.True(read.ExitCode == 0, read.ToString());
        Assert.Matches(@"^2031-02-03 04:05:\d\d$", read.Out.Trim());
        Assert.True(set.ExitCode == 0, set.ToString());
        foreach (var run in new[] { set, again })
        {
            var shown = DateTime.ParseExact(run.Out.Trim(), "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
            // Whole seconds on the board; the bounds are when the command started and when the last one ended.
            Assert.InRange(shown, before.AddSeconds(-1), DateTime.Now.AddSeconds(1));
        }
    }

    [Fact]
    public async Task Df_H_ShowsHumanSizes_Df_ShowsBytes()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));

        var human = await fixture.RunAsync(["df", "-h"], Token);
        var bytes = await fixture.RunAsync(["df"], Token);

        Assert.True(human.ExitCode == 0, human.ToString());
        Assert.Matches(@"^\s*Size\s+Used\s+Free\s+Use%$", Lines(human.Out)[0]);
        Assert.Matches(@"^\s*\d+(\.\d)?[KMGTP]\s+\d+(\.\d)?[KMGTP]?\s+\d+(\.\d)?[KMGTP]?\s+\d+%$", Lines(human.Out)[1]);
        Assert.Matches(@"^\s*\d{4,}\s+\d+\s+\d+\s+\d+%$", Lines(bytes.Out)[1]);
    }

    [Fact]
    public async Task Cat_OfSeveralFiles_PrintsThemInOrder()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string f = fixture.NewFolder();
        await File.WriteAllTextAsync(fixture.HostPath($"{f}/a.txt"), "first\n", Token);
        await File.WriteAllTextAsync(fixture.HostPath($"{f}/b.txt"), "second\n", Token);

        var run = await fixture.RunAsync(["cat", $":{f}/b.txt", $":{f}/a.txt"], Token);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("second\nfirst\n", run.Out);
    }

    private Task<CliRun> EditAsync(string editor, string path) => Cli.RunAsync(["edit", path], Env(editor), null, Token);

    private Dictionary<string, string> Env(string? editor)
    {
        var environment = new Dictionary<string, string> { [WebReplCli.TargetVariable] = fixture.Target, [WebReplCli.PasswordVariable] = BoardFixture.Password };
        if (editor is not null)
        {
            environment["EDITOR"] = editor;
        }

        return environment;
    }

    /// <summary>A shell script in the local folder, made executable; returns its path (as EDITOR).</summary>
    private string Script(string name, string body)
    {
        string path = _local.File(name, "#!/bin/sh\n" + body);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private static string[] Lines(string text) => text.Split(["\r\n", "\n"], StringSplitOptions.None).SkipLast(1).ToArray();
}
