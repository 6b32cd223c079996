using WebRepl.Gateway.Sessions;

namespace WebRepl.Gateway.Tests.Sessions.Output;

/// <summary>What a browser gets of the board's bytes: UTF-8 whole, split characters joined across frames.</summary>
public sealed class Utf8SanitizerTests
{
    [Fact]
    public void Sanitizer_JoinsSplitCharacters_ReplacesInvalidBytes()
    {
        var sanitizer = new Utf8Sanitizer();
        Assert.Equal("a"u8.ToArray(), sanitizer.Sanitize(new byte[] { (byte)'a', 0xe2, 0x82 }).ToArray());
        Assert.Equal(2, sanitizer.Pending);
        Assert.Equal("€b\uFFFDc"u8.ToArray(), sanitizer.Sanitize(new byte[] { 0xac, (byte)'b', 0xff, (byte)'c' }).ToArray());
        Assert.Equal("\uFFFDx"u8.ToArray(), sanitizer.Sanitize(new byte[] { 0xc3 }).ToArray().Concat(sanitizer.Sanitize("x"u8.ToArray()).ToArray()).ToArray());
        var plain = "hello"u8.ToArray();
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(sanitizer.Sanitize(plain), out var segment) && segment.Array == plain);
    }
}
