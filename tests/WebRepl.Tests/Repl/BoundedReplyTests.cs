using System.Net;
using WebRepl.Device;
using WebRepl.Tests.Support;

namespace WebRepl.Tests.Repl;

/// <summary>What the client reads from a board is bounded: a board that talks without end gets an error, not this computer's memory.</summary>
public sealed class BoundedReplyTests
{
    [Fact]
    public async Task LoginAsync_BoardTalksWithoutAPrompt_StopsWithAnError()
    {
        using var cts = TestTimeout.Start(30);
        string chunk = new('x', 8192);
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            while (!token.IsCancellationRequested)
            {
                await peer.SendTextAsync("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", token);
            }
        });

        var error = await Assert.ThrowsAsync<WebReplProtocolException>(
            () => WebReplClient.ConnectAndLoginAsync(board.Target, "pw", cancellationToken: cts.Token));

        Assert.Contains("without a password prompt", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecAsync_OutputPastTheLimit_StopsWithAnErrorAndTheClientIsStillUsable()
    {
        using var cts = TestTimeout.Start(30);
        string root = Directory.CreateTempSubdirectory("webrepl-bounded-").FullName;
        await using var server = new WebReplServer(
            new WebReplServerOptions { Password = LoopbackServer.Password, EndPoint = new IPEndPoint(IPAddress.Loopback, 0) },
            new RawReplConsole(),
            new DirectoryFileStore(root));
        server.Start();
        await using var client = await WebReplClient.ConnectAndLoginAsync(
            $"127.0.0.1:{server.LocalEndPoint.Port}", LoopbackServer.Password, new WebReplClientOptions { MaxOperationReplyBytes = 100 }, cts.Token);

        var error = await Assert.ThrowsAsync<WebReplProtocolException>(
            () => client.ExecAsync(string.Concat(Enumerable.Repeat("print('0123456789')\n", 20)), cts.Token));

        Assert.Contains("more than 100 bytes of output", error.Message, StringComparison.Ordinal);
        Assert.Equal("ok\r\n", await client.ExecAsync("print('ok')", cts.Token));
        Directory.Delete(root, recursive: true);
    }
}
