using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using WebRepl.Gateway.Hosting;
using WebRepl.Gateway.Tests.Support;

namespace WebRepl.Gateway.Tests;

/// <summary>
/// The gateway's own TCP transport under Kestrel (<see cref="RelayTransportFactory"/>), against real sockets on
/// loopback: bytes whole and in order both ways, a burst taken in large reads, and every way a connection ends
/// (the peer's FIN, the peer's reset, Kestrel's abort, Kestrel finishing its response).
/// </summary>
public sealed class TransportTests
{
    [Fact]
    public async Task Burst_ArrivesWholeAndInOrder_InReadsLargerThanKestrelsOwnFourKiB()
    {
        using var cts = TestTimeout.Start();
        await using var pair = await ConnectedPair.StartAsync(cts.Token);
        byte[] data = RandomBytes(200 * 1024 + 3);
        await pair.Peer.SendAsync(data, SocketFlags.None, cts.Token);

        var received = new List<byte>();
        long largestSegment = 0;
        while (received.Count < data.Length)
        {
            var result = await pair.Connection.Transport.Input.ReadAsync(cts.Token);
            foreach (var segment in result.Buffer)
            {
                largestSegment = Math.Max(largestSegment, segment.Length);
                received.AddRange(segment.ToArray());
            }

            pair.Connection.Transport.Input.AdvanceTo(result.Buffer.End);
        }

        Assert.Equal(data, received);
        // Kestrel's socket transport reads at most 4 KiB per system call; ours takes what the socket holds.
        Assert.True(largestSegment > 4096, $"largest read {largestSegment} bytes");
    }

    [Fact]
    public async Task Output_SentWholeAndInOrder_ThenCompletingItEndsTheConnectionWithFin()
    {
        using var cts = TestTimeout.Start();
        await using var pair = await ConnectedPair.StartAsync(cts.Token);
        byte[] data = RandomBytes(300 * 1024 + 5);
        var output = pair.Connection.Transport.Output;
        for (int offset = 0; offset < data.Length; offset += 7000)
        {
            await output.WriteAsync(data.AsMemory(offset, Math.Min(7000, data.Length - offset)), cts.Token);
        }

        await output.CompleteAsync();

        byte[] received = await ReadToEndAsync(pair.Peer, cts.Token);
        Assert.Equal(data, received);
    }

    [Fact]
    public async Task PeerFinishesSending_InputCompletesAfterTheLastByte_OutputStillWorks()
    {
        using var cts = TestTimeout.Start();
        await using var pair = await ConnectedPair.StartAsync(cts.Token);
        await pair.Peer.SendAsync("request"u8.ToArray(), SocketFlags.None, cts.Token);
        pair.Peer.Shutdown(SocketShutdown.Send);

        var input = pair.Connection.Transport.Input;
        ReadResult result;
        while (!(result = await input.ReadAsync(cts.Token)).IsCompleted)
        {
            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }

        Assert.Equal("request"u8.ToArray(), result.Buffer.ToArray());
        input.AdvanceTo(result.Buffer.End);

        // Half-closed: the answer still reaches the peer.
        await pair.Connection.Transport.Output.WriteAsync("answer"u8.ToArray(), cts.Token);
        await pair.Connection.Transport.Output.CompleteAsync();
        Assert.Equal("answer"u8.ToArray(), await ReadToEndAsync(pair.Peer, cts.Token));
    }

    [Fact]
    public async Task PeerResets_InputFailsWithConnectionReset_ConnectionClosedFires()
    {
        using var cts = TestTimeout.Start();
        await using var pair = await ConnectedPair.StartAsync(cts.Token);
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        pair.Connection.ConnectionClosed.Register(() => closed.SetResult());
        pair.Peer.LingerState = new LingerOption(true, 0); // close with RST
        pair.Peer.Close();

        await Assert.ThrowsAsync<ConnectionResetException>(async () =>
        {
            while (true)
            {
                var result = await pair.Connection.Transport.Input.ReadAsync(cts.Token);
                pair.Connection.Transport.Input.AdvanceTo(result.Buffer.End);
                Assert.False(result.IsCompleted, "a reset must not look like a normal end");
            }
        });
        await closed.Task.WaitAsync(cts.Token);
    }

    [Fact]
    public async Task Abort_EndsTheConnection_PeerSeesItClosed_InputCompletesWithTheReason()
    {
        using var cts = TestTimeout.Start();
        await using var pair = await ConnectedPair.StartAsync(cts.Token);
        var reason = new ConnectionAbortedException("test abort");
        pair.Connection.Abort(reason);

        byte[] rest = await ReadToEndAsync(pair.Peer, cts.Token);
        Assert.Empty(rest);
        var thrown = await Assert.ThrowsAsync<ConnectionAbortedException>(async () => await pair.Connection.Transport.Input.ReadAsync(cts.Token));
        Assert.Same(reason, thrown);
    }

    [Fact]
    public async Task Abort_WhileTheReceiveLoopWaits_InputCompletesWithTheReason_NeverAsANormalEnd()
    {
        // The abort shuts the socket down before it disposes of it: a receive that wakes in between reads 0 bytes,
        // which once completed Kestrel's input as if the peer had finished sending. A race: many connections.
        using var cts = TestTimeout.Start(60);
        var listener = await new RelayTransportFactory(inline: false).BindAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        await using (listener)
        {
            for (int i = 0; i < 200; i++)
            {
                using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await peer.ConnectAsync(listener.EndPoint, cts.Token);
                var connection = await listener.AcceptAsync(cts.Token);
                Assert.NotNull(connection);
                await using (connection)
                {
                    // One byte through first: the receive loop is running and waits for more when the abort comes.
                    await peer.SendAsync(new byte[] { 42 }, SocketFlags.None, cts.Token);
                    var first = await connection.Transport.Input.ReadAsync(cts.Token);
                    connection.Transport.Input.AdvanceTo(first.Buffer.End);

                    var reason = new ConnectionAbortedException($"test abort {i}");
                    connection.Abort(reason);
                    var thrown = await Assert.ThrowsAsync<ConnectionAbortedException>(async () =>
                    {
                        while (true)
                        {
                            var result = await connection.Transport.Input.ReadAsync(cts.Token);
                            connection.Transport.Input.AdvanceTo(result.Buffer.End);
                            Assert.False(result.IsCompleted, $"connection {i}: an abort must not look like the peer's normal end");
                        }
                    });
                    Assert.Same(reason, thrown);
                }
            }
        }
    }

    [Fact]
    public async Task PortInUse_BindFailsWithAddressInUse()
    {
        using var cts = TestTimeout.Start();
        var factory = new RelayTransportFactory(inline: false);
        await using var first = await factory.BindAsync(new IPEndPoint(IPAddress.Loopback, 0), cts.Token);
        await Assert.ThrowsAsync<AddressInUseException>(async () => await factory.BindAsync(first.EndPoint, cts.Token));
    }

    private static byte[] RandomBytes(int length)
    {
        byte[] data = new byte[length];
        new Random(length).NextBytes(data);
        return data;
    }

    /// <summary>Reads until the peer's FIN (or a reset, which ends the stream the same way for this purpose).</summary>
    private static async Task<byte[]> ReadToEndAsync(Socket socket, CancellationToken cancellationToken)
    {
        var received = new MemoryStream();
        byte[] buffer = new byte[64 * 1024];
        while (true)
        {
            int read;
            try
            {
                read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                read = 0;
            }

            if (read == 0)
            {
                return received.ToArray();
            }

            received.Write(buffer, 0, read);
        }
    }

    /// <summary>A listener of the transport, a client socket connected to it and the accepted connection.</summary>
    private sealed class ConnectedPair : IAsyncDisposable
    {
        private readonly IConnectionListener _listener;

        private ConnectedPair(IConnectionListener listener, Socket peer, ConnectionContext connection)
        {
            _listener = listener;
            Peer = peer;
            Connection = connection;
        }

        public Socket Peer { get; }

        public ConnectionContext Connection { get; }

        public static async Task<ConnectedPair> StartAsync(CancellationToken cancellationToken)
        {
            var listener = await new RelayTransportFactory(inline: false).BindAsync(new IPEndPoint(IPAddress.Loopback, 0), cancellationToken);
            var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await peer.ConnectAsync(listener.EndPoint, cancellationToken);
            var connection = await listener.AcceptAsync(cancellationToken);
            Assert.NotNull(connection);
            return new ConnectedPair(listener, peer, connection);
        }

        public async ValueTask DisposeAsync()
        {
            Peer.Dispose();
            await Connection.DisposeAsync();
            await _listener.DisposeAsync();
        }
    }
}
