using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using WebRepl.Gateway.Sessions;
using WebRepl.Gateway.Tests.Support;
using WebRepl.Transport;

namespace WebRepl.Gateway.Tests.Sessions;

/// <summary>
/// Who is in a session: the limits on joining, the opener, who receives the board's output, the session list, and
/// the timer that closes clients that never log in and pings idle ones. Each client is a real WebSocket over a
/// loopback socket pair; the far end reads the raw frames the gateway sends (a server's frames are not masked).
/// </summary>
public sealed class ClientRosterTests
{
    private const byte PingHeader = 0x89;
    private const byte CloseHeader = 0x88;

    /// <summary>A gateway-side client and the raw socket of the peer it talks to.</summary>
    private sealed class Pair : IAsyncDisposable
    {
        private readonly NetworkStream _peerStream;

        private Pair(GatewayClient client, Socket peer)
        {
            Client = client;
            Peer = peer;
            _peerStream = new NetworkStream(peer, ownsSocket: true);
        }

        public GatewayClient Client { get; }

        public Socket Peer { get; }

        public static async Task<Pair> OpenAsync(string remote, CancellationToken cancellationToken, string? origin = null)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            var accepting = listener.AcceptSocketAsync(cancellationToken);
            await peer.ConnectAsync((IPEndPoint)listener.LocalEndpoint, cancellationToken);
            var server = await accepting;
            var connection = WebSocketConnection.CreateServer(new NetworkStream(server, ownsSocket: true));
            return new Pair(new GatewayClient(connection, remote, origin, viewer: false, TimeSpan.FromSeconds(10)), peer);
        }

        /// <summary>Reads one frame as the gateway wrote it: its first byte (FIN and opcode) and its payload.</summary>
        public async Task<(byte Header, byte[] Payload)> ReadFrameAsync(CancellationToken cancellationToken)
        {
            byte[] head = await ReadExactlyAsync(2, cancellationToken);
            Assert.Equal(0, head[1] & 0x80); // a server never masks
            int length = head[1] & 0x7F;
            Assert.True(length <= 125, "a control frame's payload is at most 125 bytes");
            return (head[0], await ReadExactlyAsync(length, cancellationToken));
        }

        private async Task<byte[]> ReadExactlyAsync(int count, CancellationToken cancellationToken)
        {
            byte[] buffer = new byte[count];
            await _peerStream.ReadExactlyAsync(buffer, cancellationToken); // EndOfStreamException if the gateway closed it
            return buffer;
        }

        public async ValueTask DisposeAsync()
        {
            await _peerStream.DisposeAsync();
            await Client.DisposeAsync();
        }
    }

    private static ClientRoster NewRoster(GatewayOptions options, CapturingLoggerFactory? logs = null) =>
        new(new Lock(), options, (logs ?? new CapturingLoggerFactory()).CreateLogger("roster"));

    [Fact]
    public async Task FirstClient_OpensTheSession_LogsIn_OthersJoinAwaitingTheGatewaysPrompt()
    {
        using var cts = TestTimeout.Start();
        await using var a = await Pair.OpenAsync("127.0.0.1:1001", cts.Token);
        await using var b = await Pair.OpenAsync("127.0.0.1:1002", cts.Token);
        var roster = NewRoster(new GatewayOptions());

        Assert.True(roster.TryAdd(a.Client, out var refusal));
        Assert.Null(refusal);
        Assert.True(roster.TryAdd(b.Client, out _));
        Assert.Same(a.Client, roster.Opener);
        Assert.Same(a.Client, roster.PresentOpener);
        Assert.Equal(ClientState.LoggingIn, a.Client.State); // it answers the board itself
        Assert.Equal(ClientState.AwaitingPassword, b.Client.State); // the gateway asks it
        Assert.Equal(2, roster.Count);
        Assert.Equal([a.Client, b.Client], roster.ToArray());

        // The opener leaves: it stays the opener (the login was its), but it is no longer present.
        Assert.True(roster.Remove(a.Client));
        Assert.False(roster.Remove(a.Client));
        Assert.Same(a.Client, roster.Opener);
        Assert.Null(roster.PresentOpener);
        Assert.Equal(1, roster.Count);
    }

    [Fact]
    public async Task Exclusive_SecondClientRefused_WithTheOptionNamed()
    {
        using var cts = TestTimeout.Start();
        await using var a = await Pair.OpenAsync("127.0.0.1:1001", cts.Token);
        await using var b = await Pair.OpenAsync("127.0.0.1:1002", cts.Token);
        var roster = NewRoster(new GatewayOptions { Exclusive = true });

        Assert.True(roster.TryAdd(a.Client, out _));
        Assert.False(roster.TryAdd(b.Client, out var refusal));
        Assert.Contains("--exclusive", refusal, StringComparison.Ordinal);
        Assert.Equal(1, roster.Count);
        Assert.Equal(ClientState.AwaitingPassword, b.Client.State);
    }

    [Fact]
    public async Task MaxClients_OneMoreRefused_WithTheLimitAndTheOptionNamed_APlaceFreedIsTaken()
    {
        using var cts = TestTimeout.Start();
        await using var a = await Pair.OpenAsync("127.0.0.1:1001", cts.Token);
        await using var b = await Pair.OpenAsync("127.0.0.1:1002", cts.Token);
        await using var c = await Pair.OpenAsync("127.0.0.1:1003", cts.Token);
        var roster = NewRoster(new GatewayOptions { MaxClientsPerSession = 2 });

        Assert.True(roster.TryAdd(a.Client, out _));
        Assert.True(roster.TryAdd(b.Client, out _));
        Assert.False(roster.TryAdd(c.Client, out var refusal));
        Assert.Contains("2 clients", refusal, StringComparison.Ordinal);
        Assert.Contains("--max-clients", refusal, StringComparison.Ordinal);

        roster.Remove(b.Client);
        Assert.True(roster.TryAdd(c.Client, out _));
        Assert.Equal([a.Client, c.Client], roster.ToArray());
    }

    [Fact]
    public async Task Receivers_OnlyAuthenticatedClients_FollowTheirStates_ClearedWhenTheSessionCloses()
    {
        using var cts = TestTimeout.Start();
        await using var a = await Pair.OpenAsync("127.0.0.1:1001", cts.Token);
        await using var b = await Pair.OpenAsync("127.0.0.1:1002", cts.Token);
        var roster = NewRoster(new GatewayOptions());
        roster.TryAdd(a.Client, out _);
        roster.TryAdd(b.Client, out _);

        roster.RefreshReceivers();
        Assert.Empty(roster.Receivers); // nobody has logged in: the board's output goes to no one

        a.Client.State = ClientState.Authenticated;
        roster.RefreshReceivers();
        Assert.Equal([a.Client], roster.Receivers);

        b.Client.State = ClientState.Authenticated;
        roster.RefreshReceivers();
        Assert.Equal([a.Client, b.Client], roster.Receivers);

        roster.Remove(a.Client);
        roster.RefreshReceivers();
        Assert.Equal([b.Client], roster.Receivers);

        roster.ClearReceivers();
        Assert.Empty(roster.Receivers);
    }

    [Fact]
    public async Task Describe_EachClientsStateAndAddress_ForTheSessionList()
    {
        using var cts = TestTimeout.Start();
        await using var a = await Pair.OpenAsync("127.0.0.1:1001", cts.Token, origin: "http://localhost:8765");
        await using var b = await Pair.OpenAsync("127.0.0.1:1002", cts.Token);
        await using var c = await Pair.OpenAsync("127.0.0.1:1003", cts.Token);
        var roster = NewRoster(new GatewayOptions());
        roster.TryAdd(a.Client, out _);
        roster.TryAdd(b.Client, out _);
        roster.TryAdd(c.Client, out _);
        c.Client.State = ClientState.Authenticated;

        var described = roster.Describe();
        Assert.Equal(["logging-in", "awaiting-password", "authenticated"], described.Select(d => d.State));
        Assert.Equal(["127.0.0.1:1001", "127.0.0.1:1002", "127.0.0.1:1003"], described.Select(d => d.Remote));
        Assert.Equal("http://localhost:8765", described[0].Origin);
        Assert.Null(described[1].Origin);
        Assert.Equal([a.Client.Id, b.Client.Id, c.Client.Id], described.Select(d => d.Id));
    }

    [Fact]
    public async Task Timer_ClientThatNeverLoggedIn_ClosedOnceWith1008AndWhatToDo_LoggedIn_Kept()
    {
        using var cts = TestTimeout.Start();
        await using var late = await Pair.OpenAsync("127.0.0.1:1001", cts.Token);
        await using var inside = await Pair.OpenAsync("127.0.0.1:1002", cts.Token);
        var logs = new CapturingLoggerFactory();
        var options = new GatewayOptions { LoginTimeout = TimeSpan.FromSeconds(30), ClientKeepAlive = TimeSpan.Zero };
        var roster = NewRoster(options, logs);
        roster.TryAdd(late.Client, out _);
        roster.TryAdd(inside.Client, out _);
        inside.Client.State = ClientState.Authenticated;
        var dropped = new List<GatewayClient>();

        // Before the deadline: nothing happens.
        roster.CheckTimers(late.Client.SinceTick + 29_000, dropped.Add);
        Assert.False(late.Client.LoginExpired);

        // After it: the client that has not logged in is closed, with the reason and what to do; the other stays.
        long after = late.Client.SinceTick + 31_000;
        roster.CheckTimers(after, dropped.Add);
        Assert.True(late.Client.LoginExpired);
        Assert.False(inside.Client.LoginExpired);
        Assert.Empty(dropped); // no send was stalled
        var (header, payload) = await late.ReadFrameAsync(cts.Token);
        Assert.Equal(CloseHeader, header);
        Assert.Equal(CloseReason.PolicyViolation, BinaryPrimitives.ReadUInt16BigEndian(payload));
        Assert.Equal("no login within 30 s: connect again and send the password", Encoding.UTF8.GetString(payload.AsSpan(2)));
        Assert.Contains(logs.Entries, e => e.AllText.Contains("no login within 30 s", StringComparison.Ordinal));

        // A later tick does not close it again (one close frame only), and the logged-in client got nothing.
        roster.CheckTimers(after + 60_000, dropped.Add);
        Assert.Single(logs.Entries, e => e.AllText.Contains("no login within", StringComparison.Ordinal));
        Assert.Equal(0, inside.Peer.Available);
    }

    [Fact]
    public async Task Timer_KeepAlive_PingsAClientIdleForTheInterval_NotOneJustSentTo()
    {
        using var cts = TestTimeout.Start();
        await using var idle = await Pair.OpenAsync("127.0.0.1:1001", cts.Token);
        var options = new GatewayOptions { ClientKeepAlive = TimeSpan.FromSeconds(20), LoginTimeout = TimeSpan.FromHours(1) };
        var roster = NewRoster(options);
        roster.TryAdd(idle.Client, out _);
        idle.Client.State = ClientState.Authenticated;

        Assert.True(await idle.Client.SendAsync("x"u8.ToArray(), WebSocketFrameType.Text));
        Assert.Equal((0x81, "x"), await ReadTextAsync(idle, cts.Token));

        // Within the interval of that send: no ping (the next frame is the next text, not a ping before it).
        roster.CheckTimers(Environment.TickCount64 + 1_000, _ => { });
        Assert.True(await idle.Client.SendAsync("y"u8.ToArray(), WebSocketFrameType.Text));
        Assert.Equal((0x81, "y"), await ReadTextAsync(idle, cts.Token));

        // Well past the interval: a ping, with no payload.
        roster.CheckTimers(Environment.TickCount64 + 25_000, _ => { });
        var (header, payload) = await idle.ReadFrameAsync(cts.Token);
        Assert.Equal(PingHeader, header);
        Assert.Empty(payload);
    }

    private static async Task<(int Header, string Text)> ReadTextAsync(Pair pair, CancellationToken cancellationToken)
    {
        var (header, payload) = await pair.ReadFrameAsync(cancellationToken);
        return (header, Encoding.ASCII.GetString(payload));
    }
}
