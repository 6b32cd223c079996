using WebRepl.Device;
using WebRepl.Tests.Support;

namespace WebRepl.Tests.Device;

public sealed class DirectoryFileStoreTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("webrepl-store-").FullName;
    private readonly string _root;
    private readonly string _outside;
    private readonly DirectoryFileStore _store;
    private readonly CancellationTokenSource _timeout = TestTimeout.Start();

    public DirectoryFileStoreTests()
    {
        _root = Path.Combine(_folder, "root");
        _outside = Directory.CreateDirectory(Path.Combine(_folder, "outside")).FullName;
        _store = new DirectoryFileStore(_root);
    }

    private CancellationToken Token => _timeout.Token;

    public void Dispose()
    {
        _timeout.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public void Constructor_MissingFolder_CreatesIt()
    {
        Assert.True(Directory.Exists(_root));
        Assert.Equal(_root, _store.Root);
    }

    [Theory]
    [InlineData("main.py", "main.py")]
    [InlineData("/main.py", "main.py")]
    [InlineData("//lib///x.py", "lib/x.py")]
    [InlineData("./lib/./x.py", "lib/x.py")]
    [InlineData("lib/../main.py", "main.py")]
    [InlineData("données/é.txt", "données/é.txt")]
    public void Resolve_PathInsideRoot_MapsUnderRoot(string path, string expected)
    {
        Assert.Equal(Path.Combine(_root, expected), _store.Resolve(path));
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("..")]
    [InlineData("/../../etc/passwd")]
    [InlineData("lib/../../x")]
    [InlineData("a/b/../../../outside/secret")]
    [InlineData("..\\x")]
    [InlineData("C:\\Windows\\win.ini")]
    [InlineData("C:/x")]
    [InlineData("/")]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("a\0b")]
    public void Resolve_PathLeavingRootOrNotAFile_ThrowsFileNotFound(string path)
    {
        var ex = Assert.Throws<FileNotFoundException>(() => _store.Resolve(path));

        Assert.Contains("No such file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenReadAsync_PathLeavingRoot_ThrowsWhileTheFileExistsOutside()
    {
        await File.WriteAllTextAsync(Path.Combine(_folder, "secret"), "top secret", Token);

        await Assert.ThrowsAsync<FileNotFoundException>(async () => await _store.OpenReadAsync("../secret", Token));
        await Assert.ThrowsAsync<FileNotFoundException>(async () => await _store.OpenReadAsync("/../secret", Token));
    }

    [Fact]
    public async Task CreateAsync_PathLeavingRoot_ThrowsAndCreatesNothing()
    {
        await Assert.ThrowsAsync<FileNotFoundException>(async () => await _store.CreateAsync("../evil", Token));

        Assert.Empty(Directory.EnumerateFileSystemEntries(_folder, "*evil*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task OpenReadAsync_SymlinkToFileOutside_Throws()
    {
        string secret = Path.Combine(_outside, "secret");
        await File.WriteAllTextAsync(secret, "top secret", Token);
        File.CreateSymbolicLink(Path.Combine(_root, "link"), secret);

        await Assert.ThrowsAsync<FileNotFoundException>(async () => await _store.OpenReadAsync("link", Token));
    }

    [Fact]
    public async Task CreateAsync_SymlinkToFileOutside_ThrowsAndLeavesTargetUnchanged()
    {
        string secret = Path.Combine(_outside, "secret");
        await File.WriteAllTextAsync(secret, "top secret", Token);
        File.CreateSymbolicLink(Path.Combine(_root, "link"), secret);

        await Assert.ThrowsAsync<FileNotFoundException>(async () => await _store.CreateAsync("link", Token));

        Assert.Equal("top secret", await File.ReadAllTextAsync(secret, Token));
    }

    [Fact]
    public async Task OpenAndCreate_ThroughSymlinkedFolderOutside_Throw()
    {
        await File.WriteAllTextAsync(Path.Combine(_outside, "secret"), "top secret", Token);
        Directory.CreateSymbolicLink(Path.Combine(_root, "dir"), _outside);

        await Assert.ThrowsAsync<FileNotFoundException>(async () => await _store.OpenReadAsync("dir/secret", Token));
        await Assert.ThrowsAsync<FileNotFoundException>(async () => await _store.CreateAsync("dir/evil", Token));
        Assert.Equal(["secret"], Directory.GetFiles(_outside).Select(Path.GetFileName));
    }

    [Fact]
    public async Task CreateAsync_DanglingSymlinkToOutside_NeverWritesOutside()
    {
        string target = Path.Combine(_outside, "created-by-link");
        File.CreateSymbolicLink(Path.Combine(_root, "dangling"), target);

        try
        {
            await using var upload = await _store.CreateAsync("dangling", Token);
            await upload.Stream.WriteAsync("evil"u8.ToArray(), Token);
            await upload.CommitAsync(Token);
        }
        catch (IOException)
        {
            // Refusing is as good as replacing the link itself.
        }

        Assert.False(File.Exists(target));
        Assert.Empty(Directory.GetFiles(_outside));
    }

    [Fact]
    public async Task Constructor_RootIsASymlink_ServesItsTarget()
    {
        string real = Directory.CreateDirectory(Path.Combine(_folder, "real")).FullName;
        await File.WriteAllTextAsync(Path.Combine(real, "a.txt"), "a", Token);
        string linked = Path.Combine(_folder, "linked");
        Directory.CreateSymbolicLink(linked, real);

        var store = new DirectoryFileStore(linked);

        Assert.Equal(real, store.Root);
        await using var stream = await store.OpenReadAsync("a.txt", Token);
        Assert.Equal('a', stream.ReadByte());
    }

    [Fact]
    public async Task OpenReadAsync_Folder_ThrowsUnauthorizedAccess()
    {
        Directory.CreateDirectory(Path.Combine(_root, "lib"));

        await Assert.ThrowsAsync<UnauthorizedAccessException>(async () => await _store.OpenReadAsync("lib", Token));
    }

    [Fact]
    public async Task OpenReadAsync_MissingFile_ThrowsIOException()
    {
        await Assert.ThrowsAnyAsync<IOException>(async () => await _store.OpenReadAsync("missing.py", Token));
    }

    [Fact]
    public async Task CreateAsync_MissingFolder_ThrowsDirectoryNotFound()
    {
        await Assert.ThrowsAsync<DirectoryNotFoundException>(async () => await _store.CreateAsync("lib/x.py", Token));
    }

    [Fact]
    public async Task CreateAsync_Committed_ReplacesContentAtOnce()
    {
        string target = Path.Combine(_root, "main.py");
        await File.WriteAllTextAsync(target, "old", Token);

        await using (var upload = await _store.CreateAsync("main.py", Token))
        {
            await upload.Stream.WriteAsync("new content"u8.ToArray(), Token);
            Assert.Equal("old", await File.ReadAllTextAsync(target, Token));
            await upload.CommitAsync(Token);
        }

        Assert.Equal("new content", await File.ReadAllTextAsync(target, Token));
        Assert.Equal([target], Directory.GetFiles(_root));
    }

    [Fact]
    public async Task CreateAsync_DisposedWithoutCommit_KeepsOldContentAndNoTemporaryFile()
    {
        string target = Path.Combine(_root, "main.py");
        await File.WriteAllTextAsync(target, "old", Token);

        await using (var upload = await _store.CreateAsync("main.py", Token))
        {
            await upload.Stream.WriteAsync("half"u8.ToArray(), Token);
        }

        Assert.Equal("old", await File.ReadAllTextAsync(target, Token));
        Assert.Equal([target], Directory.GetFiles(_root));
    }
}
