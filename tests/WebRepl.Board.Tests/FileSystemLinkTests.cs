using WebRepl.Repl;

namespace WebRepl.Board.Tests;

/// <summary>
/// Links placed in the virtual board's folder (by anyone with access to it on this computer): Python on the board
/// must not follow them out of the folder, as the file transfers do not, and must still list everything else.
/// </summary>
public sealed class FileSystemLinkTests : IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));
    private readonly string _root = TestBoards.NewRoot();
    private readonly string _outside = Directory.CreateTempSubdirectory("webrepl-outside-").FullName;
    private VirtualBoard _board = null!;
    private WebReplClient _client = null!;

    private CancellationToken Token => _timeout.Token;

    public async ValueTask InitializeAsync()
    {
        File.WriteAllText(Path.Combine(_outside, "secret.txt"), "outside");
        File.WriteAllText(Path.Combine(_root, "plain.txt"), "inside");
        File.CreateSymbolicLink(Path.Combine(_root, "link.txt"), Path.Combine(_outside, "secret.txt"));
        Directory.CreateSymbolicLink(Path.Combine(_root, "dirlink"), _outside);
        File.CreateSymbolicLink(Path.Combine(_root, "dangling"), Path.Combine(_outside, "missing"));
        _board = await TestBoards.StartAsync(_root, cancellationToken: Token);
        _client = await WebReplClient.ConnectAndLoginAsync($"127.0.0.1:{_board.EndPoint.Port}", TestBoards.Password, cancellationToken: Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        await _board.DisposeAsync();
        Directory.Delete(_root, recursive: true);
        Directory.Delete(_outside, recursive: true);
        _timeout.Dispose();
    }

    [Fact]
    public async Task ListDir_FolderWithLinksOneDangling_ListsTheRestWithoutTheLinks()
    {
        Assert.Equal("['plain.txt']\r\n", await _client.ExecAsync("import os\nprint(sorted(os.listdir()))", Token));
    }

    [Fact]
    public async Task Open_LinkToAFileOutside_IsMissingAndNothingIsRead()
    {
        var error = await Assert.ThrowsAsync<WebReplExecutionException>(() => _client.ExecAsync("print(open('link.txt').read())", Token));

        Assert.Equal(2, error.OsErrno);
        Assert.DoesNotContain("outside", error.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_WriteThroughALinkToAFileOutside_FailsAndTheFileIsUnchanged()
    {
        await Assert.ThrowsAsync<WebReplExecutionException>(() => _client.ExecAsync("f = open('link.txt', 'w')\nf.write('overwritten')\nf.close()", Token));

        Assert.Equal("outside", File.ReadAllText(Path.Combine(_outside, "secret.txt")));
    }

    [Fact]
    public async Task Open_ThroughALinkedFolder_IsMissing()
    {
        var read = await Assert.ThrowsAsync<WebReplExecutionException>(() => _client.ExecAsync("print(open('dirlink/secret.txt').read())", Token));
        var write = await Assert.ThrowsAsync<WebReplExecutionException>(() => _client.ExecAsync("open('dirlink/new.txt', 'w').close()", Token));
        var list = await Assert.ThrowsAsync<WebReplExecutionException>(() => _client.ExecAsync("import os\nprint(os.listdir('dirlink'))", Token));

        Assert.Equal(2, read.OsErrno);
        Assert.Equal(2, write.OsErrno);
        Assert.Equal(2, list.OsErrno);
        Assert.False(File.Exists(Path.Combine(_outside, "new.txt")));
    }

    [Fact]
    public async Task PlainFile_StillReadAndWritten()
    {
        await _client.ExecAsync("f = open('plain.txt', 'a')\nf.write('!')\nf.close()", Token);

        Assert.Equal("inside!\r\n", await _client.ExecAsync("print(open('plain.txt').read())", Token));
    }
}
