using System.Net;
using WebRepl.Device;
using WebRepl.Tests.Support;

namespace WebRepl.Tests.Repl;

/// <summary>
/// Entering the raw REPL on a board whose answer to Ctrl-A is lost or late, as happens when the Ctrl-A lands while
/// an interrupted program unwinds or a program reads its input: the client sends Ctrl-C and Ctrl-A again, and no
/// banner that comes late gets into the code's answer or output.
/// </summary>
public sealed class RawReplTests
{
    // Retries come after min(1 s, a quarter of this).
    private static readonly WebReplClientOptions Replies = new() { ReplyTimeout = TimeSpan.FromSeconds(4) };

    [Fact]
    public async Task ExecAsync_CtrlAAnswered_SendsOneCtrlAAndRunsOnlyTheCode()
    {
        using var cts = TestTimeout.Start();
        var console = new RawReplConsole();
        await using var board = new Board(console);
        await using var client = await board.ConnectAsync(cts.Token);

        Assert.Equal("hello\r\n", await client.ExecAsync("print('hello')", cts.Token));

        Assert.Equal(1, console.CtrlAs);
        Assert.Equal([("print('hello')", true)], console.Programs);
    }

    [Fact]
    public async Task ExecAsync_EntersWithInterruptAndCtrlAInOneMessage()
    {
        using var cts = TestTimeout.Start();
        var console = new RawReplConsole();
        await using var board = new Board(console);
        await using var client = await board.ConnectAsync(cts.Token);

        await client.ExecAsync("print('hello')", cts.Token);

        // One text frame: a gateway sees the Ctrl-A with the Ctrl-C, and nothing can come between them.
        Assert.Equal("\r\u0003\u0003\r\u0001"u8.ToArray(), console.Inputs[0]);
        Assert.Equal(1, console.Inputs.Count(input => input.Contains((byte)0x03)));
    }

    [Fact]
    public async Task ExecAsync_CtrlALost_SendsTheWholeSequenceAgainInOneMessage()
    {
        using var cts = TestTimeout.Start();
        var console = new RawReplConsole(n => n == 1 ? null : TimeSpan.Zero);
        await using var board = new Board(console);
        await using var client = await board.ConnectAsync(cts.Token);

        await client.ExecAsync("print('hello')", cts.Token);

        Assert.Equal(["\r\u0003\u0003\r\u0001"u8.ToArray(), "\r\u0003\u0003\r\u0001"u8.ToArray()], console.Inputs.Take(2));
    }

    [Fact]
    public async Task ExecAsync_FirstCtrlALost_SendsItAgain_ReturnsExactOutput()
    {
        using var cts = TestTimeout.Start();
        var console = new RawReplConsole(n => n == 1 ? null : TimeSpan.Zero);
        await using var board = new Board(console);
        await using var client = await board.ConnectAsync(cts.Token);

        Assert.Equal("hello\r\n", await client.ExecAsync("print('hello')", cts.Token));

        Assert.True(console.CtrlAs >= 2, $"{console.CtrlAs} Ctrl-A sent");
        Assert.Equal(("print('hello')", true), console.Programs[^1]);
        Assert.Equal("again\r\n", await client.ExecAsync("print('again')", cts.Token));
    }

    [Fact]
    public async Task ExecAsync_LateBannerAfterARetry_StaysOutOfTheHandshakeAndTheOutput()
    {
        using var cts = TestTimeout.Start(30);
        // The first Ctrl-A is lost; the next two are answered only after longer than the client waits before it tries
        // again, so it has sent another by the time the first banner comes: that one's banner comes after the client
        // has its prompt, before the answer to what it sends next (raw-paste's R\x01).
        var console = new RawReplConsole(n => n switch
        {
            1 => null,
            2 or 3 => TimeSpan.FromSeconds(1.8),
            _ => TimeSpan.Zero,
        });
        await using var board = new Board(console);
        await using var client = await board.ConnectAsync(cts.Token);

        Assert.Equal("hello\r\n", await client.ExecAsync("print('hello')", cts.Token));

        Assert.True(console.Banners >= 2, $"No late banner came ({console.Banners} banner): the test proves nothing.");
        Assert.Equal(("print('hello')", true), console.Programs[^1]); // through raw-paste: its handshake read no banner
        Assert.Equal("again\r\n", await client.ExecAsync("print('again')", cts.Token));
        Assert.Equal(("print('again')", true), console.Programs[^1]);
    }

    [Fact]
    public async Task ExecAsync_NoBannerEver_ThrowsTimeoutAfterTheReplyTimeout()
    {
        using var cts = TestTimeout.Start();
        var console = new RawReplConsole(_ => null);
        await using var board = new Board(console);
        await using var client = await board.ConnectAsync(cts.Token);
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<WebReplTimeoutException>(() => client.ExecAsync("print('hello')", cts.Token));

        Assert.Contains("the raw REPL prompt", error.Message, StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, Replies.ReplyTimeout - TimeSpan.FromMilliseconds(100), Replies.ReplyTimeout + TimeSpan.FromSeconds(3));
        Assert.True(console.CtrlAs >= 3, $"{console.CtrlAs} Ctrl-A sent in {Replies.ReplyTimeout}");
        Assert.Empty(console.Programs);
    }

    /// <summary>A real <see cref="WebReplServer"/> on 127.0.0.1 with the scripted console.</summary>
    private sealed class Board : IAsyncDisposable
    {
        private readonly string _root = Directory.CreateTempSubdirectory("webrepl-rawrepl-").FullName;
        private readonly WebReplServer _server;

        public Board(RawReplConsole console)
        {
            _server = new WebReplServer(
                new WebReplServerOptions { Password = LoopbackServer.Password, EndPoint = new IPEndPoint(IPAddress.Loopback, 0) },
                console,
                new DirectoryFileStore(_root));
            _server.Start();
        }

        public Task<WebReplClient> ConnectAsync(CancellationToken cancellationToken) =>
            WebReplClient.ConnectAndLoginAsync($"127.0.0.1:{_server.LocalEndPoint.Port}", LoopbackServer.Password, Replies, cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await _server.DisposeAsync();
            Directory.Delete(_root, recursive: true);
        }
    }
}
