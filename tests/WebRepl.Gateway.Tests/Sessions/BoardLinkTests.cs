using System.Text;
using WebRepl.Gateway.Sessions;
using WebRepl.Gateway.Tests.Support;
using WebRepl.Transport;

namespace WebRepl.Gateway.Tests.Sessions;

/// <summary>The session's connection to its board, against a scripted board on loopback: framing, turns, reconnecting.</summary>
public sealed class BoardLinkTests
{
    private static async Task<(BoardLink Link, WebSocketConnection Board)> ConnectAsync(ScriptedPeer peer, CancellationToken cancellationToken)
    {
        var link = new BoardLink(WebReplTarget.Parse(peer.Url), null, new GatewayOptions(), cancellationToken);
        var accept = peer.AcceptAsync(cancellationToken);
        var first = link.ConnectAsync(() => { }, () => false);
        var board = await accept;
        await board.SendAsync("Password: "u8.ToArray(), WebSocketFrameType.Text, true, cancellationToken);
        Assert.Equal("Password: ", Encoding.ASCII.GetString((await first).Payload.Span));
        Assert.True(link.IsConnected);
        return (link, board);
    }

    [Fact]
    public async Task LargePayload_WrittenAsFramesOf65535AtMost_BytesCounted()
    {
        using var cts = TestTimeout.Start();
        await using var peer = new ScriptedPeer();
        var (link, board) = await ConnectAsync(peer, cts.Token);
        await using var _ = board;
        byte[] big = new byte[70000];
        big[^1] = 7;
        Assert.True(await link.WriteAsync(this, big, WebSocketFrameType.Binary, true));

        var first = await board.ReceiveAsync(cts.Token);
        Assert.Equal(BoardLink.MaxFrame, first.Payload.Length);
        Assert.False(first.EndOfMessage);
        var second = await board.ReceiveAsync(cts.Token);
        Assert.Equal(70000 - BoardLink.MaxFrame, second.Payload.Length);
        Assert.True(second.EndOfMessage);
        Assert.Equal(7, second.Payload.Span[^1]);
        Assert.Equal(70000, link.BytesOut);
        Assert.Equal("Password: ".Length, link.BytesIn);
        await link.DisposeAsync();
    }

    [Fact]
    public async Task FragmentedMessage_KeepsTheBoardToItsWriter_UntilItsLastFrame()
    {
        using var cts = TestTimeout.Start();
        await using var peer = new ScriptedPeer();
        var (link, board) = await ConnectAsync(peer, cts.Token);
        await using var _ = board;
        object a = new();
        object b = new();
        Assert.True(await link.WriteAsync(a, "x"u8.ToArray(), WebSocketFrameType.Text, false));
        Assert.Same(a, link.MidMessage);
        var other = link.WriteAsync(b, "y"u8.ToArray(), WebSocketFrameType.Text, true);
        Assert.False(other.IsCompleted); // it waits for a's message to end
        Assert.True(await link.WriteAsync(a, "z"u8.ToArray(), WebSocketFrameType.Text, true));
        Assert.True(await other);
        Assert.Null(link.MidMessage);

        var frames = new List<(string, bool)>();
        for (int i = 0; i < 3; i++)
        {
            var frame = await board.ReceiveAsync(cts.Token);
            frames.Add((Encoding.ASCII.GetString(frame.Payload.Span), frame.EndOfMessage));
        }

        Assert.Equal([("x", false), ("z", true), ("y", true)], frames);
        await link.DisposeAsync();
    }

    [Fact]
    public async Task BoardDropsTheFirstConnection_WhileTheLastSessionLetsGo_ConnectsAgain()
    {
        using var cts = TestTimeout.Start();
        await using var peer = new ScriptedPeer();
        var link = new BoardLink(WebReplTarget.Parse(peer.Url), null, new GatewayOptions(), cts.Token);
        int connected = 0;
        var first = link.ConnectAsync(() => connected++, () => true);
        var refused = await peer.AcceptAsync(cts.Token);
        await refused.DisposeAsync(); // handshakes, then closes: the board still holds the last session's connection
        await using var board = await peer.AcceptAsync(cts.Token);
        await board.SendAsync("Password: "u8.ToArray(), WebSocketFrameType.Text, true, cts.Token);
        Assert.Equal(WebSocketFrameType.Text, (await first).Type);
        Assert.Equal(2, peer.Accepted);
        Assert.Equal(2, connected);
        await link.DisposeAsync();
    }
}
