using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Primitives;
using WebRepl.Gateway.Security;
using WebRepl.Gateway.Tests.Support;

namespace WebRepl.Gateway.Tests;

/// <summary>Pings to idle clients (never to boards), and whose X-Forwarded-For counts for the lockout.</summary>
public sealed class KeepAliveTests
{
    [Fact]
    public async Task ClientKeepAlive_IdleSession_ClientPingedBoardNot()
    {
        using var cts = TestTimeout.Start(30);
        using var boardListener = new TcpListener(IPAddress.Loopback, 0);
        boardListener.Start();
        await using var gateway = await TestGateway.StartAsync(o => o with { ClientKeepAlive = TimeSpan.FromMilliseconds(200) }, cts.Token);

        // Raw sockets on both ends, so that every frame the gateway writes is seen (our WebSocketConnection
        // answers pings and hides them).
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, gateway.Port, cts.Token);
        var clientStream = client.GetStream();
        string key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        await clientStream.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET /ws://127.0.0.1:{((IPEndPoint)boardListener.LocalEndpoint).Port} HTTP/1.1\r\nHost: 127.0.0.1:{gateway.Port}\r\n" +
            $"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"), cts.Token);
        using var board = await boardListener.AcceptSocketAsync(cts.Token);
        var boardStream = new NetworkStream(board);
        string request = await ReadHeadAsync(boardStream, cts.Token);
        string boardKey = request.Split("\r\n").First(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))[18..].Trim();
#pragma warning disable CA5350 // RFC 6455's accept value is SHA-1 by definition.
        string accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(boardKey + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
#pragma warning restore CA5350
        await boardStream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"), cts.Token);
        Assert.Contains("101", await ReadHeadAsync(clientStream, cts.Token), StringComparison.Ordinal);

        // The board says nothing and the client types nothing: the client gets pings (FIN + opcode 9, no mask).
        byte[] header = new byte[2];
        for (int ping = 0; ping < 3; ping++)
        {
            await clientStream.ReadExactlyAsync(header, cts.Token);
            Assert.Equal(0x89, header[0]);
            await clientStream.ReadExactlyAsync(new byte[header[1] & 0x7f], cts.Token);
        }

        // Meanwhile not one byte went to the board.
        Assert.Equal(0, board.Available);
        Assert.Single(gateway.Gateway.Sessions);
    }

    [Fact]
    public void ProxyTrust_NoProxiesConfigured_HeaderIgnored()
    {
        var trust = ProxyTrust.Create([]);
        Assert.Equal(IPAddress.Loopback, trust.ClientOf(IPAddress.Loopback, new StringValues("192.0.2.1")));
    }

    [Fact]
    public void ProxyTrust_FromTrustedProxy_RightmostUntrustedAddress()
    {
        var trust = ProxyTrust.Create(["127.0.0.1", "10.0.0.0/8"]);
        // client-made-up, real client, a second proxy (trusted): the real client counts.
        Assert.Equal(IPAddress.Parse("192.0.2.7"), trust.ClientOf(IPAddress.Loopback, new StringValues("203.0.113.9, 192.0.2.7, 10.1.2.3")));
        Assert.Equal(IPAddress.Parse("2001:db8::1"), trust.ClientOf(IPAddress.Loopback, new StringValues(["[2001:db8::1]:4711"])));
        Assert.Equal(IPAddress.Parse("192.0.2.7"), trust.ClientOf(IPAddress.Loopback.MapToIPv6(), new StringValues(["203.0.113.9", "192.0.2.7:1234"])));
        // Not from a proxy: the header is the client's own word.
        Assert.Equal(IPAddress.Parse("192.0.2.50"), trust.ClientOf(IPAddress.Parse("192.0.2.50"), new StringValues("192.0.2.1")));
        // No header, or garbage: the proxy's own address (never an address nobody vouched for).
        Assert.Equal(IPAddress.Loopback, trust.ClientOf(IPAddress.Loopback, StringValues.Empty));
        Assert.Equal(IPAddress.Loopback, trust.ClientOf(IPAddress.Loopback, new StringValues("unknown")));
        Assert.Throws<GatewayConfigurationException>(() => ProxyTrust.Create(["nginx.local"]));
    }

    private static async Task<string> ReadHeadAsync(Stream stream, CancellationToken cancellationToken)
    {
        var head = new List<byte>();
        byte[] one = new byte[1];
        while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await stream.ReadAsync(one, cancellationToken) == 0)
            {
                throw new IOException("Closed during the handshake.");
            }

            head.Add(one[0]);
        }

        return Encoding.ASCII.GetString([.. head]);
    }
}
