using WebRepl.Device;
using WebRepl.Tests.Support;

namespace WebRepl.Tests.Device;

/// <summary>
/// Passwords at the firmware's limit (extmod/modwebrepl.c): <c>webrepl.password()</c> keeps at most 9 bytes and
/// refuses a longer one; at login the board keeps the first 10 bytes typed, so that more than 9 never match. The
/// virtual board (<see cref="WebReplServer"/>) does the same.
/// </summary>
public sealed class LongPasswordTests
{
    private const string Nine = "k7mR2x9qA";

    [Fact]
    public async Task Login_NineCharacterPassword_LogsIn()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start(configure: o => o with { Password = Nine });

        await using var client = await WebReplClient.ConnectAndLoginAsync($"127.0.0.1:{server.EndPoint.Port}", Nine, cancellationToken: cts.Token);

        // Logged in: the session works (a request the server answers only after login).
        await client.GetVersionAsync(cts.Token);
    }

    [Theory]
    [InlineData("k7mR2x9q")]
    [InlineData("k7mR2x9qA0")] // the 10th byte is kept, and makes a mismatch
    [InlineData("k7mR2x9qA0123456789")] // bytes past the 10th are dropped, as the firmware drops them: still a mismatch
    public async Task Login_PrefixOrLonger_IsDenied_WithTheNineCharacterHintWhenLonger(string typed)
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start(configure: o => o with { Password = Nine });

        var error = await Assert.ThrowsAsync<WebReplAuthenticationException>(
            () => WebReplClient.ConnectAndLoginAsync($"127.0.0.1:{server.EndPoint.Port}", typed, cancellationToken: cts.Token));

        Assert.Contains("password", error.Message, StringComparison.Ordinal);
        Assert.Equal(typed.Length > WebReplClient.MaxPasswordLength, error.Message.Contains("a real board's has at most 9", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("k7mR2x9qA0")]
    [InlineData("pässwörd9")] // 9 characters, 11 bytes: the firmware counts bytes
    [InlineData("")]
    public void Server_PasswordOutsideOneToNineBytes_IsRefused(string password)
    {
        var error = Assert.Throws<ArgumentException>(() => new WebReplServer(
            new WebReplServerOptions { Password = password }, new EchoConsole(), new DirectoryFileStore(Path.GetTempPath())));

        Assert.Contains("1 to 9 bytes", error.Message, StringComparison.Ordinal);
    }
}
