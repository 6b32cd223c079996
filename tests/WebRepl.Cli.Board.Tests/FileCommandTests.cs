using System.Globalization;
using System.Text;
using System.Text.Json;

namespace WebRepl.Cli.Board.Tests;

/// <summary>
/// The file commands (<c>ls</c>, <c>cat</c>, <c>rm</c>, <c>mkdir</c>, <c>rmdir</c>, <c>mv</c>, <c>df</c>,
/// <c>hash</c>, <c>cp</c>, <c>put</c>, <c>get</c>) against the virtual board, each test in its own board folder.
/// </summary>
public sealed class FileCommandTests(BoardFixture fixture) : IClassFixture<BoardFixture>, IDisposable
{
    private const int Large = 300 * 1024;
    private const string EmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    private readonly CancellationTokenSource _timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
    private readonly LocalFolder _local = new();

    private CancellationToken Token => _timeout.Token;

    public void Dispose()
    {
        _local.Dispose();
        _timeout.Dispose();
    }

    [Fact]
    public async Task Mkdir_P_NestedNonAsciiFolders_ThenLsRecursive()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();

        var made = await RunAsync("mkdir", "-p", $":{f}/a/ünï/日本");
        var again = await RunAsync("mkdir", "-p", $":{f}/a/ünï");
        var listed = await RunAsync("ls", "-r", $":{f}");

        Assert.True(made.ExitCode == 0, made.ToString());
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.True(Directory.Exists(fixture.HostPath($"{f}/a/ünï/日本")));
        Assert.Equal(["a/", "a/ünï/", "a/ünï/日本/"], Lines(listed.Out));
    }

    [Fact]
    public async Task Mkdir_Existing_WithoutP_SaysItExists_ExitCode5()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();

        var run = await RunAsync("mkdir", $":{f}");

        Assert.True(run.ExitCode == 5, run.ToString());
        Assert.Contains($"':{f}' already exists", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mkdir_MissingParent_WithoutP_ExitCode5()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();

        var run = await RunAsync("mkdir", $":{f}/x/y");

        Assert.True(run.ExitCode == 5, run.ToString());
        Assert.Contains("No such file or folder", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ls_Json_ParsesWithPathsNamesTypesAndSizes()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        File.WriteAllBytes(fixture.HostPath($"{f}/empty.txt"), []);
        File.WriteAllText(fixture.HostPath($"{f}/é.py"), "print('é')\n");
        Directory.CreateDirectory(fixture.HostPath($"{f}/sub/deeper"));
        File.WriteAllBytes(fixture.HostPath($"{f}/sub/deeper/data.bin"), new byte[1234]);

        var flat = await RunAsync("ls", "--json", $":{f}");
        var deep = await RunAsync("ls", "--json", "-r", $":{f}");

        Assert.True(flat.ExitCode == 0, flat.ToString());
        Assert.Equal(
            [($"{f}/empty.txt", "empty.txt", "file", 0L), ($"{f}/sub", "sub", "dir", 0L), ($"{f}/é.py", "é.py", "file", 12L)],
            ParseJson(flat.Out));
        Assert.Equal(
            [
                ($"{f}/empty.txt", "empty.txt", "file", 0L),
                ($"{f}/sub", "sub", "dir", 0L),
                ($"{f}/sub/deeper", "deeper", "dir", 0L),
                ($"{f}/sub/deeper/data.bin", "data.bin", "file", 1234L),
                ($"{f}/é.py", "é.py", "file", 12L),
            ],
            ParseJson(deep.Out));
    }

    [Fact]
    public async Task Ls_L_ShowsSizes_AndAFileListsItself()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        File.WriteAllBytes(fixture.HostPath($"{f}/a.bin"), new byte[Large]);
        File.WriteAllBytes(fixture.HostPath($"{f}/b.txt"), []);

        var folder = await RunAsync("ls", "-l", $":{f}/");
        var file = await RunAsync("ls", $":{f}/a.bin");

        Assert.Equal([FormattableString.Invariant($"{Large,10} a.bin"), $"{0,10} b.txt"], Lines(folder.Out));
        Assert.True(file.ExitCode == 0, file.ToString());
        Assert.Equal(["a.bin"], Lines(file.Out));
    }

    [Fact]
    public async Task Ls_NoPath_ListsTheCurrentFolder_AndRootListsTheSame()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();

        var current = await RunAsync("ls");
        var root = await RunAsync("ls", ":/");

        Assert.True(current.ExitCode == 0, current.ToString());
        Assert.Contains($"{f.TrimStart('/')}/", Lines(current.Out));
        Assert.Contains($"{f.TrimStart('/')}/", Lines(root.Out));
    }

    [Fact]
    public async Task Ls_Missing_ExitCode5()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();

        var run = await RunAsync("ls", $":{f}/nothing-here");

        Assert.True(run.ExitCode == 5, run.ToString());
        Assert.Contains($"No such file or folder on the board: ':{f}/nothing-here'", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cat_PrintsTheBytes_NonAsciiName_EmptyFile()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        File.WriteAllText(fixture.HostPath($"{f}/größe.txt"), "zwei\nZeilen ✓\n");
        File.WriteAllBytes(fixture.HostPath($"{f}/empty"), []);

        var run = await RunAsync("cat", $":{f}/größe.txt", $":{f}/empty", $":{f}/größe.txt");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("zwei\nZeilen ✓\nzwei\nZeilen ✓\n", run.Out);
    }

    [Fact]
    public async Task Cat_MissingFile_ClearError_ExitCode5_SessionNotDropped()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        int drops = Drops();

        var run = await RunAsync("cat", $":{f}/typo.py");

        Assert.True(run.ExitCode == 5, run.ToString());
        Assert.Equal($"webrepl: No such file or folder on the board: ':{f}/typo.py'.\n", run.Error.ReplaceLineEndings("\n"));
        // The path was checked through the REPL: no GET of a missing file, so the board kept the session.
        Assert.Equal(drops, Drops());
    }

    [Fact]
    public async Task Cat_Folder_SaysItIsAFolder()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();

        var run = await RunAsync("cat", $":{f}");

        Assert.True(run.ExitCode == 5, run.ToString());
        Assert.Contains("is a folder", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CpFromBoard_MissingFile_ClearError_SessionKept_NextFileStillCopied()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        File.WriteAllText(fixture.HostPath($"{f}/there.txt"), "here\n");
        int drops = Drops();

        var missing = await RunAsync("cp", $":{f}/missing.txt", Path.Combine(_local.Path, "x.txt"));
        var present = await RunAsync("cp", $":{f}/there.txt", _local.Path);

        Assert.True(missing.ExitCode == 5, missing.ToString());
        Assert.Contains($"No such file or folder on the board: ':{f}/missing.txt'", missing.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_local.Path, "x.txt")));
        Assert.Equal(drops, Drops());
        Assert.True(present.ExitCode == 0, present.ToString());
        Assert.Equal("here\n", File.ReadAllText(Path.Combine(_local.Path, "there.txt")));
    }

    [Fact]
    public async Task Get_MissingFile_ClearError_NoPartialFile_BoardUsableAfter()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        File.WriteAllText(fixture.HostPath($"{f}/ok.txt"), "fine\n");
        int drops = Drops();

        // get speaks only WebREPL's file protocol (as webrepl_cli.py): the board cannot open the file and,
        // as its firmware does, drops the connection; the command says what probably happened.
        var run = await RunAsync("get", $":{f}/ok.txt", $":{f}/missing.txt", _local.Path);
        await WaitUntilSessionEndedAsync();
        var after = await RunAsync("exec", "print('alive')");

        Assert.True(run.ExitCode == 5, run.ToString());
        Assert.Contains($"The get of '{f}/missing.txt' failed", run.Error, StringComparison.Ordinal);
        Assert.Contains("The file probably does not exist", run.Error, StringComparison.Ordinal);
        Assert.Equal("fine\n", File.ReadAllText(Path.Combine(_local.Path, "ok.txt")));
        Assert.Equal(["ok.txt"], Directory.GetFiles(_local.Path).Select(Path.GetFileName));
        Assert.Equal(drops + 1, Drops());
        Assert.True(after.ExitCode == 0, after.ToString());
        Assert.Equal("alive\r\n", after.Out);
    }

    [Fact]
    public async Task Rm_File_AndFolderWithR_AndFolderWithoutR()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        File.WriteAllText(fixture.HostPath($"{f}/a.txt"), "a");
        Directory.CreateDirectory(fixture.HostPath($"{f}/d/ü/ö"));
        File.WriteAllText(fixture.HostPath($"{f}/d/ü/ö/x.txt"), "x");

        var file = await RunAsync("rm", $":{f}/a.txt");
        var noR = await RunAsync("rm", $":{f}/d");
        var withR = await RunAsync("rm", "-r", $":{f}/d");
        var missing = await RunAsync("rm", $":{f}/a.txt");

        Assert.True(file.ExitCode == 0, file.ToString());
        Assert.True(noR.ExitCode == 5, noR.ToString());
        Assert.Contains("is a folder", noR.Error, StringComparison.Ordinal);
        Assert.True(withR.ExitCode == 0, withR.ToString());
        Assert.Empty(Directory.GetFileSystemEntries(fixture.HostPath(f)));
        Assert.True(missing.ExitCode == 5, missing.ToString());
        Assert.Contains("No such file or folder", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rmdir_NonEmpty_ClearError_ExitCode5_ThenEmptyRemoved()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        Directory.CreateDirectory(fixture.HostPath($"{f}/full"));
        File.WriteAllText(fixture.HostPath($"{f}/full/x.txt"), "x");
        Directory.CreateDirectory(fixture.HostPath($"{f}/empty"));
        File.WriteAllText(fixture.HostPath($"{f}/file.txt"), "x");

        var full = await RunAsync("rmdir", $":{f}/full");
        var empty = await RunAsync("rmdir", $":{f}/empty");
        var file = await RunAsync("rmdir", $":{f}/file.txt");

        Assert.True(full.ExitCode == 5, full.ToString());
        Assert.Equal($"webrepl: The folder ':{f}/full' is not empty (remove it with rm -r).\n", full.Error.ReplaceLineEndings("\n"));
        Assert.True(File.Exists(fixture.HostPath($"{f}/full/x.txt")));
        Assert.True(empty.ExitCode == 0, empty.ToString());
        Assert.False(Directory.Exists(fixture.HostPath($"{f}/empty")));
        Assert.True(file.ExitCode == 5, file.ToString());
        Assert.Contains("is not a folder", file.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mv_RenamesFilesAndFolders_NonAscii()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        File.WriteAllText(fixture.HostPath($"{f}/old.py"), "x = 1\n");
        Directory.CreateDirectory(fixture.HostPath($"{f}/lib/ünter"));
        File.WriteAllText(fixture.HostPath($"{f}/lib/ünter/m.py"), "y = 2\n");

        var file = await RunAsync("mv", $":{f}/old.py", $":{f}/lib/ünter/neu.py");
        var folder = await RunAsync("mv", $":{f}/lib", $":{f}/bibliothèque");
        var missing = await RunAsync("mv", $":{f}/old.py", $":{f}/x.py");
        var local = await RunAsync("mv", $":{f}/x.py", "x.py");

        Assert.True(file.ExitCode == 0, file.ToString());
        Assert.True(folder.ExitCode == 0, folder.ToString());
        Assert.Equal(
            new SortedDictionary<string, string>(StringComparer.Ordinal)
            {
                ["bibliothèque"] = "dir",
                ["bibliothèque/ünter"] = "dir",
                ["bibliothèque/ünter/m.py"] = Trees.Sha256("y = 2\n"u8.ToArray()),
                ["bibliothèque/ünter/neu.py"] = Trees.Sha256("x = 1\n"u8.ToArray()),
            },
            Trees.Snapshot(fixture.HostPath(f)));
        Assert.True(missing.ExitCode == 5, missing.ToString());
        Assert.Contains($"':{f}/old.py'", missing.Error, StringComparison.Ordinal);
        Assert.True(local.ExitCode == 2, local.ToString());
    }

    [Fact]
    public async Task Df_ShowsSizeUsedFree()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));

        var run = await RunAsync("df");

        Assert.True(run.ExitCode == 0, run.ToString());
        string[] lines = Lines(run.Out);
        Assert.Equal(["Size", "Used", "Free", "Use%"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        long[] numbers = [.. lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)[..3].Select(n => long.Parse(n, CultureInfo.InvariantCulture))];
        Assert.True(numbers[0] > 0);
        Assert.Equal(numbers[0], numbers[1] + numbers[2]);
        Assert.EndsWith("%", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hash_EqualsLocalSha256_LargeAndEmptyFiles()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        byte[] content = Trees.RandomBytes(Large, 1);
        File.WriteAllBytes(fixture.HostPath($"{f}/big.bin"), content);
        File.WriteAllBytes(fixture.HostPath($"{f}/leer"), []);

        var run = await RunAsync("hash", $":{f}/big.bin", $":{f}/leer");
        var missing = await RunAsync("hash", $":{f}/nope");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal([$"{Trees.Sha256(content)}  :{f}/big.bin", $"{EmptySha256}  :{f}/leer"], Lines(run.Out));
        Assert.True(missing.ExitCode == 5, missing.ToString());
        Assert.Contains("No such file", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CpToBoard_LargeFile_Verified_ThenCatAndCpBackMatch()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string f = fixture.NewFolder();
        byte[] content = Trees.RandomBytes(Large, 2);
        string source = _local.File("big.bin", content);

        var up = await RunAsync("cp", source, $":{f}/");
        var down = await RunAsync("cp", $":{f}/big.bin", Path.Combine(_local.Path, "back.bin"));
        var stdout = new WatchedStream();
        var cat = await fixture.RunAsync(["cat", $":{f}/big.bin"], Token, stdout);

        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Contains("(verified)", up.Error, StringComparison.Ordinal);
        Assert.Equal(content, File.ReadAllBytes(fixture.HostPath($"{f}/big.bin")));
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Equal(content, File.ReadAllBytes(Path.Combine(_local.Path, "back.bin")));
        Assert.True(cat.ExitCode == 0, cat.ToString());
        Assert.Equal(Trees.Sha256(content), Trees.Sha256(stdout.Bytes));
    }

    [Fact]
    public async Task CpToBoard_EmptyFile_AndBack()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        string source = _local.File("leer.txt", []);

        var up = await RunAsync("cp", source, $":{f}/leer.txt");
        var down = await RunAsync("cp", $":{f}/leer.txt", Path.Combine(_local.Path, "zurück.txt"));

        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.True(File.Exists(fixture.HostPath($"{f}/leer.txt")));
        Assert.Empty(File.ReadAllBytes(fixture.HostPath($"{f}/leer.txt")));
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Empty(File.ReadAllBytes(Path.Combine(_local.Path, "zurück.txt")));
    }

    [Fact]
    public async Task CpR_NestedNonAsciiTree_BothWays()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string f = fixture.NewFolder();
        string tree = Path.Combine(_local.Path, "projekt");
        _local.File("projekt/main.py", "print('main')\n");
        _local.File("projekt/leer.txt", []);
        _local.File("projekt/lib/ünï/日本語.py", "x = '日本'\n");
        _local.File("projekt/lib/ünï/tief/daten.bin", Trees.RandomBytes(5000, 3));
        _local.File("projekt/lib/über.py", "pass\n");
        _local.File("projekt/it's a name.py", "q = 1\n");
        Directory.CreateDirectory(Path.Combine(tree, "leerer Ordner"));

        var up = await RunAsync("cp", "-r", tree, $":{f}");
        var down = await RunAsync("cp", "-r", $":{f}/projekt", Path.Combine(_local.Path, "zurück"));

        Assert.True(up.ExitCode == 0, up.ToString());
        Assert.Equal(Trees.Snapshot(tree), Trees.Snapshot(fixture.HostPath($"{f}/projekt")));
        Assert.True(down.ExitCode == 0, down.ToString());
        Assert.Equal(Trees.Snapshot(tree), Trees.Snapshot(Path.Combine(_local.Path, "zurück")));
    }

    [Fact]
    public async Task CpR_IntoAnExistingLocalFolder_KeepsTheBoardName()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        Directory.CreateDirectory(fixture.HostPath($"{f}/app/ö"));
        File.WriteAllText(fixture.HostPath($"{f}/app/ö/a.py"), "a = 1\n");

        var run = await RunAsync("cp", "-r", $":{f}/app", _local.Path);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("a = 1\n", File.ReadAllText(Path.Combine(_local.Path, "app", "ö", "a.py")));
    }

    [Fact]
    public async Task Cp_FolderWithoutR_UsageError()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        Directory.CreateDirectory(Path.Combine(_local.Path, "d"));

        var up = await RunAsync("cp", Path.Combine(_local.Path, "d"), $":{f}");
        var down = await RunAsync("cp", $":{f}", _local.Path);

        Assert.True(up.ExitCode == 2, up.ToString());
        Assert.Contains("cp -r", up.Error, StringComparison.Ordinal);
        Assert.True(down.ExitCode == 2, down.ToString());
        Assert.Contains("cp -r", down.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_Verified_LargeAndEmptyAndNonAscii()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string f = fixture.NewFolder();
        byte[] content = Trees.RandomBytes(Large, 4);
        string big = _local.File("groß.bin", content);
        string empty = _local.File("leer", []);

        var run = await RunAsync("put", big, empty, $":{f}/");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(content, File.ReadAllBytes(fixture.HostPath($"{f}/groß.bin")));
        Assert.Empty(File.ReadAllBytes(fixture.HostPath($"{f}/leer")));
        // As cp says it: the user sees that the check was made.
        Assert.Contains($"{big} -> :{f}/groß.bin (verified)", run.Error, StringComparison.Ordinal);
        Assert.Contains($"{empty} -> :{f}/leer (verified)", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PutNoVerify_DoesNotSayVerified()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        string file = _local.File("plain.txt", "x"u8.ToArray());

        var run = await RunAsync("put", "--no-verify", file, $":{f}/");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains($"{file} -> :{f}/plain.txt", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("verified", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CpFromBoard_SeveralFilesIntoAMissingFolder_CreatesIt()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        File.WriteAllText(fixture.HostPath($"{f}/a.txt"), "A");
        File.WriteAllText(fixture.HostPath($"{f}/b.txt"), "B");
        string destination = Path.Combine(_local.Path, "new", "deeper");

        var run = await RunAsync("cp", $":{f}/a.txt", $":{f}/b.txt", destination);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal("A", File.ReadAllText(Path.Combine(destination, "a.txt")));
        Assert.Equal("B", File.ReadAllText(Path.Combine(destination, "b.txt")));
    }

    [Fact]
    public async Task Put_IntoMissingFolderOrOntoAFolder_ClearError_SessionNotDropped()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        Directory.CreateDirectory(fixture.HostPath($"{f}/dir"));
        string file = _local.File("a.py", "a = 1\n");
        int drops = Drops();

        var missing = await RunAsync("put", file, $":{f}/no/such/a.py");
        var folder = await RunAsync("put", file, $":{f}/dir");
        var after = await RunAsync("exec", "print('alive')");

        Assert.True(missing.ExitCode == 5, missing.ToString());
        Assert.Contains($"the folder ':{f}/no/such' does not exist on the board", missing.Error, StringComparison.Ordinal);
        Assert.True(folder.ExitCode == 5, folder.ToString());
        Assert.Contains($"Cannot write ':{f}/dir': it is a folder on the board", folder.Error, StringComparison.Ordinal);
        // Checked through the REPL before the PUT: the board had no reason to drop the session.
        Assert.Equal(drops, Drops());
        Assert.True(after.ExitCode == 0, after.ToString());
        Assert.Equal("alive\r\n", after.Out);
    }

    [Fact]
    public async Task PutNoVerify_IntoMissingFolder_BoardDropsTheSession_ClearError()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(30));
        string f = fixture.NewFolder();
        string file = _local.File("a.py", "a = 1\n");

        // --no-verify: WebREPL's file protocol only, so the board drops the session as its firmware does.
        var run = await RunAsync("put", "--no-verify", file, $":{f}/no/such/a.py");
        await WaitUntilSessionEndedAsync();
        var after = await RunAsync("exec", "print('alive')");

        Assert.True(run.ExitCode == 5, run.ToString());
        Assert.Contains("folder", run.Error, StringComparison.Ordinal);
        Assert.True(after.ExitCode == 0, after.ToString());
    }

    [Fact]
    public async Task CpToBoard_CtrlCDuringTheTransfer_Exit130_NoPartialFile_BoardUsableAfter()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string f = fixture.NewFolder();
        string source = _local.File("huge.bin", Trees.RandomBytes(64 << 20, 8));
        using var ctrlC = CancellationTokenSource.CreateLinkedTokenSource(Token);

        var command = fixture.RunAsync(["cp", source, $":{f}/huge.bin"], ctrlC.Token);
        while (Directory.GetFiles(fixture.HostPath(f)).Length == 0 && !command.IsCompleted)
        {
            await Task.Delay(5, Token);
        }

        await ctrlC.CancelAsync();
        var run = await command;
        await WaitUntilSessionEndedAsync();
        var after = await RunAsync("exec", "print('alive')");

        Assert.True(run.ExitCode == 130, run.ToString());
        Assert.Empty(Directory.GetFiles(fixture.HostPath(f)));
        Assert.True(after.ExitCode == 0, after.ToString());
        Assert.Equal("alive\r\n", after.Out);
    }

    private Task<CliRun> RunAsync(params string[] args) => fixture.RunAsync(args, Token);

    /// <summary>After the board dropped a session: until it has let go of it (it accepts one client at a time).</summary>
    private async Task WaitUntilSessionEndedAsync()
    {
        while (fixture.Board.Server.HasSession)
        {
            await Task.Delay(10, Token);
        }
    }

    private int Drops() => fixture.Logs.Entries.Count(e => e.Id.Id == 107);

    private static string[] Lines(string text) => text.Split(["\r\n", "\n"], StringSplitOptions.RemoveEmptyEntries);

    private static List<(string Path, string Name, string Type, long Size)> ParseJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        return [.. document.RootElement.EnumerateArray().Select(e =>
            (e.GetProperty("path").GetString()!, e.GetProperty("name").GetString()!, e.GetProperty("type").GetString()!, e.GetProperty("size").GetInt64()))];
    }
}
