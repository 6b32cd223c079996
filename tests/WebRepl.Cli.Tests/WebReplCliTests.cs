using System.Net;
using System.Net.Sockets;
using System.Text;

namespace WebRepl.Cli.Tests;

public sealed class WebReplCliTests : IAsyncLifetime
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

    [Fact]
    public async Task LegacyPut_HostPortRemote_SendsTheFile()
    {
        byte[] content = RandomBytes(3000);
        string source = WriteLocal("main.py", content);

        var run = await Cli.RunAsync(["-p", TestBoard.Password, source, $"{_board.Address}:/app.py"], cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(content, File.ReadAllBytes(Path.Combine(_board.Root, "app.py")));
    }

    [Fact]
    public async Task LegacyPut_RemoteEndingInSlash_KeepsTheLocalName()
    {
        Directory.CreateDirectory(Path.Combine(_board.Root, "lib"));
        string source = WriteLocal("util.py", "x = 1\n"u8.ToArray());

        var run = await Cli.RunAsync(["-p", TestBoard.Password, source, $"{_board.Address}:/lib/"], cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("x = 1\n", File.ReadAllText(Path.Combine(_board.Root, "lib", "util.py")));
    }

    [Fact]
    public async Task LegacyGet_LocalFolder_KeepsTheRemoteName()
    {
        byte[] content = RandomBytes(1000);
        File.WriteAllBytes(Path.Combine(_board.Root, "boot.py"), content);

        var run = await Cli.RunAsync(["-p", TestBoard.Password, $"{_board.Address}:/boot.py", _local], cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(content, File.ReadAllBytes(Path.Combine(_local, "boot.py")));
    }

    [Fact]
    public async Task LegacyGet_LocalFileName_WritesThatFile()
    {
        File.WriteAllText(Path.Combine(_board.Root, "data.csv"), "a,b\n");
        string destination = Path.Combine(_local, "copy.csv");

        var run = await Cli.RunAsync(["-p", TestBoard.Password, $"{_board.Address}:data.csv", destination], cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("a,b\n", File.ReadAllText(destination));
    }

    [Fact]
    public async Task Put_SeveralFiles_GoIntoTheRemoteFolder()
    {
        Directory.CreateDirectory(Path.Combine(_board.Root, "app"));
        string a = WriteLocal("a.py", "A"u8.ToArray());
        string b = WriteLocal("b.py", "B"u8.ToArray());

        var run = await Cli.RunAsync(["-t", _board.Address, "-p", TestBoard.Password, "put", "--no-verify", a, b, ":app"], cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("A", File.ReadAllText(Path.Combine(_board.Root, "app", "a.py")));
        Assert.Equal("B", File.ReadAllText(Path.Combine(_board.Root, "app", "b.py")));
        Assert.Contains("a.py -> :app/a.py", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_SeveralFiles_GoIntoTheLocalFolder()
    {
        File.WriteAllText(Path.Combine(_board.Root, "one.txt"), "1");
        File.WriteAllText(Path.Combine(_board.Root, "two.txt"), "2");

        var run = await Cli.RunAsync(["-t", _board.Address, "-p", TestBoard.Password, "get", ":one.txt", ":/two.txt", _local], cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("1", File.ReadAllText(Path.Combine(_local, "one.txt")));
        Assert.Equal("2", File.ReadAllText(Path.Combine(_local, "two.txt")));
    }

    [Fact]
    public async Task Subcommands_TargetAndPasswordFromEnvironment_AreUsed()
    {
        var environment = new Dictionary<string, string>
        {
            [WebReplCli.TargetVariable] = _board.Address,
            [WebReplCli.PasswordVariable] = TestBoard.Password,
        };

        var run = await Cli.RunAsync(["version"], environment: environment, cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("1.24.1", run.Out.Trim());
    }

    [Fact]
    public async Task Version_WsUrlTarget_PrintsTheBoardVersion()
    {
        var run = await Cli.RunAsync(["-t", $"ws://{_board.Address}/", "-p", TestBoard.Password, "version"], cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal("1.24.1", run.Out.Trim());
    }

    [Fact]
    public async Task WrongPassword_ExitsAccessDenied_AndPrintsNoPassword()
    {
        var run = await Cli.RunAsync(["-t", _board.Address, "-p", "nottheone", "version"], cancellationToken: Token);

        Assert.Equal(ExitCodes.AccessDenied, run.ExitCode);
        Assert.Contains("refused the password", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("nottheone", run.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PasswordLongerThanNine_RefusedByTheBoard_SaysARealBoardsHasAtMostNine()
    {
        var run = await Cli.RunAsync(["-t", _board.Address, "-p", "0123456789", "version"], cancellationToken: Token);

        Assert.Equal(ExitCodes.AccessDenied, run.ExitCode);
        Assert.Contains("a real board's has at most 9", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("0123456789", run.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PasswordLongerThan64Bytes_IsRefusedBeforeConnecting()
    {
        string password = new('p', 65);
        var run = await Cli.RunAsync(["-t", _board.Address, "-p", password, "version"], cancellationToken: Token);

        Assert.Equal(ExitCodes.AccessDenied, run.ExitCode);
        Assert.Contains("at most 9 characters on a board", run.Error, StringComparison.Ordinal);
        Assert.False(_board.Server.HasSession);
        Assert.DoesNotContain(password, run.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_MissingRemoteFile_ExitsRemoteError_AndWritesNothing()
    {
        string destination = Path.Combine(_local, "nope.txt");

        var run = await Cli.RunAsync(["-t", _board.Address, "-p", TestBoard.Password, "get", ":nope.txt", destination], cancellationToken: Token);

        Assert.Equal(ExitCodes.RemoteError, run.ExitCode);
        Assert.Contains("does not exist", run.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_local));
    }

    [Fact]
    public async Task Get_MissingRemoteFile_KeepsAnExistingLocalFile()
    {
        string destination = WriteLocal("keep.txt", "precious"u8.ToArray());

        var run = await Cli.RunAsync(["-t", _board.Address, "-p", TestBoard.Password, "get", ":nope.txt", destination], cancellationToken: Token);

        Assert.Equal(ExitCodes.RemoteError, run.ExitCode);
        Assert.Equal("precious", File.ReadAllText(destination));
        Assert.Single(Directory.GetFileSystemEntries(_local));
    }

    [Fact]
    public async Task Put_NameLongerThan63Bytes_IsAUsageError_AndNothingIsSent()
    {
        string source = WriteLocal("x.py", "x"u8.ToArray());
        string name = new('n', 64);

        var run = await Cli.RunAsync(["-t", _board.Address, "-p", TestBoard.Password, "put", source, ":" + name], cancellationToken: Token);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("at most 63", run.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_board.Root));
        Assert.False(_board.Server.HasSession);
    }

    [Fact]
    public async Task Put_MissingLocalFile_ExitsLocalError()
    {
        var run = await Cli.RunAsync(["-t", _board.Address, "-p", TestBoard.Password, "put", Path.Combine(_local, "absent.py"), ":x.py"], cancellationToken: Token);

        Assert.Equal(ExitCodes.LocalError, run.ExitCode);
        Assert.Contains("No such local file", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_DestinationNotABoardPath_IsAUsageError()
    {
        string source = WriteLocal("x.py", "x"u8.ToArray());

        var run = await Cli.RunAsync(["-t", _board.Address, "-p", TestBoard.Password, "put", source, "x.py"], cancellationToken: Token);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("must be a board path starting with ':'", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoTarget_IsAUsageError_ThatNamesTheVariable()
    {
        var run = await Cli.RunAsync(["-p", TestBoard.Password, "version"], cancellationToken: Token);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains(WebReplCli.TargetVariable, run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoPassword_WithoutATerminal_IsAUsageError()
    {
        var run = await Cli.RunAsync(["-t", _board.Address, "version"], cancellationToken: Token);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains(WebReplCli.PasswordVariable, run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownOption_IsAUsageError()
    {
        var run = await Cli.RunAsync(["--frobnicate", "version"], cancellationToken: Token);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
    }

    [Fact]
    public async Task ClosedPort_ExitsCannotConnect()
    {
        var run = await Cli.RunAsync(["-t", $"127.0.0.1:{Cli.ClosedPort()}", "-p", TestBoard.Password, "version"], cancellationToken: Token);

        Assert.Equal(ExitCodes.CannotConnect, run.ExitCode);
        Assert.Contains("connection refused", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SilentServer_ExitsTimeout_WithinTheTimeout()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accepted = listener.AcceptSocketAsync(Token);
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var run = await Cli.RunAsync(["-t", $"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}", "-p", TestBoard.Password, "--timeout", "0.5", "version"], cancellationToken: Token);

        Assert.Equal(ExitCodes.Timeout, run.ExitCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        (await accepted).Dispose();
    }

    [Fact]
    public async Task Repl_PipedInput_ReachesTheBoardWithCarriageReturns()
    {
        var run = await Cli.RunAsync(["-p", TestBoard.Password, _board.Address], input: "print(6*7)\n", cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        // The echo console prints back what it gets: the line feed became the carriage return of Enter.
        Assert.Contains(">>> print(6*7)\r", run.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", run.Out.Split(">>> ")[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Repl_BoardPrintsInvalidUtf8_BytesReachStdoutUnchanged()
    {
        byte[] input = [(byte)'a', 0xff, 0xfe, (byte)'b'];
        var output = new MemoryStream();
        var context = new CliContext
        {
            Out = new StringWriter(),
            Error = new StringWriter(),
            OpenInput = () => new MemoryStream(input),
            OpenOutput = () => output,
        };

        int code = await WebReplCli.RunAsync(["-p", TestBoard.Password, _board.Address], context, cancellationToken: Token);

        Assert.Equal(0, code);
        Assert.Equal([.. ">>> "u8, .. input], output.ToArray());
    }

    [Fact]
    public async Task Repl_BoardGoesAway_ExitsCannotConnect_WithTheReason()
    {
        var error = new StringWriter();
        var output = new MemoryStream();
        var context = new CliContext
        {
            Out = new StringWriter(),
            Error = error,
            OpenInput = () => new NeverEndingStream(),
            OpenOutput = () => output,
        };
        var session = WebReplCli.RunAsync(["-p", TestBoard.Password, _board.Address], context, cancellationToken: Token);
        while (!_board.Server.HasSession || output.Length == 0)
        {
            await Task.Delay(10, Token);
        }

        await _board.Server.DisposeAsync();
        int code = await session;

        Assert.Equal(ExitCodes.CannotConnect, code);
        Assert.Contains("connection closed", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Repl_InATerminal_RawKeysReachTheBoard_CtrlRightBracketExits_TerminalRestored()
    {
        // A real pseudo-terminal (util-linux script): the command puts it in raw mode, and must restore it.
        string command = $"dotnet '{Cli.CommandPath}' {_board.Address}; echo \"exit=$?\"; stty -a";
        var steps = new List<(string Expect, string Keys)>
        {
            ("Password: ", TestBoard.Password + "\r"),
            (">>> ", "ab\u0003c"),
            ("ab\u0003c", "\u001d"),
        };

        var run = await Cli.RunInteractiveAsync(command, steps, TimeSpan.FromSeconds(60), terminal: true);

        Assert.Contains("exit=0", run.Out, StringComparison.Ordinal);
        // Ctrl-C went to the board (and came back in the echo) instead of killing the command.
        Assert.Contains("ab\u0003c", run.Out, StringComparison.Ordinal);
        // The password was typed without echo and is never printed.
        Assert.DoesNotContain(TestBoard.Password, run.Out, StringComparison.Ordinal);
        // After exit the terminal is back in cooked mode with echo.
        string stty = run.Out[run.Out.IndexOf("exit=0", StringComparison.Ordinal)..];
        Assert.Matches(@"(^|\s)icanon(\s|$)", stty);
        Assert.Matches(@"(^|\s)echo(\s|$)", stty);
    }

    private string WriteLocal(string name, byte[] content)
    {
        string path = Path.Combine(_local, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private static byte[] RandomBytes(int length)
    {
        byte[] bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Standard input that never ends, as a person who types nothing.</summary>
    private sealed class NeverEndingStream : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
