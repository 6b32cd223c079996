namespace WebRepl.Cli.Tests;

/// <summary>
/// <c>webrepl boards</c> and the names it gives (issue 15): the file's modes and atomic write, the refusal of a
/// password others can read, and which of -t, the shortcut, WEBREPL_TARGET, -p, WEBREPL_PASSWORD and the stored
/// password wins. Each test has its own XDG_CONFIG_HOME; the board is a WebReplServer on loopback.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // file modes, shell scripts
public sealed class NamedBoardsTests : IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));
    private readonly string _config = Directory.CreateTempSubdirectory("webrepl-config-").FullName;
    private TestBoard _board = null!;

    private CancellationToken Token => _timeout.Token;

    private string BoardsFile => Path.Combine(_config, "webrepl", "boards.json");

    public ValueTask InitializeAsync()
    {
        _board = TestBoard.Start();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _board.DisposeAsync();
        Directory.Delete(_config, recursive: true);
        _timeout.Dispose();
    }

    [Fact]
    public async Task Add_WithPasswordFromStdin_MakesAPrivateFileInAPrivateFolder_ListSaysStored_NeverShowsIt()
    {
        var add = await RunAsync(["boards", "add", "desk", _board.Address, "--password-stdin"], input: TestBoard.Password + "\n");
        var list = await RunAsync(["boards"]);

        Assert.True(add.ExitCode == 0, add.All);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(BoardsFile));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(BoardsFile)!));
        Assert.Contains(TestBoard.Password, await File.ReadAllTextAsync(BoardsFile, Token), StringComparison.Ordinal);
        Assert.True(list.ExitCode == 0, list.All);
        Assert.Matches(@$"desk\s+{System.Text.RegularExpressions.Regex.Escape(_board.Address)}\s+stored", list.Out);
        Assert.DoesNotContain(TestBoard.Password, add.All + list.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Add_WithoutPassword_StoresNone_ListSaysSo()
    {
        var add = await RunAsync(["boards", "add", "desk", _board.Address]);
        var list = await RunAsync(["boards", "list"]);

        Assert.True(add.ExitCode == 0, add.All);
        Assert.DoesNotContain("password", await File.ReadAllTextAsync(BoardsFile, Token), StringComparison.Ordinal);
        Assert.Matches(@"desk\s+\S+\s+-", list.Out);
    }

    [Fact]
    public async Task Save_RenamesANewFileOverTheOld_AReaderOfTheOldFileSeesItWhole_NoTemporaryFileLeft()
    {
        await RunAsync(["boards", "add", "one", "10.0.0.1"]);
        string before = await File.ReadAllTextAsync(BoardsFile, Token);
        using var old = new FileStream(BoardsFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

        var add = await RunAsync(["boards", "add", "two", "10.0.0.2"]);
        var remove = await RunAsync(["boards", "remove", "one"]);

        Assert.True(add.ExitCode == 0 && remove.ExitCode == 0, add.All + remove.All);
        // Written in place, the open file would show the new text (or half of it); renamed over, it keeps the old.
        Assert.Equal(before, await new StreamReader(old).ReadToEndAsync(Token));
        string after = await File.ReadAllTextAsync(BoardsFile, Token);
        Assert.Contains("\"two\"", after, StringComparison.Ordinal);
        Assert.DoesNotContain("\"one\"", after, StringComparison.Ordinal);
        Assert.Equal(["boards.json"], Directory.GetFiles(Path.GetDirectoryName(BoardsFile)!).Select(Path.GetFileName));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(BoardsFile));
    }

    [Fact]
    public async Task StoredPassword_InAFileOthersCanRead_IsRefused_SayingChmod600_NothingConnected()
    {
        await RunAsync(["boards", "add", "desk", _board.Address, "-p", TestBoard.Password]);
        File.SetUnixFileMode(BoardsFile, File.GetUnixFileMode(BoardsFile) | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        int logged = _board.Logs.Entries.Count;

        var shortcut = await RunAsync(["desk", "version"]);
        var option = await RunAsync(["-t", "desk", "version"]);
        var list = await RunAsync(["boards"]);

        foreach (var run in new[] { shortcut, option, list })
        {
            Assert.True(run.ExitCode == ExitCodes.LocalError, run.All);
            Assert.Contains($"chmod 600 {BoardsFile}", run.Error, StringComparison.Ordinal);
            Assert.DoesNotContain(TestBoard.Password, run.All, StringComparison.Ordinal);
        }

        Assert.Equal(logged, _board.Logs.Entries.Count); // no connection
    }

    [Fact]
    public async Task AFileOthersCanRead_WithoutPasswords_IsUsed_AndAnAddressNeverOpensTheFile()
    {
        await RunAsync(["boards", "add", "desk", _board.Address]);
        File.SetUnixFileMode(BoardsFile, File.GetUnixFileMode(BoardsFile) | UnixFileMode.OtherRead);
        var named = await RunAsync(["desk", "version"], environment: new() { ["WEBREPL_PASSWORD"] = TestBoard.Password });

        await RunAsync(["boards", "add", "other", "10.0.0.1", "-p", "x"]);
        File.SetUnixFileMode(BoardsFile, File.GetUnixFileMode(BoardsFile) | UnixFileMode.OtherRead);
        var address = await RunAsync(["-t", _board.Address, "-p", TestBoard.Password, "version"]);

        Assert.True(named.ExitCode == 0, named.All);
        Assert.True(address.ExitCode == 0, address.All);
    }

    [Fact]
    public async Task Name_FromShortcut_Option_OrEnvironment_ReachesTheBoard_WithTheStoredPassword()
    {
        await RunAsync(["boards", "add", "desk", _board.Address, "-p", TestBoard.Password]);

        var shortcut = await RunAsync(["desk", "version"]);
        var option = await RunAsync(["-t", "desk", "version"]);
        var afterCommand = await RunAsync(["version", "-t", "desk"]);
        var environment = await RunAsync(["version"], environment: new() { ["WEBREPL_TARGET"] = "desk" });

        foreach (var run in new[] { shortcut, option, afterCommand, environment })
        {
            Assert.True(run.ExitCode == 0, run.All);
            Assert.Matches(@"^\d+\.\d+\.\d+", run.Out);
        }
    }

    [Fact]
    public async Task Precedence_OptionThenEnvironmentThenStoredPassword_AndTargetOptionOverEnvironment()
    {
        await RunAsync(["boards", "add", "right", _board.Address, "-p", TestBoard.Password]);
        await RunAsync(["boards", "add", "wrong", _board.Address, "-p", "nope"]);
        await RunAsync(["boards", "add", "closed", $"127.0.0.1:{Cli.ClosedPort()}", "-p", TestBoard.Password]);

        // The stored password loses to WEBREPL_PASSWORD, which loses to -p.
        var envBeatsStored = await RunAsync(["wrong", "version"], environment: new() { ["WEBREPL_PASSWORD"] = TestBoard.Password });
        var envWrong = await RunAsync(["right", "version"], environment: new() { ["WEBREPL_PASSWORD"] = "nope" });
        var optionBeatsEnv = await RunAsync(["-t", "right", "-p", TestBoard.Password, "version"], environment: new() { ["WEBREPL_PASSWORD"] = "nope" });
        // -t (and the shortcut) beat WEBREPL_TARGET.
        var targetOption = await RunAsync(["-t", "right", "version"], environment: new() { ["WEBREPL_TARGET"] = "closed" });
        var targetShortcut = await RunAsync(["right", "version"], environment: new() { ["WEBREPL_TARGET"] = "closed" });

        Assert.True(envBeatsStored.ExitCode == 0, envBeatsStored.All);
        Assert.True(envWrong.ExitCode == ExitCodes.AccessDenied, envWrong.All);
        Assert.True(optionBeatsEnv.ExitCode == 0, optionBeatsEnv.All);
        Assert.True(targetOption.ExitCode == 0, targetOption.All);
        Assert.True(targetShortcut.ExitCode == 0, targetShortcut.All);
    }

    [Fact]
    public async Task UnknownName_IsAHost_AndCommandNames_BadNames_BadTargets_AndDuplicates_AreRefused()
    {
        await RunAsync(["boards", "add", "desk", _board.Address]);

        // No DNS look-up in a test: the shortcut form shows that the word is then no board name.
        var unknown = await RunAsync(["nosuchboard"]);
        var unknownShortcut = await RunAsync(["nosuchboard", "version"]);
        var command = await RunAsync(["boards", "add", "ls", "10.0.0.1"]);
        var dotted = await RunAsync(["boards", "add", "my.board", "10.0.0.1"]);
        var badTarget = await RunAsync(["boards", "add", "web", "http://10.0.0.1"]);
        var again = await RunAsync(["boards", "add", "desk", "10.0.0.9"]);
        var forced = await RunAsync(["boards", "add", "desk", "10.0.0.9", "--force"]);
        var notACommand = await RunAsync(["desk", "frobnicate"]);
        var removeMissing = await RunAsync(["boards", "remove", "nosuchboard"]);

        Assert.True(unknown.ExitCode == ExitCodes.Usage && unknown.Error.Contains("unknown command 'nosuchboard'", StringComparison.Ordinal), unknown.All);
        Assert.Contains("boards add nosuchboard", unknown.Error, StringComparison.Ordinal);
        Assert.True(unknownShortcut.ExitCode == ExitCodes.Usage && unknownShortcut.Error.Contains("No board named 'nosuchboard'", StringComparison.Ordinal), unknownShortcut.All);
        Assert.True(command.ExitCode == ExitCodes.Usage && command.Error.Contains("is a webrepl command", StringComparison.Ordinal), command.All);
        Assert.True(dotted.ExitCode == ExitCodes.Usage && dotted.Error.Contains("cannot be a board name", StringComparison.Ordinal), dotted.All);
        Assert.True(badTarget.ExitCode == ExitCodes.Usage, badTarget.All);
        Assert.True(again.ExitCode == ExitCodes.Usage && again.Error.Contains("--force", StringComparison.Ordinal), again.All);
        Assert.True(forced.ExitCode == 0, forced.All);
        Assert.Contains("10.0.0.9", await File.ReadAllTextAsync(BoardsFile, Token), StringComparison.Ordinal);
        Assert.True(notACommand.ExitCode == ExitCodes.Usage && notACommand.Error.Contains("'webrepl desk ls'", StringComparison.Ordinal), notACommand.All);
        Assert.True(removeMissing.ExitCode == ExitCodes.LocalError, removeMissing.All);
    }

    [Fact]
    public async Task ABrokenFile_IsNamed_WithWhatToDo()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(BoardsFile)!);
        await File.WriteAllTextAsync(BoardsFile, "{\"boards\": {\"desk\": {\"target\": 5}}}", Token);

        var run = await RunAsync(["boards"]);

        Assert.Equal(ExitCodes.LocalError, run.ExitCode);
        Assert.Contains($"'{BoardsFile}' is not a valid boards file", run.Error, StringComparison.Ordinal);
        Assert.Contains("\"target\"", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfigFolder_IsXdgConfigHome_ElseHomeDotConfig()
    {
        string home = Path.Combine(_config, "home");
        var add = await RunAsync(["boards", "add", "desk", "10.0.0.1"], environment: new() { ["XDG_CONFIG_HOME"] = "relative/ignored", ["HOME"] = home });

        Assert.True(add.ExitCode == 0, add.All);
        Assert.True(File.Exists(Path.Combine(home, ".config", "webrepl", "boards.json")));
        Assert.False(File.Exists(BoardsFile));
    }

    /// <summary>Runs webrepl with XDG_CONFIG_HOME set to this test's folder (unless <paramref name="environment"/> sets it).</summary>
    private Task<CliRun> RunAsync(string[] args, string input = "", Dictionary<string, string>? environment = null)
    {
        environment ??= [];
        environment.TryAdd("XDG_CONFIG_HOME", _config);
        return Cli.RunAsync(args, input, environment, Token);
    }
}
