using System.Text.Json.Nodes;

namespace WebRepl.Cli.Board.Tests;

/// <summary>
/// <c>webrepl mip install</c> against the virtual board, with the index and GitHub served on loopback from
/// <c>Fixtures/mip</c> (<see cref="MipIndexServer"/>): dependencies, .mpy or .py by the board's bytecode version,
/// github: names, local packages, files already there skipped; and what must be refused with nothing left on the
/// board: a file whose hash is not the index's, a path that leaves the target folder.
/// </summary>
public sealed class MipCommandTests(BoardFixture fixture) : IClassFixture<BoardFixture>, IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
    private readonly LocalFolder _local = new();
    private MipIndexServer? _server;

    private CancellationToken Token => _timeout.Token;

    private MipIndexServer Server => _server!;

    public async ValueTask InitializeAsync()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        _server = await MipIndexServer.StartAsync(Token);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _local.Dispose();
        _timeout.Dispose();
    }

    [Fact]
    public async Task Install_PackageWithDependency_TakesTheMpyFilesForTheBoardsVersion_AndASecondInstallSkipsThem()
    {
        string f = fixture.NewFolder();

        var run = await InstallAsync("greet", "--target", $":{f}");

        Assert.True(run.ExitCode == 0, run.ToString());
        // The virtual board's sys.implementation._mpy is 774: version 6 (the low byte).
        Assert.Contains("/pi/v2/package/6/greet/latest.json", Server.Requests);
        Assert.Equal(
            new SortedDictionary<string, string>(StringComparer.Ordinal)
            {
                ["greet"] = "dir",
                ["greet/__init__.mpy"] = Trees.Sha256(Fixture("index/greet/6/greet/__init__.mpy")),
                ["shout.mpy"] = Trees.Sha256(Fixture("index/shout/6/shout.mpy")),
            },
            Trees.Snapshot(fixture.HostPath(f)));
        Assert.Contains($"Installed greet 1.2.0, shout 0.3.1 in :{f}: 2 file(s) written", run.Out, StringComparison.Ordinal);
        Assert.Contains("verified", run.Out, StringComparison.Ordinal);

        var before = Trees.WriteTimes(fixture.HostPath(f));
        var again = await InstallAsync("greet", "--target", $":{f}");

        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("Nothing to do", again.Out, StringComparison.Ordinal);
        Assert.Contains("2 file(s) unchanged", again.Out, StringComparison.Ordinal);
        Assert.Equal(before, Trees.WriteTimes(fixture.HostPath(f)));
    }

    [Fact]
    public async Task Install_NoMpyAndAVersion_TakesThePySources_WhichRunOnTheBoard()
    {
        string f = fixture.NewFolder();

        var run = await InstallAsync("greet@1.2.0", "--no-mpy", "--target", $":{f}");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("/pi/v2/package/py/greet/1.2.0.json", Server.Requests);
        Assert.Equal(Fixture("index/greet/py/greet/__init__.py"), File.ReadAllBytes(fixture.HostPath($"{f}/greet/__init__.py")));
        Assert.Equal(Fixture("index/shout/py/shout.py"), File.ReadAllBytes(fixture.HostPath($"{f}/shout.py")));

        var used = await fixture.RunAsync(["exec", $"import sys\nsys.path.insert(0, '{f}')\nfrom greet import hello\nprint(hello('board'))"], Token);

        Assert.True(used.ExitCode == 0, used.ToString());
        Assert.Equal("HELLO, BOARD!", used.Out.Trim());
    }

    [Fact]
    public async Task Install_NoTarget_GoesToTheLibInTheBoardsSysPath_AndMpyVersionOverridesTheBoards()
    {
        var run = await InstallAsync("shout", "--mpy-version", "py");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("/pi/v2/package/py/shout/latest.json", Server.Requests);
        Assert.Equal(Fixture("index/shout/py/shout.py"), File.ReadAllBytes(fixture.HostPath("/lib/shout.py")));
    }

    [Fact]
    public async Task Install_GithubName_IsFetchedFromTheGithubBaseAtTheRef_WithRelativeUrlsAndIndexDependencies()
    {
        string f = fixture.NewFolder();

        var run = await InstallAsync("github:owner/tool@v1", "--github-base", Server.GitHub, "--no-mpy", "--target", $":{f}");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(
            ["/gh/owner/tool/v1/package.json", "/gh/owner/tool/v1/tool.py", "/gh/owner/tool/v1/lib/extra.py"],
            Server.Requests.Where(r => r.StartsWith("/gh/", StringComparison.Ordinal)));
        Assert.Equal(Fixture("github/owner/tool/v1/tool.py"), File.ReadAllBytes(fixture.HostPath($"{f}/tool/__init__.py")));
        Assert.Equal(Fixture("github/owner/tool/v1/lib/extra.py"), File.ReadAllBytes(fixture.HostPath($"{f}/tool/extra.py")));
        Assert.Equal(Fixture("index/shout/py/shout.py"), File.ReadAllBytes(fixture.HostPath($"{f}/shout.py")));
    }

    [Fact]
    public async Task Install_LocalFolder_TakesItsFilesByRelativePathAndItsIndexDependencies()
    {
        string f = fixture.NewFolder();

        var run = await InstallAsync(MipIndexServer.FixturePath("local/app"), "--no-mpy", "--target", $":{f}");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal(
            ["app", "app/__init__.py", "app/config.py", "greet", "greet/__init__.py", "shout.py"],
            Trees.Snapshot(fixture.HostPath(f)).Keys);
        Assert.Equal(Fixture("local/app/src/app.py"), File.ReadAllBytes(fixture.HostPath($"{f}/app/__init__.py")));
    }

    [Fact]
    public async Task Install_FileWhoseHashIsNotTheIndexs_IsRefused_AndNothingOfTheInstallReachesTheBoard()
    {
        string f = fixture.NewFolder();
        string good = Server.PutIndexFile("GOOD = 1\n"u8.ToArray());
        string claimed = MipIndexServer.ShortHash("EXPECTED = 1\n"u8.ToArray());
        Server.Put($"/pi/v2/file/{claimed[..2]}/{claimed}", "TAMPERED = 1\n"u8.ToArray());
        PutPackage("tampered", new JsonObject
        {
            ["hashes"] = new JsonArray(new JsonArray("tampered/good.py", good), new JsonArray("tampered/bad.py", claimed)),
            ["deps"] = new JsonArray(new JsonArray("shout", "latest")),
        });

        var run = await InstallAsync("tampered", "--target", $":{f}");

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("'tampered/bad.py'", run.Error, StringComparison.Ordinal);
        Assert.Contains($"not {claimed}", run.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(fixture.HostPath(f)));
    }

    [Theory]
    [InlineData("../escaped.py")]
    [InlineData("/escaped.py")]
    [InlineData("pkg/../../escaped.py")]
    [InlineData("pkg//escaped.py")]
    [InlineData("pkg\\..\\..\\escaped.py")]
    public async Task Install_PathThatLeavesTheTarget_IsRefused_AndNothingIsWritten(string path)
    {
        string f = fixture.NewFolder();
        string file = Server.PutIndexFile("ESCAPED = 1\n"u8.ToArray());
        PutPackage("escape", new JsonObject { ["hashes"] = new JsonArray(new JsonArray("fine.py", file), new JsonArray(path, file)) });

        var run = await InstallAsync("escape", "--target", $":{f}/lib");

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("not a plain path below the target folder", run.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(fixture.HostPath(f)));
        Assert.False(File.Exists(fixture.HostPath("/escaped.py")));
    }

    [Fact]
    public async Task Install_LocalPackageWhoseFileIsOutsideItsFolder_IsRefused()
    {
        string f = fixture.NewFolder();
        _local.File("secret.txt", "not for the board\n");
        _local.File("pkg/package.json", """{"urls": [["secret.py", "../secret.txt"]]}""");

        var run = await InstallAsync(Path.Combine(_local.Path, "pkg"), "--target", $":{f}");

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("outside its folder", run.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(fixture.HostPath(f)));
    }

    [Fact]
    public async Task Install_NetworkPackageNamingALocalPath_IsRefused()
    {
        string f = fixture.NewFolder();
        _local.File("pkg/package.json", """{"urls": [["x.py", "x.py"]]}""");
        PutPackage("sneaky", new JsonObject { ["hashes"] = new JsonArray(), ["deps"] = new JsonArray(new JsonArray(Path.Combine(_local.Path, "pkg"), "latest")) });

        var run = await InstallAsync("sneaky", "--target", $":{f}");

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("local path", run.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(fixture.HostPath(f)));
    }

    [Fact]
    public async Task Install_FolderInAFilesPlace_IsRefusedBeforeAnythingIsWritten()
    {
        string f = fixture.NewFolder();
        Directory.CreateDirectory(fixture.HostPath($"{f}/shout.mpy"));

        var run = await InstallAsync("greet", "--target", $":{f}");

        Assert.True(run.ExitCode == 5, run.ToString());
        Assert.Contains($"Cannot install ':{f}/shout.mpy': it is a folder on the board. Nothing was installed.", run.Error, StringComparison.Ordinal);
        Assert.Equal(["shout.mpy"], Trees.Snapshot(fixture.HostPath(f)).Keys);
    }

    [Fact]
    public async Task Install_UnknownPackage_NamesThePackageAndTheIndex()
    {
        var run = await InstallAsync("no-such-package", "--target", $":{fixture.NewFolder()}");

        Assert.True(run.ExitCode == 1, run.ToString());
        Assert.Contains("'no-such-package' is not in the index " + Server.Index, run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Install_IndexUnreachable_IsANetworkError()
    {
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        var run = await fixture.RunAsync(["mip", "install", "greet", "--index", "http://127.0.0.1:1/pi/v2", "--target", $":{fixture.NewFolder()}"], Token);

        Assert.True(run.ExitCode == 3, run.ToString());
        Assert.Contains("Cannot fetch http://127.0.0.1:1/pi/v2/package/6/greet/latest.json", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Plan_FileOverTheSizeLimit_IsRefused_WhetherTheServerGivesItsLengthOrNot(bool sendLength)
    {
        Server.SendLength = sendLength;
        string f = fixture.NewFolder();
        await using var client = await WebReplClient.ConnectAndLoginAsync(fixture.Target, BoardFixture.Password, cancellationToken: Token);
        var options = new WebRepl.Mip.MipOptions { Index = new Uri(Server.Index), Target = f, MaxFileBytes = 40 };

        // shout.mpy is 49 bytes: refused by its Content-Length, or (chunked) once 40 bytes have been read.
        var ex = await Assert.ThrowsAsync<WebRepl.Mip.MipPackageException>(() => WebRepl.Mip.MipInstaller.PlanAsync(client, ["shout"], options, cancellationToken: Token));

        Assert.Contains("larger than 40 bytes", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(fixture.HostPath(f)));
    }

    private Task<CliRun> InstallAsync(params string[] args) =>
        fixture.RunAsync(["mip", "install", .. args, "--index", Server.Index], Token);

    private void PutPackage(string name, JsonObject json) => Server.Put($"/pi/v2/package/6/{name}/latest.json", json.ToJsonString());

    private static byte[] Fixture(string relative) => File.ReadAllBytes(MipIndexServer.FixturePath(relative));
}

/// <summary>An install onto a board where every write arrives damaged: refused after the second try, nothing left behind.</summary>
public sealed class MipVerificationTests(CorruptEveryUploadBoardFixture fixture) : IClassFixture<CorruptEveryUploadBoardFixture>
{
    [Fact]
    public async Task Install_FilesDamagedOnTheBoard_FailsClearly_AndRemovesItsTemporaryFilesAndFolders()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await using var server = await MipIndexServer.StartAsync(timeout.Token);
        string f = fixture.NewFolder();

        var run = await fixture.RunAsync(["mip", "install", "greet", "--index", server.Index, "--target", $":{f}/lib"], timeout.Token);

        Assert.True(run.ExitCode == 5, run.ToString());
        Assert.Contains("did not arrive intact", run.Error, StringComparison.Ordinal);
        Assert.True(fixture.Store!.UploadsOf($"{f}/lib/.mip-0.tmp") == 2, run.ToString());
        Assert.Empty(Directory.GetFileSystemEntries(fixture.HostPath(f)));
    }
}

/// <summary>
/// <c>--no-repl</c> against a server with WebREPL's file transfer alone (our <c>WebReplServer</c> with an echo
/// console: no Python behind it, as a board whose REPL is in use): the files are written in place and read back.
/// </summary>
public sealed class MipFileProtocolTests
{
    [Fact]
    public async Task Install_NoRepl_OnAFileProtocolOnlyServer_WritesAndReadsBackEveryFile()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await using var index = await MipIndexServer.StartAsync(timeout.Token);
        using var root = new LocalFolder();
        Directory.CreateDirectory(Path.Combine(root.Path, "lib", "greet"));
        await using var server = new WebRepl.Device.WebReplServer(
            new WebRepl.Device.WebReplServerOptions { Password = BoardFixture.Password, EndPoint = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0) },
            new WebRepl.Device.EchoConsole(),
            new WebRepl.Device.DirectoryFileStore(root.Path));
        server.Start();
        var environment = new Dictionary<string, string> { [WebReplCli.TargetVariable] = $"127.0.0.1:{server.LocalEndPoint.Port}", [WebReplCli.PasswordVariable] = BoardFixture.Password };

        var refused = await Cli.RunAsync(["mip", "install", "greet", "--no-repl", "--index", index.Index], environment, null, timeout.Token);
        var run = await Cli.RunAsync(["mip", "install", "greet", "--no-repl", "--mpy-version", "6", "--index", index.Index], environment, null, timeout.Token);

        Assert.True(refused.ExitCode == 2, refused.ToString());
        Assert.Contains("--mpy-version", refused.Error, StringComparison.Ordinal);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("verified by reading them back", run.Out, StringComparison.Ordinal);
        Assert.Equal(
            File.ReadAllBytes(MipIndexServer.FixturePath("index/greet/6/greet/__init__.mpy")),
            File.ReadAllBytes(Path.Combine(root.Path, "lib", "greet", "__init__.mpy")));
        Assert.Equal(
            File.ReadAllBytes(MipIndexServer.FixturePath("index/shout/6/shout.mpy")),
            File.ReadAllBytes(Path.Combine(root.Path, "lib", "shout.mpy")));
    }
}
