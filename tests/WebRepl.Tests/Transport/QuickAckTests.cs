using System.Diagnostics;
using WebRepl.Tests.Support;

namespace WebRepl.Tests.Transport;

/// <summary>
/// A server with firmware timing writes each frame's header and payload apart with Nagle on; a client that
/// delays its ACKs waits about 40 ms per frame (docs/protocol.md, "Transport"). Immediate ACKs remove that wait.
/// </summary>
public sealed class QuickAckTests
{
    private const int RoundTrips = 50;

    [Fact]
    public void IsSupported_OnLinux_IsTrue()
    {
        Assert.Equal(OperatingSystem.IsLinux(), WebRepl.Transport.QuickAck.IsSupported);
    }

    [Fact]
    public async Task Echo_ImmediateAckAgainstFirmwareTiming_DoesNotWaitForDelayedAcks()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "TCP_QUICKACK exists on Linux only.");
        using var cts = TestTimeout.Start(30);
        await using var server = LoopbackServer.Start(configure: o => o with { FirmwareTiming = true });
        await using var client = await server.ConnectAndLoginAsync(cts.Token, new WebReplClientOptions { ImmediateAck = true });
        await WebReplClientTests.ReadOutputAsync(client, 4, cts.Token);

        var elapsed = await MeasureEchoesAsync(client, cts.Token);

        // With delayed ACKs this takes about RoundTrips * 40 ms = 2 s; with immediate ACKs a few ms. Half
        // of the delayed cost leaves room for a loaded machine.
        Assert.True(elapsed < TimeSpan.FromMilliseconds(RoundTrips * 20), $"{RoundTrips} echoes took {elapsed.TotalMilliseconds:0} ms");
    }

    internal static async Task<TimeSpan> MeasureEchoesAsync(WebReplClient client, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < RoundTrips; i++)
        {
            await client.SendInputAsync("k", cancellationToken);
            await WebReplClientTests.ReadOutputAsync(client, 1, cancellationToken);
        }

        return clock.Elapsed;
    }
}
