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

    [Theory]
    [InlineData(null)]
    [InlineData("kestrel")]
    public async Task GatewayProcess_TunedForRelaying_PutAndGetFromTwoClientsUnchanged(string? transport)
    {
        // `webrepl gateway` runs socket and Kestrel continuations on the polling threads, reads clients' sockets with
        // its own transport (or Kestrel's, when told) and holds a fast PUT's data for the board: a file put by one
        // client and fetched by another through such a process, byte for byte.
        using var cts = TestTimeout.Start(60);
        await using var board = TestBoard.Start();
        await using var process = await GatewayProcess.StartAsync(
            ["--port", "0"], cts.Token, transport is null ? null : new Dictionary<string, string> { [WebReplGateway.TransportVariable] = transport });
        string target = $"{process.Url}/{board.Url}";
        byte[] data = System.Security.Cryptography.RandomNumberGenerator.GetBytes((1 << 20) + 123);

        await using var client = await WebReplClient.ConnectAndLoginAsync(target, TestBoard.Password, cancellationToken: cts.Token);
        await using var second = await WebReplClient.ConnectAndLoginAsync(target, TestBoard.Password, cancellationToken: cts.Token);
        await client.PutFileAsync(new MemoryStream(data), "big.bin", cancellationToken: cts.Token);
        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(board.Root, "big.bin"), cts.Token));
        var back = new MemoryStream();
        await second.GetFileAsync("big.bin", back, cancellationToken: cts.Token);
        Assert.Equal(data, back.ToArray());
        Assert.Equal(new Protocol.WebReplVersion(1, 24, 1), await client.GetVersionAsync(cts.Token));
    }

    [Fact]
    public async Task WebreplGateway_VirtualBoard_OneLogLinePerLogin_NoneWithTheGatewaysOwnPort()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Signals are sent with kill(2) on Linux.");
        using var cts = TestTimeout.Start(120);
        await using var process = await GatewayProcess.StartAsync(["--port", "0", "--virtual-board", "-p", "pyth0n"], cts.Token);

        await using (var client = await WebReplClient.ConnectAndLoginAsync($"{process.Url}/boards/virtual", "pyth0n", cancellationToken: cts.Token))
        {
            await client.GetVersionAsync(cts.Token);
        }

        Assert.Equal(0, process.Signal(15));
        await process.Process.WaitForExitAsync(cts.Token);

        // The gateway's own line names the client; the virtual board's ("Client 127.0.0.1:PORT logged in") named the
        // gateway's side of the board connection, a port no client had.
        string log = process.Stderr;
        Assert.Single(log.Split('\n'), line => line.Contains("Logged in to", StringComparison.Ordinal));
        Assert.DoesNotContain(" logged in", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WebreplGateway_PortInUse_OneLine_ExitCode8()
    {
        using var cts = TestTimeout.Start(60);
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        int port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;

        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dotnet", [GatewayProcess.FindCli(), "gateway", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        string stderr = await process.StandardError.ReadToEndAsync(cts.Token);
        await process.WaitForExitAsync(cts.Token);

        Assert.Equal(8, process.ExitCode);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal($"webrepl: Port {port} on 127.0.0.1 is in use (another gateway or the Python proxy?). Choose another with --port, or 0 for any free port.", Assert.Single(lines, l => l.StartsWith("webrepl:", StringComparison.Ordinal)));
        Assert.DoesNotContain("Hosting failed to start", stderr, StringComparison.Ordinal);
    }
}
