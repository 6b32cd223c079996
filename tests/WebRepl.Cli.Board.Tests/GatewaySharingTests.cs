using System.Net;
using WebRepl.Gateway;
using WebRepl.Transport;

namespace WebRepl.Cli.Board.Tests;

/// <summary>Two clients share the real MicroPython through the gateway: one runs code while the other types.</summary>
public sealed class GatewaySharingTests(BoardFixture board) : IClassFixture<BoardFixture>
{
    [Fact]
    public async Task ExecThroughGateway_WhileAnotherClientTypes_OutputExact_TypingArrivesAfter()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var gateway = await WebReplGateway.StartAsync(
            new GatewayOptions { Listen = [new IPEndPoint(IPAddress.Loopback, 0)] }, cts.Token);
        string url = $"{gateway.WebSocketUrls[0]}/ws://{board.Target}";
        await using var runner = await WebReplClient.ConnectAndLoginAsync(url, BoardFixture.Password, cancellationToken: cts.Token);
        await using var typist = await WebReplClient.ConnectAndLoginAsync(url, BoardFixture.Password, cancellationToken: cts.Token);

        using var stopTyping = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var typing = Task.Run(async () =>
        {
            // Keys a person types into the shared terminal while the other client's programs run.
            for (int i = 0; !stopTyping.IsCancellationRequested; i++)
            {
                await typist.SendInputAsync($"typed_{i % 10} = {i}\r", cts.Token);
                await Task.Delay(1, cts.Token);
            }
        }, cts.Token);

        // Long enough (about 2 KB) to take several raw-paste windows, so the other client's keys have time to land.
        string program = "total = 0\n" + string.Concat(Enumerable.Range(0, 60).Select(n => $"# padding line {n:00} so that the code takes a while to send\n")) +
            "for i in range(40):\n    total += i * i\n    print(i, total)\n";
        string expected = string.Concat(Enumerable.Range(0, 40).Select(i => $"{i} {Enumerable.Range(0, i + 1).Sum(k => k * k)}\r\n"));
        for (int run = 0; run < 10; run++)
        {
            Assert.Equal(expected, await runner.ExecAsync(program, cts.Token));
        }

        await stopTyping.CancelAsync();
        await typing.ContinueWith(_ => { }, TaskScheduler.Default);

        // What the typist typed was held, not lost: it ran in the friendly REPL once the programs were done.
        Assert.Equal("9", (await runner.EvalAsync("typed_9 % 10", cts.Token)).Trim());
    }
}
