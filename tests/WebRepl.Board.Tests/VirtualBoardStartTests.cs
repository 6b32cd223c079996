using System.Net;
using System.Net.Sockets;

namespace WebRepl.Board.Tests;

/// <summary>Starting a board: the clear errors a user meets, and what it reports.</summary>
public sealed class VirtualBoardStartTests
{
    private readonly CancellationToken _token = new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token;

    [Fact]
    public async Task StartAsync_NodeMissing_SaysToInstallNode()
    {
        var error = await Assert.ThrowsAsync<VirtualBoardException>(() =>
            TestBoards.StartAsync(options: new VirtualBoardOptions { NodePath = "/nonexistent/node" }, cancellationToken: _token));

        Assert.Contains("Node.js was not found", error.Message, StringComparison.Ordinal);
        Assert.Contains("--node", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_NodeTooOld_SaysWhichVersionIsNeeded()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "uses a shell script as a stand-in node");
        // A stand-in "node" that reports an old version: the check must read it, not assume.
        string folder = Directory.CreateTempSubdirectory("webrepl-oldnode-").FullName;
        string fake = Path.Combine(folder, "node");
        await File.WriteAllTextAsync(fake, "#!/bin/sh\necho v18.19.0\n", _token);
#pragma warning disable CA1416 // skipped on Windows above
        File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
#pragma warning restore CA1416

        var error = await Assert.ThrowsAsync<VirtualBoardException>(() =>
            TestBoards.StartAsync(options: new VirtualBoardOptions { NodePath = fake }, cancellationToken: _token));

        Assert.Contains("v18.19.0 is too old", error.Message, StringComparison.Ordinal);
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task StartAsync_PortInUse_SaysToChooseAnother()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        int port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        string root = TestBoards.NewRoot();

        var error = await Assert.ThrowsAsync<VirtualBoardException>(() => VirtualBoard.StartAsync(
            new VirtualBoardOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, port), Password = TestBoards.Password, Root = root }, _token));

        Assert.Contains($"Port {port}", error.Message, StringComparison.Ordinal);
        Assert.Contains("in use", error.Message, StringComparison.Ordinal);
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public async Task StartAsync_FolderNotWritable_SaysToChooseAnother()
    {
        // A folder cannot be made below a file (root can write anywhere, so permissions would not show it).
        string file = Path.GetTempFileName();

        var error = await Assert.ThrowsAsync<VirtualBoardException>(() =>
            VirtualBoard.StartAsync(new VirtualBoardOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), Root = Path.Combine(file, "board") }, _token));

        Assert.Contains("not writable", error.Message, StringComparison.Ordinal);
        Assert.Contains("--root", error.Message, StringComparison.Ordinal);
        File.Delete(file);
    }

    [Fact]
    public async Task StartAsync_NoPassword_GeneratesOneThatLogsIn()
    {
        string root = TestBoards.NewRoot();
        await using (var board = await VirtualBoard.StartAsync(new VirtualBoardOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), Root = root }, _token))
        {
            Assert.True(board.PasswordGenerated);
            Assert.Equal(9, board.Password.Length);
            await using var client = await WebReplClient.ConnectAndLoginAsync($"127.0.0.1:{board.EndPoint.Port}", board.Password, cancellationToken: _token);
            Assert.Equal(board.Root, root);
        }

        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public async Task StartAsync_PasswordLongerThanTheFirmwareKeeps_IsRefused()
    {
        // extmod/modwebrepl.c: webrepl.password() refuses more than 9 bytes.
        var error = await Assert.ThrowsAsync<VirtualBoardException>(() =>
            VirtualBoard.StartAsync(new VirtualBoardOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), Password = "0123456789", Root = TestBoards.NewRoot() }, _token));

        Assert.Contains("1 to 9 characters", error.Message, StringComparison.Ordinal);
    }
}
