using System.Net.Http;
using WebRepl.Gateway.Tests.Support;

namespace WebRepl.Gateway.Tests;

/// <summary><c>webrepl gateway</c> as a user runs it: a separate process, its banner, forwarding, and a clean stop on a signal.</summary>
public sealed class CommandTests
{
    [Fact]
    public async Task WebreplGateway_PrintsBanner_Forwards_StopsCleanlyOnSigterm()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Signals are sent with kill(2) on Linux.");
        using var cts = TestTimeout.Start(60);
        await using var board = TestBoard.Start();
        await using var process = await GatewayProcess.StartAsync(["--port", "0", "--board", $"lab={board.Url}", "--allow-origin", "https://edrys-labs.github.io"], cts.Token);

        string text = process.Banner;
        Assert.Contains("WebREPL gateway ready", text, StringComparison.Ordinal);
        Assert.Contains($"/boards/lab  ->  {board.Url}/", text, StringComparison.Ordinal);
        Assert.Contains("https://edrys-labs.github.io", text, StringComparison.Ordinal);
        string url = process.Url;

        await using (var client = await WebReplClient.ConnectAndLoginAsync($"{url}/boards/lab", TestBoard.Password, cancellationToken: cts.Token))
        {
            Assert.Equal(new Protocol.WebReplVersion(1, 24, 1), await client.GetVersionAsync(cts.Token));
            using var http = new HttpClient();
            Assert.Contains("\"sessions\":1", await http.GetStringAsync(new Uri(url.Replace("ws://", "http://", StringComparison.Ordinal) + "/healthz"), cts.Token), StringComparison.Ordinal);

            Assert.Equal(0, process.Signal(15));
            await process.Process.WaitForExitAsync(cts.Token);
            Assert.Equal(0, process.Process.ExitCode);
            // The session was closed with a reason before the process ended.
            await client.Completion.WaitAsync(cts.Token);
            Assert.Contains("the gateway is stopping", client.CloseDescription, StringComparison.Ordinal);
        }

        Assert.Contains("Stopping the gateway", process.Stderr, StringComparison.Ordinal);
    }
}
