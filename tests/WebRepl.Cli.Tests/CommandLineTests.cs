namespace WebRepl.Cli.Tests;

/// <summary>What the command line says to a person who mistypes or asks for help: issue 18's "The command".</summary>
public sealed class CommandLineTests : IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(30));
    private readonly string _local = Directory.CreateTempSubdirectory("webrepl-local-").FullName;
    private TestBoard _board = null!;

    private CancellationToken Token => _timeout.Token;

    public ValueTask InitializeAsync()
    {
        _board = TestBoard.Start();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _board.DisposeAsync();
        Directory.Delete(_local, recursive: true);
        _timeout.Dispose();
    }

    [Theory]
    [InlineData("frobnicate", null)]
    [InlineData("gte", "get")]
    [InlineData("umount", "mount")] // mpremote's umount: webrepl mount unmounts by itself
    [InlineData("Repl", "repl")]
    public async Task UnknownWord_IsAnUnknownCommand_WithTheClosest_Exit2_NothingConnected(string word, string? meant)
    {
        var run = await Cli.RunAsync(["-p", TestBoard.Password, word], cancellationToken: Token);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.StartsWith($"webrepl: unknown command '{word}'.", run.Error, StringComparison.Ordinal);
        Assert.Contains(meant is null ? "The closest command is '" : $"Did you mean '{meant}'?", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Cannot connect", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownWord_WithMoreArguments_IsStillAnUnknownCommand()
    {
        var run = await Cli.RunAsync(["frobnicate", "a", "b"], cancellationToken: Token);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.StartsWith("webrepl: unknown command 'frobnicate'.", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost")] // a host with no dot or digit
    [InlineData("esp32")] // a digit: a host name
    [InlineData("board.local")]
    [InlineData("frobnicate:8266")] // a port given: a host
    public async Task HostLikeWord_IsTakenAsTheBoard(string host)
    {
        // No password and no terminal: the command stops at the password, after it took the word for a board.
        var run = await Cli.RunAsync([host], cancellationToken: Token);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("No password given", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("unknown command", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "get", ":a" }, "webrepl get: missing the local destination", "Usage: webrepl get :REMOTE... LOCAL [options]")]
    [InlineData(new[] { "get" }, "webrepl get: missing the board files to fetch", "Usage: webrepl get :REMOTE... LOCAL [options]")]
    [InlineData(new[] { "put", "main.py" }, "webrepl put: missing the board destination", "Usage: webrepl put LOCAL... :REMOTE [options]")]
    [InlineData(new[] { "mv", ":a" }, "webrepl mv: missing the new path (:TO)", "Usage: webrepl mv :FROM :TO [options]")]
    [InlineData(new[] { "exec" }, "webrepl exec: missing the Python code to run", "Usage: webrepl exec CODE [options]")]
    [InlineData(new[] { "sync", "./app" }, "webrepl sync: missing the board folder", "Usage: webrepl sync LOCAL_FOLDER :FOLDER [options]")]
    public async Task MissingArgument_NamesIt_AndShowsTheUsageLine_Exit2(string[] args, string says, string usage)
    {
        var run = await Cli.RunAsync(args, cancellationToken: Token);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains(says, run.Error, StringComparison.Ordinal);
        Assert.Contains(usage + "\n", run.Error.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.DoesNotContain("Required argument missing", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_NamesTheProgramWebrepl_NotTheAssembly()
    {
        var root = await Cli.RunAsync(["--help"], cancellationToken: Token);
        var get = await Cli.RunAsync(["get", "--help"], cancellationToken: Token);

        Assert.Equal(0, root.ExitCode);
        Assert.Contains("Usage:\n  webrepl [command] [options]", root.Out.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("Usage:\n  webrepl get <paths>... [options]", get.Out.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.DoesNotContain("WebRepl.Cli", root.Out + get.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("board")]
    [InlineData("gateway")]
    public async Task Help_ForBoardAndGateway_ListsNoClientOptionsNorLegacyArguments(string command)
    {
        var run = await Cli.RunAsync([command, "--help"], cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        foreach (string clientOnly in new[] { "-t, --target", "  --cert-fingerprint", "--timeout", "--quiet", "webrepl_cli.py", "<args>", "WEBREPL_PASSWORD" })
        {
            Assert.DoesNotContain(clientOnly, run.Out, StringComparison.Ordinal);
        }

        Assert.Contains($"Usage:\n  webrepl {command} [options]", run.Out.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_ForBoard_SaysThePasswordIsGenerated_NotAskedFor()
    {
        var run = await Cli.RunAsync(["board", "--help"], cancellationToken: Token);

        Assert.Contains("-p, --password", run.Out, StringComparison.Ordinal);
        Assert.Contains("generated", run.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("without echo", run.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("get", true)]
    [InlineData("put", true)]
    [InlineData("exec", false)]
    [InlineData("ls", false)]
    public async Task Help_ForAClientCommand_ListsTheClientOptions_AndQuietOnlyForTransfers(string command, bool quiet)
    {
        var run = await Cli.RunAsync([command, "--help"], cancellationToken: Token);

        Assert.Contains("--target", run.Out, StringComparison.Ordinal);
        Assert.Contains("--timeout", run.Out, StringComparison.Ordinal);
        Assert.Equal(quiet, run.Out.Contains("--quiet", StringComparison.Ordinal));
        Assert.DoesNotContain("webrepl_cli.py", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientOptions_BeforeOrAfterTheCommand_BothWork()
    {
        var before = await Cli.RunAsync(["-t", _board.Address, "-p", TestBoard.Password, "version"], cancellationToken: Token);
        var after = await Cli.RunAsync(["version", "-t", _board.Address, "-p", TestBoard.Password], cancellationToken: Token);

        Assert.Equal(0, before.ExitCode);
        Assert.Equal(0, after.ExitCode);
        Assert.Equal(before.Out, after.Out);
    }

    [Fact]
    public async Task Board_TakesNoClientOption()
    {
        var run = await Cli.RunAsync(["board", "-t", "127.0.0.1"], cancellationToken: Token);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("Usage: webrepl board [options]", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_SeveralFilesIntoAMissingFolder_CreatesIt()
    {
        File.WriteAllText(Path.Combine(_board.Root, "one.txt"), "1");
        File.WriteAllText(Path.Combine(_board.Root, "two.txt"), "2");
        string fetched = Path.Combine(_local, "fetched");

        var run = await Cli.RunAsync(["-t", _board.Address, "-p", TestBoard.Password, "get", ":one.txt", ":two.txt", fetched], cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("1", File.ReadAllText(Path.Combine(fetched, "one.txt")));
        Assert.Equal("2", File.ReadAllText(Path.Combine(fetched, "two.txt")));
    }

    [Fact]
    public async Task Get_OneFileIntoAMissingFolderEndingInSlash_CreatesIt_KeepsTheName()
    {
        File.WriteAllText(Path.Combine(_board.Root, "one.txt"), "1");
        string fetched = Path.Combine(_local, "a", "b") + "/";

        var run = await Cli.RunAsync(["-t", _board.Address, "-p", TestBoard.Password, "get", ":one.txt", fetched], cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("1", File.ReadAllText(Path.Combine(_local, "a", "b", "one.txt")));
    }

    [Fact]
    public async Task Get_OneFileToAMissingFolderWithoutSlash_IsALocalError_NothingMade()
    {
        File.WriteAllText(Path.Combine(_board.Root, "one.txt"), "1");

        var run = await Cli.RunAsync(["-t", _board.Address, "-p", TestBoard.Password, "get", ":one.txt", Path.Combine(_local, "no", "such.txt")], cancellationToken: Token);

        Assert.Equal(ExitCodes.LocalError, run.ExitCode);
        Assert.False(Directory.Exists(Path.Combine(_local, "no")));
    }

    [Fact]
    public async Task Get_SeveralFilesOntoAFile_IsAUsageError_TheFileKept()
    {
        string file = Path.Combine(_local, "file.txt");
        File.WriteAllText(file, "kept");

        var run = await Cli.RunAsync(["-t", _board.Address, "-p", TestBoard.Password, "get", ":one.txt", ":two.txt", file], cancellationToken: Token);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Equal("kept", File.ReadAllText(file));
    }

    [Fact]
    public async Task Get_SeveralFiles_CannotConnect_MakesNoFolder()
    {
        string fetched = Path.Combine(_local, "fetched");

        var run = await Cli.RunAsync(["-t", $"127.0.0.1:{Cli.ClosedPort()}", "-p", TestBoard.Password, "get", ":one.txt", ":two.txt", fetched], cancellationToken: Token);

        Assert.Equal(ExitCodes.CannotConnect, run.ExitCode);
        Assert.False(Directory.Exists(fetched));
    }
}
