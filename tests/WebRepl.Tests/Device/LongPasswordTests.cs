using WebRepl.Tests.Support;

namespace WebRepl.Tests.Device;

/// <summary>
/// Passwords longer than a real board's 9 characters, for the virtual board (which generates 12): the server takes
/// them whole, the client sends them, and nothing shorter or longer logs in.
/// </summary>
public sealed class LongPasswordTests
{
    private const string Twelve = "k7m2x9qa4fhp";

    [Fact]
    public async Task Login_TwelveCharacterPassword_LogsIn()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start(configure: o => o with { Password = Twelve });

        await using var client = await WebReplClient.ConnectAndLoginAsync($"127.0.0.1:{server.EndPoint.Port}", Twelve, cancellationToken: cts.Token);

        // Logged in: the session works (a request the server answers only after login).
        await client.GetVersionAsync(cts.Token);
    }

    [Theory]
    [InlineData("k7m2x9qa4")]
    [InlineData("k7m2x9qa4f")]
    [InlineData("k7m2x9qa4fhpX")]
    public async Task Login_TwelveCharacterPasswordPrefixOrLonger_IsDeniedWithTheNineCharacterHint(string typed)
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start(configure: o => o with { Password = Twelve });

        var error = await Assert.ThrowsAsync<WebReplAuthenticationException>(
            () => WebReplClient.ConnectAndLoginAsync($"127.0.0.1:{server.EndPoint.Port}", typed, cancellationToken: cts.Token));

        Assert.Contains("password", error.Message, StringComparison.Ordinal);
        Assert.Equal(typed.Length > WebReplClient.MaxPasswordLength, error.Message.Contains("a real board's has at most 9", StringComparison.Ordinal));
    }
}
