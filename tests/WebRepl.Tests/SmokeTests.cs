using System.Net;
using WebRepl.Device;

namespace WebRepl.Tests;

public sealed class SmokeTests
{
    [Fact]
    public async Task ConnectLoginEchoPutGet()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        string root = Directory.CreateTempSubdirectory().FullName;
        var console = new EchoConsole();
        await using var server = new WebReplServer(new WebReplServerOptions { Password = "secret", EndPoint = new IPEndPoint(IPAddress.Loopback, 0) }, console, new DirectoryFileStore(root));
        server.Start();
        await using var client = await WebReplClient.ConnectAndLoginAsync($"127.0.0.1:{server.LocalEndPoint.Port}", "secret", cancellationToken: cts.Token);
        var prompt = await client.Output.ReadAsync(cts.Token);
        Assert.Equal(">>> ", System.Text.Encoding.ASCII.GetString(prompt.Span));
        await client.SendInputAsync("hi", cts.Token);
        Assert.Equal("hi", System.Text.Encoding.ASCII.GetString((await client.Output.ReadAsync(cts.Token)).Span));
        byte[] data = new byte[100_000];
        Random.Shared.NextBytes(data);
        await client.PutFileAsync(new MemoryStream(data), "a.bin", cancellationToken: cts.Token);
        var back = new MemoryStream();
        await client.GetFileAsync("a.bin", back, cancellationToken: cts.Token);
        Assert.Equal(data, back.ToArray());
        Assert.Equal(new WebRepl.Protocol.WebReplVersion(1, 24, 1), await client.GetVersionAsync(cts.Token));
    }
}
