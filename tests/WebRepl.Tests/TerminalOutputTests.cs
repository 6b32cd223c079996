using System.Text;
using WebRepl.Tests.Support;

namespace WebRepl.Tests;

public sealed class TerminalOutputTests
{
    [Fact]
    public async Task TryRead_AfterLogin_ReturnsPromptThenNothing()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var client = await server.ConnectAndLoginAsync(cts.Token);

        // What followed "WebREPL connected" in the same frame is kept for the first read.
        Assert.True(client.Output.TryRead(out var prompt));
        Assert.Equal(">>> ", Encoding.ASCII.GetString(prompt.Span));
        Assert.False(client.Output.TryRead(out _));
    }

    [Fact]
    public async Task ReadAllAsync_UntilBoardCloses_YieldsEverythingInOrderThenEnds()
    {
        using var cts = TestTimeout.Start();
        var server = LoopbackServer.Start();
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
        for (int i = 0; i < 100; i++)
        {
            await server.Console.PrintAsync(Encoding.ASCII.GetBytes($"{i};"), cts.Token);
        }

        var all = new List<byte>();
        var reading = Task.Run(
            async () =>
            {
                await foreach (var chunk in client.Output.ReadAllAsync(cts.Token))
                {
                    all.AddRange(chunk.Span.ToArray());
                }
            },
            cts.Token);

        await server.DisposeAsync();
        await reading.WaitAsync(cts.Token);

        Assert.Equal(">>> " + string.Concat(Enumerable.Range(0, 100).Select(i => $"{i};")), Encoding.ASCII.GetString([.. all]));
    }
}
