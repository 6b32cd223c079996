using System.Net;
using WebRepl.Gateway.Security;
using WebRepl.Gateway.Sessions;
using WebRepl.Transport;

namespace WebRepl.Gateway.Tests;

/// <summary>Unit tests of the policies and close reasons (no network).</summary>
public sealed class PolicyTests
{
    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.8.9.10", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("172.16.0.1", true)]
    [InlineData("172.31.255.255", true)]
    [InlineData("172.32.0.1", false)]
    [InlineData("192.168.2.197", true)]
    [InlineData("169.254.1.1", true)]
    [InlineData("8.8.8.8", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("::1", true)]
    [InlineData("fd00::7", true)]
    [InlineData("fe80::1", true)]
    [InlineData("2001:db8::1", false)]
    [InlineData("::ffff:192.168.1.1", true)]
    [InlineData("::ffff:8.8.8.8", false)]
    public void DefaultTargets_LocalNetworksOnly(string address, bool allowed) =>
        Assert.Equal(allowed, TargetPolicy.Create([]).IsAllowed(IPAddress.Parse(address), 8266));

    [Fact]
    public void AllowList_ReplacesDefault_WithPortsAndPrefixes()
    {
        var policy = TargetPolicy.Create(["192.168.2.0/24", "10.0.0.5:8266", "[fd00::7]:8266"]);
        Assert.True(policy.IsAllowed(IPAddress.Parse("192.168.2.200"), 1));
        Assert.False(policy.IsAllowed(IPAddress.Parse("192.168.3.1"), 8266));
        Assert.False(policy.IsAllowed(IPAddress.Parse("127.0.0.1"), 8266));
        Assert.True(policy.IsAllowed(IPAddress.Parse("10.0.0.5"), 8266));
        Assert.False(policy.IsAllowed(IPAddress.Parse("10.0.0.5"), 8267));
        Assert.True(policy.IsAllowed(IPAddress.Parse("fd00::7"), 8266));
    }

    [Theory]
    [InlineData("192.168.2.0/33")]
    [InlineData("10.0.0.1:99999")]
    [InlineData("http://x")]
    public void AllowList_BadRule_ClearError(string rule) =>
        Assert.Throws<GatewayConfigurationException>(() => TargetPolicy.Create([rule]));

    [Fact]
    public async Task HostNames_EveryResolvedAddressMustBeAllowed()
    {
        var addresses = new Dictionary<string, IPAddress[]>
        {
            ["board.lan"] = [IPAddress.Parse("192.168.2.7")],
            ["mixed.example"] = [IPAddress.Parse("192.168.2.7"), IPAddress.Parse("203.0.113.9")],
        };
        var policy = TargetPolicy.Create([], (name, _) => Task.FromResult(addresses[name]));
        var allowed = await policy.CheckAsync(WebReplTarget.Parse("ws://board.lan:8266"), TestContext.Current.CancellationToken);
        Assert.True(allowed.Allowed);
        Assert.Equal(IPAddress.Parse("192.168.2.7"), allowed.Address);
        var mixed = await policy.CheckAsync(WebReplTarget.Parse("ws://mixed.example:8266"), TestContext.Current.CancellationToken);
        Assert.False(mixed.Allowed);
        Assert.Contains("203.0.113.9", mixed.Reason, StringComparison.Ordinal);

        var byName = TargetPolicy.Create(["mixed.example:8266"], (name, _) => Task.FromResult(addresses[name]));
        Assert.True((await byName.CheckAsync(WebReplTarget.Parse("ws://mixed.example:8266"), TestContext.Current.CancellationToken)).Allowed);
        Assert.False((await byName.CheckAsync(WebReplTarget.Parse("ws://mixed.example:8267"), TestContext.Current.CancellationToken)).Allowed);
    }

    [Fact]
    public void Origins_OwnConfiguredNullAndAny()
    {
        var policy = new OriginPolicy(["https://edrys-labs.github.io"]);
        policy.AddOwn("http", ["localhost", "127.0.0.1"], 8765);
        Assert.True(policy.IsAllowed(null));
        Assert.True(policy.IsAllowed("http://localhost:8765"));
        Assert.True(policy.IsAllowed("HTTPS://Edrys-Labs.GitHub.io"));
        Assert.True(policy.IsAllowed("https://edrys-labs.github.io:443"));
        Assert.False(policy.IsAllowed("http://localhost:8766"));
        Assert.False(policy.IsAllowed("https://evil.example"));
        Assert.False(policy.IsAllowed("null"));
        Assert.True(new OriginPolicy(["null"]).IsAllowed("null"));
        Assert.True(new OriginPolicy(["*"]).IsAllowed("https://anything.example"));
        Assert.Throws<GatewayConfigurationException>(() => new OriginPolicy(["edrys-labs.github.io"]));
    }

    [Fact]
    public void CloseReason_FitsIn123Bytes_AtCharacterBoundary()
    {
        string reason = CloseReason.Fit(new string('é', 100));
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(reason) <= 123);
        Assert.DoesNotContain('\uFFFD', reason);
    }
}
