using WebRepl.Transport;

namespace WebRepl.Tests.Transport;

public sealed class WebReplTargetTests
{
    [Theory]
    [InlineData("192.168.4.1", "192.168.4.1", 8266)]
    [InlineData("  192.168.4.1  ", "192.168.4.1", 8266)]
    [InlineData("esp32.local", "esp32.local", 8266)]
    [InlineData("192.168.4.1:8266", "192.168.4.1", 8266)]
    [InlineData("board:1", "board", 1)]
    [InlineData("board:65535", "board", 65535)]
    public void Parse_HostOrHostPort_UsesWebReplPortByDefault(string text, string host, int port)
    {
        var target = WebReplTarget.Parse(text);

        Assert.Equal(host, target.Host);
        Assert.Equal(port, target.Port);
        Assert.Equal("/", target.Path);
        Assert.False(target.IsSecure);
        Assert.Equal($"ws://{host}:{port}/", target.ToString());
    }

    [Theory]
    [InlineData("[::1]:8266", 8266)]
    [InlineData("[::1]:9000", 9000)]
    [InlineData("[::1]", 8266)]
    [InlineData("::1", 8266)]
    public void Parse_IPv6_HostWithoutBracketsAuthorityWithThem(string text, int port)
    {
        var target = WebReplTarget.Parse(text);

        Assert.Equal("::1", target.Host);
        Assert.Equal(port, target.Port);
        Assert.Equal($"[::1]:{port}", target.Authority);
        Assert.Equal($"ws://[::1]:{port}/", target.ToString());
    }

    [Theory]
    [InlineData("ws://192.168.4.1:8266", false, "192.168.4.1", 8266, "/")]
    [InlineData("ws://192.168.4.1:8266/", false, "192.168.4.1", 8266, "/")]
    [InlineData("WS://Board:8266/x", false, "Board", 8266, "/x")]
    [InlineData("ws://board", false, "board", 80, "/")]
    [InlineData("wss://relay.example.org/boards/7?token=abc", true, "relay.example.org", 443, "/boards/7?token=abc")]
    [InlineData("wss://relay.example.org:8443/", true, "relay.example.org", 8443, "/")]
    [InlineData("ws://[::1]:8266/repl", false, "::1", 8266, "/repl")]
    public void Parse_Url_TakesSchemeHostPortAndPath(string text, bool secure, string host, int port, string path)
    {
        var target = WebReplTarget.Parse(text);

        Assert.Equal(secure, target.IsSecure);
        Assert.Equal(host, target.Host);
        Assert.Equal(port, target.Port);
        Assert.Equal(path, target.Path);
    }

    [Fact]
    public void Parse_EdrysProxyUrl_ConnectsToProxyAndKeepsBoardUrlAsPath()
    {
        // Only parsed: nothing connects to these addresses.
        var target = WebReplTarget.Parse("ws://localhost:8765/ws://192.168.2.197:8266");

        Assert.False(target.IsSecure);
        Assert.Equal("localhost", target.Host);
        Assert.Equal(8765, target.Port);
        Assert.Equal("/ws://192.168.2.197:8266", target.Path);
        Assert.Equal("ws://localhost:8765/ws://192.168.2.197:8266", target.ToString());
    }

    [Fact]
    public void Parse_EdrysProxyUrlWithPathAndQuery_KeepsPathExactly()
    {
        var target = WebReplTarget.Parse("ws://localhost:8765/ws://[fe80::1]:8266/a%20b?x=1&y=/z");

        Assert.Equal("/ws://[fe80::1]:8266/a%20b?x=1&y=/z", target.Path);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Parse_Empty_ThrowsSayingNoBoardAndTheForms(string text)
    {
        var ex = Assert.Throws<FormatException>(() => WebReplTarget.Parse(text));

        Assert.Contains("No board given", ex.Message, StringComparison.Ordinal);
        Assert.Contains("HOST[:PORT]", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://192.168.4.1:8266")]
    [InlineData("https://board/")]
    [InlineData("tcp://board:8266")]
    public void Parse_OtherScheme_ThrowsNamingWsSchemes(string text)
    {
        var ex = Assert.Throws<FormatException>(() => WebReplTarget.Parse(text));

        Assert.Contains(text, ex.Message, StringComparison.Ordinal);
        Assert.Contains("ws://", ex.Message, StringComparison.Ordinal);
        Assert.Contains("wss://", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("board/repl")]
    [InlineData("192.168.4.1:8266/")]
    public void Parse_PathWithoutScheme_ThrowsAskingForUrl(string text)
    {
        var ex = Assert.Throws<FormatException>(() => WebReplTarget.Parse(text));

        Assert.Contains("ws:// URL", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("board:0")]
    [InlineData("board:65536")]
    [InlineData("board:-1")]
    [InlineData("board:+80")]
    [InlineData("board:http")]
    [InlineData(":8266")]
    [InlineData("ws://")]
    [InlineData("ws://:8266")]
    [InlineData("ws://board:99999/")]
    [InlineData("[::1")]
    [InlineData("[::1]8266")]
    [InlineData("[192.168.4.1]:8266")]
    [InlineData("[not-an-address]:8266")]
    [InlineData("fe80::1::2")]
    [InlineData("user@board:8266")]
    [InlineData("ws://user:pw@board:8266/")]
    public void Parse_BadHostOrPort_ThrowsWithTheExpectedForm(string text)
    {
        var ex = Assert.Throws<FormatException>(() => WebReplTarget.Parse(text));

        Assert.Contains($"'{text}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("HOST[:PORT]", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("board:", 8266)]
    [InlineData("ws://board:/", 80)]
    public void Parse_EmptyPortAfterColon_MeansDefaultPort(string text, int port)
    {
        Assert.Equal(port, WebReplTarget.Parse(text).Port);
    }

    [Fact]
    public void TryParse_Null_ReturnsFalseWithError()
    {
        Assert.False(WebReplTarget.TryParse(null, out var target, out string? error));

        Assert.Null(target);
        Assert.NotNull(error);
    }

    [Fact]
    public void TryParse_Valid_ReturnsTargetWithoutError()
    {
        Assert.True(WebReplTarget.TryParse("board", out var target, out string? error));

        Assert.Equal("board", target.Host);
        Assert.Null(error);
    }

    [Theory]
    [InlineData("ws://board:8266/x HTTP/1.1\r\nX-Injected: yes")]
    [InlineData("ws://board:8266/x\r\nX-Injected: yes")]
    [InlineData("ws://board:8266/a b")]
    [InlineData("ws://board:8266/a\tb")]
    [InlineData("ws://board:8266/a\u0085b")]
    [InlineData("ws://board:8266/a\u007fb")]
    public void TryParse_SpaceOrControlCharacterInPath_RefusedWithHint(string text)
    {
        // The path goes into the request line: a CR/LF or space there would add header lines or a second request.
        Assert.False(WebReplTarget.TryParse(text, out var target, out string? error));

        Assert.Null(target);
        Assert.Contains("percent-encode", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\r', error!);
        Assert.DoesNotContain('\n', error!);
    }

    [Theory]
    [InlineData("ws://\u001b[31mEVIL\nFAKE-LOG-LINE:19001")]
    [InlineData("ws://bo ard:8266")]
    [InlineData("ws://board\r\nX-Injected:8266")]
    [InlineData("ws://bo\tard:8266")]
    [InlineData("ws://b%6fard:8266")]
    [InlineData("ws://[::%ws:U==\u007f:%ws:U==]:8266")] // an IPv6 zone that holds a DEL: found by the gateway-target fuzzer
    public void TryParse_HostThatIsNoNameOrAddress_Refused_ErrorPrintable(string text)
    {
        Assert.False(WebReplTarget.TryParse(text, out _, out string? error));

        Assert.NotNull(error);
        Assert.DoesNotContain(error!, c => char.IsControl(c));
    }

    [Theory]
    [InlineData("ws://esp32-lab_1.local:8266/ws://192.168.2.197:8266", "esp32-lab_1.local")]
    [InlineData("ws://[fd00::7]:8266", "fd00::7")]
    [InlineData("ws://br\u00fccke.local:8266/%20x", "br\u00fccke.local")]
    public void TryParse_NamesAddressesAndEncodedPaths_StillAccepted(string text, string host)
    {
        Assert.True(WebReplTarget.TryParse(text, out var target, out string? error), error);

        Assert.Equal(host, target.Host);
    }

    [Fact]
    public void Equality_SameText_IsEqual()
    {
        Assert.Equal(WebReplTarget.Parse("ws://board:8266/"), WebReplTarget.Parse("board"));
    }
}
