using System.Security.Cryptography;
using System.Text;
using WebRepl.Repl;

namespace WebRepl.Board.Tests;

/// <summary>Code execution and board file operations over the raw REPL, against the virtual board.</summary>
public sealed class ReplOperationsTests : IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));
    private readonly string _root = TestBoards.NewRoot();
    private VirtualBoard _board = null!;
    private WebReplClient _client = null!;

    private CancellationToken Token => _timeout.Token;

    public async ValueTask InitializeAsync()
    {
        _board = await TestBoards.StartAsync(_root, cancellationToken: Token);
        _client = await WebReplClient.ConnectAndLoginAsync($"127.0.0.1:{_board.EndPoint.Port}", TestBoards.Password, cancellationToken: Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        await _board.DisposeAsync();
        Directory.Delete(_root, recursive: true);
        _timeout.Dispose();
    }

    [Fact]
    public async Task ExecAsync_ReturnsOutput()
    {
        Assert.Equal("1\r\n2\r\n", await _client.ExecAsync("print(1)\nprint(2)", Token));
    }

    [Fact]
    public async Task ExecAsync_BoardException_ThrowsWithTraceback()
    {
        var error = await Assert.ThrowsAsync<WebReplExecutionException>(() => _client.ExecAsync("print('before')\n1/0", Token));

        Assert.Equal("before\r\n", error.Output);
        Assert.StartsWith("Traceback", error.Traceback, StringComparison.Ordinal);
        Assert.Equal("ZeroDivisionError: divide by zero", error.Message);
    }

    [Fact]
    public async Task ExecAsync_CodeLongerThan4KB_NothingLost()
    {
        var code = new StringBuilder("total = 0\n");
        for (int i = 0; i < 400; i++)
        {
            code.Append(CultureInfo($"total += {i}  # padding to make this program long enough\n"));
        }

        code.Append("print(total)\n");
        Assert.True(code.Length > 4096);

        Assert.Equal($"{Enumerable.Range(0, 400).Sum()}\r\n", await _client.ExecAsync(code.ToString(), Token));
    }

    [Fact]
    public async Task ExecAsync_Twice_AndTerminalStillUsableAfter()
    {
        Assert.Equal("a\r\n", await _client.ExecAsync("print('a')", Token));
        Assert.Equal("b\r\n", await _client.ExecAsync("print('b')", Token));

        await _client.SendInputAsync("print(40+2)\r", Token);
        var seen = new StringBuilder();
        while (!seen.ToString().Contains("42\r\n>>> ", StringComparison.Ordinal))
        {
            seen.Append(Encoding.UTF8.GetString((await _client.Output.ReadAsync(Token)).Span));
        }
    }

    [Fact]
    public async Task ExecAsync_ProgramTakesTheCtrlAAsItsInput_EntersOnTheRetry()
    {
        // A program that catches KeyboardInterrupt and then reads its input takes the Ctrl-A meant for the REPL (and
        // the carriage returns around it): the client must send it again. ('wait' + 'ing': the paste is echoed.)
        await _client.SendInputAsync(
            "\u0005import sys, time\ntry:\n    print('wait' + 'ing')\n    while True:\n        time.sleep(0.01)\nexcept KeyboardInterrupt:\n    print('took', repr(sys.stdin.read(3)))\n\u0004",
            Token);
        var seen = new StringBuilder();
        while (!seen.ToString().Contains("waiting\r\n", StringComparison.Ordinal))
        {
            seen.Append(Encoding.UTF8.GetString((await _client.Output.ReadAsync(Token)).Span));
        }

        Assert.Equal("after\r\n", await _client.ExecAsync("print('after')", Token));
        Assert.Equal("2\r\n", await _client.ExecAsync("print(1 + 1)", Token));
    }

    [Fact]
    public async Task EvalAsync_ReturnsRepr()
    {
        Assert.Equal("[1, 'x']", await _client.EvalAsync("[1, 'x']", Token));
    }

    [Fact]
    public async Task Files_MakeListStatHashRenameRemove()
    {
        await _client.Files.MakeDirectoryAsync("a/b/c", parents: true, Token);
        await _client.Files.MakeDirectoryAsync("a/b", parents: true, Token);
        byte[] content = Encoding.UTF8.GetBytes("héllo\n");
        await _client.Files.WriteAllBytesAsync("a/b/c/f.txt", content, cancellationToken: Token);
        await _client.Files.WriteAllBytesAsync("a/é.txt", Array.Empty<byte>(), cancellationToken: Token);

        var all = await _client.Files.ListAsync("a", recursive: true, Token);
        Assert.Equal(["a/b", "a/b/c", "a/b/c/f.txt", "a/é.txt"], all.Select(e => e.Path));
        Assert.Equal(content.Length, all.Single(e => e.Path == "a/b/c/f.txt").Size);
        Assert.True(all.Single(e => e.Path == "a/b").IsDirectory);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), await _client.Files.HashAsync("a/b/c/f.txt", Token));
        Assert.Null(await _client.Files.StatAsync("nope", Token));

        await _client.Files.RenameAsync("a/b/c/f.txt", "a/g.txt", Token);
        Assert.Equal(content, await _client.Files.ReadAllBytesAsync("a/g.txt", Token));

        var notEmpty = await Assert.ThrowsAsync<BoardFileException>(() => _client.Files.RemoveDirectoryAsync("a/b", Token));
        Assert.Equal(39, notEmpty.Errno);
        await _client.Files.RemoveAsync("a", recursive: true, Token);
        Assert.Empty(await _client.Files.ListAsync("", cancellationToken: Token));
    }

    [Fact]
    public async Task Files_ReadMissing_SaysNoSuchFile_AndSessionLives()
    {
        var error = await Assert.ThrowsAsync<BoardFileException>(() => _client.Files.ReadAllBytesAsync("typo.py", Token));

        Assert.True(error.IsNotFound);
        Assert.Contains("No such file", error.Message, StringComparison.Ordinal);
        Assert.Equal("ok\r\n", await _client.ExecAsync("print('ok')", Token));
    }

    [Fact]
    public async Task Files_RemoveFolderWithoutRecursive_SaysItIsAFolder()
    {
        await _client.Files.MakeDirectoryAsync("d", cancellationToken: Token);

        var error = await Assert.ThrowsAsync<BoardFileException>(() => _client.Files.RemoveAsync("d", cancellationToken: Token));

        Assert.Equal(21, error.Errno);
    }

    [Fact]
    public async Task Files_Space_ReportsTotalAndFree()
    {
        var space = await _client.Files.GetSpaceAsync(cancellationToken: Token);

        Assert.True(space.Total > 0);
        Assert.InRange(space.Free, 0, space.Total);
    }

    private static string CultureInfo(FormattableString text) => FormattableString.Invariant(text);
}
