using System.Net;

namespace WebRepl.Gateway.Tests;

/// <summary>The JSON settings file and the listen address.</summary>
public sealed class ConfigFileTests
{
    [Fact]
    public void Load_ReadsEverySetting_PathsRelativeToTheFile()
    {
        string folder = Directory.CreateTempSubdirectory("webrepl-gateway-config-").FullName;
        try
        {
            string path = Path.Combine(folder, "gateway.json");
            File.WriteAllText(path, """
                {
                  "Gateway": {
                    "Port": 9000, "Bind": "::1",
                    "Boards": { "lab1": "ws://192.168.2.197:8266", "lab2": "192.168.2.198" },
                    "AllowTargets": [ "192.168.2.0/24" ],
                    "AllowOrigins": [ "https://edrys-labs.github.io" ],
                    "Exclusive": true,
                    "Tls": { "Cert": "c.pem", "Key": "k.pem" },
                    "TargetCertFingerprints": [ "0B:2A:9D:02:5F:3C:E8:6F:88:ED:D0:30:47:4F:9D:A6:56:48:B3:8F:CA:CF:80:27:BB:97:1E:03:EA:3D:00:3F" ],
                    "MaxSessions": 5, "MaxClients": 3, "MaxMessageBytes": 65536, "IdleTimeoutSeconds": 60,
                    "ReadAhead": false, "LoginFailureLimit": 0,
                    "ClientKeepAliveSeconds": 7.5, "TrustedProxies": [ "127.0.0.1", "10.0.0.0/8" ]
                  }
                }
                """);
            var file = GatewayConfigFile.Load(path);
            Assert.Equal(9000, file.Port);
            Assert.Equal("::1", file.Bind);
            Assert.Equal("ws://192.168.2.197:8266", file.Boards["lab1"]);
            Assert.Equal("192.168.2.198", file.Boards["lab2"]);
            Assert.Equal(["192.168.2.0/24"], file.AllowTargets);
            Assert.Equal(["https://edrys-labs.github.io"], file.AllowOrigins);
            Assert.True(file.Exclusive);
            Assert.Equal(Path.Combine(folder, "c.pem"), file.Tls!.CertificatePath);
            Assert.Equal(Path.Combine(folder, "k.pem"), file.Tls.KeyPath);
            Assert.Equal((5, 3, 65536, 60.0), (file.MaxSessions, file.MaxClients, file.MaxMessageBytes, file.IdleTimeoutSeconds));
            Assert.Equal((false, 0), (file.ReadAhead, file.LoginFailureLimit));
            Assert.Equal(7.5, file.ClientKeepAliveSeconds);
            Assert.Equal(["127.0.0.1", "10.0.0.0/8"], file.TrustedProxies);
            Assert.Equal(["0B:2A:9D:02:5F:3C:E8:6F:88:ED:D0:30:47:4F:9D:A6:56:48:B3:8F:CA:CF:80:27:BB:97:1E:03:EA:3D:00:3F"], file.TargetCertFingerprints);

            File.WriteAllText(path, """{ "Gateway": { "Port": "eighty" } }""");
            Assert.Contains("Gateway:Port", Assert.Throws<GatewayConfigurationException>(() => GatewayConfigFile.Load(path)).Message, StringComparison.Ordinal);
            File.WriteAllText(path, """{ "Gateway": { "ClientKeepAliveSeconds": -1 } }""");
            Assert.Contains("Gateway:ClientKeepAliveSeconds", Assert.Throws<GatewayConfigurationException>(() => GatewayConfigFile.Load(path)).Message, StringComparison.Ordinal);
            File.WriteAllText(path, """{ "Gateway": { "TargetCertFingerprints": [ "0B:2A" ] } }""");
            Assert.Contains("Gateway:TargetCertFingerprints", Assert.Throws<GatewayConfigurationException>(() => GatewayConfigFile.Load(path)).Message, StringComparison.Ordinal);
            File.WriteAllText(path, "{ not json");
            Assert.Throws<GatewayConfigurationException>(() => GatewayConfigFile.Load(path));
            Assert.Throws<GatewayConfigurationException>(() => GatewayConfigFile.Load(Path.Combine(folder, "missing.json")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void ParseListen_AddressesAndLocalhost()
    {
        Assert.Equal([new IPEndPoint(IPAddress.Loopback, 8765)], GatewayConfigFile.ParseListen("127.0.0.1", 8765));
        Assert.Equal([new IPEndPoint(IPAddress.Loopback, 8765), new IPEndPoint(IPAddress.IPv6Loopback, 8765)], GatewayConfigFile.ParseListen("localhost", 8765));
        Assert.Equal([new IPEndPoint(IPAddress.IPv6Loopback, 1)], GatewayConfigFile.ParseListen("[::1]", 1));
        Assert.Throws<GatewayConfigurationException>(() => GatewayConfigFile.ParseListen("example.org", 1));
    }

    [Fact]
    public async Task Start_BadNamedBoardOrRule_ClearError()
    {
        var listen = new[] { new IPEndPoint(IPAddress.Loopback, 0) };
        await Assert.ThrowsAsync<GatewayConfigurationException>(() => WebReplGateway.StartAsync(
            new GatewayOptions { Listen = listen, Boards = new Dictionary<string, string> { ["a"] = "http://x" } }, TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<GatewayConfigurationException>(() => WebReplGateway.StartAsync(
            new GatewayOptions { Listen = listen, AllowedOrigins = ["edrys-labs.github.io"] }, TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<GatewayConfigurationException>(() => WebReplGateway.StartAsync(
            new GatewayOptions { Listen = listen, Tls = new GatewayTlsOptions { CertificatePath = "only-cert.pem" } }, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Start_PortInUse_ClearError()
    {
        var blocker = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        try
        {
            int port = ((IPEndPoint)blocker.LocalEndpoint).Port;
            var error = await Assert.ThrowsAsync<GatewayStartException>(() => WebReplGateway.StartAsync(
                new GatewayOptions { Listen = [new IPEndPoint(IPAddress.Loopback, port)] }, TestContext.Current.CancellationToken));
            Assert.Contains("in use", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            blocker.Stop();
            blocker.Dispose();
        }
    }
}
