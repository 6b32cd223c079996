using System.Text;
using WebRepl.Gateway.Tests.Support;
using WebRepl.Transport;

namespace WebRepl.Gateway.Tests;

/// <summary>Many sessions at once.</summary>
public sealed class ScaleTests
{
    [Fact]
    public async Task TwoHundredSessions_ToTwoHundredBoards_AllWork()
    {
        const int Count = 200;
        using var cts = TestTimeout.Start(90);
        var boards = Enumerable.Range(0, Count).Select(_ => TestBoard.Start()).ToArray();
        var clients = new WebSocketConnection[Count];
        try
        {
            await using var gateway = await TestGateway.StartAsync(o => o with { MaxSessions = Count }, cts.Token);
            await Parallel.ForEachAsync(Enumerable.Range(0, Count), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cts.Token }, async (i, token) =>
            {
                clients[i] = await RawClient.LoginAsync(gateway.Forward(boards[i].Url), token);
            });
            Assert.Equal(Count, gateway.Gateway.Sessions.Count);

            // Every session at once: each board echoes what its own client typed, and only that.
            await Task.WhenAll(clients.Select(async (client, i) =>
            {
                await client.SendAsync(Encoding.ASCII.GetBytes($"board{i};"), WebSocketFrameType.Text, true, cts.Token);
                Assert.Equal($"board{i};", Encoding.ASCII.GetString(await client.ReadTextUntilAsync(";", cts.Token)));
            }));
            Assert.All(boards, b => Assert.True(b.Server.HasSession));

            await Task.WhenAll(clients.Select(c => c.CloseAsync(1000, "done", cts.Token).AsTask()));
            while (gateway.Gateway.Sessions.Count > 0)
            {
                await Task.Delay(20, cts.Token);
            }
        }
        finally
        {
            foreach (var client in clients.Where(c => c is not null))
            {
                await client.DisposeAsync();
            }

            foreach (var board in boards)
            {
                await board.DisposeAsync();
            }
        }
    }
}
