using System.Text;
using WebRepl.Transport;

namespace WebRepl.Tests.Transport;

public sealed class WebSocketHandshakeTests
{
    [Theory]
    [InlineData("ws://127.0.0.1:8266/æx", "/%C3%A6x")]
    [InlineData("ws://127.0.0.1:8266/a/b%20c", "/a/b%20c")]
    [InlineData("ws://127.0.0.1:8266/\U0001F600", "/%F0%9F%98%80")]
    public void BuildClientRequest_NonAsciiPath_SentPercentEncodedAsUtf8(string url, string requestPath)
    {
        var target = WebReplTarget.Parse(url);

        byte[] request = WebSocketHandshake.BuildClientRequest(target, "dGhlIHNhbXBsZSBub25jZQ==", []);

        Assert.All(request, b => Assert.True(b < 0x80, "the request line must be ASCII"));
        string firstLine = Encoding.ASCII.GetString(request).Split("\r\n")[0];
        Assert.Equal($"GET {requestPath} HTTP/1.1", firstLine);
    }
}
