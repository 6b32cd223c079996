using WebRepl.Protocol;
using WebRepl.Tests.Support;

namespace WebRepl.Tests.Protocol;

public sealed class WebReplRepliesTests
{
    [Fact]
    public void StatusWrite_CodeZero_IsWB0000()
    {
        byte[] status = new byte[WebReplStatus.Length];

        WebReplStatus.Write(status, 0);

        Assert.Equal(Hex.Parse("57 42 00 00"), status);
    }

    [Fact]
    public void StatusWrite_Code_IsLittleEndian()
    {
        byte[] status = new byte[4];

        WebReplStatus.Write(status, 0x0102);

        Assert.Equal(Hex.Parse("57 42 02 01"), status);
    }

    [Fact]
    public void StatusTryRead_WB0000_ReturnsCodeZero()
    {
        Assert.True(WebReplStatus.TryRead(Hex.Parse("57420000"), out ushort code));
        Assert.Equal(0, code);
        Assert.True(WebReplStatus.TryRead(Hex.Parse("57420100"), out code));
        Assert.Equal(1, code);
    }

    [Theory]
    [InlineData("57410000")] // "WA": a request's signature
    [InlineData("00000000")]
    [InlineData("574200")] // three bytes
    public void StatusTryRead_NotAStatus_ReturnsFalse(string hex)
    {
        Assert.False(WebReplStatus.TryRead(Hex.Parse(hex), out _));
    }

    [Fact]
    public void VersionWrite_1_24_1_IsThreeBytes()
    {
        byte[] reply = new byte[WebReplVersion.Length];

        new WebReplVersion(1, 24, 1).Write(reply);

        Assert.Equal(Hex.Parse("01 18 01"), reply);
    }

    [Fact]
    public void VersionRead_ThreeBytes_ReturnsVersion()
    {
        var version = WebReplVersion.Read(Hex.Parse("01 16 03"));

        Assert.Equal(new WebReplVersion(1, 22, 3), version);
        Assert.Equal("1.22.3", version.ToString());
    }

    [Fact]
    public void VersionRead_TwoBytes_Throws()
    {
        Assert.Throws<ArgumentException>(() => WebReplVersion.Read(Hex.Parse("0118")));
    }

    [Theory]
    [InlineData(0, "0000")]
    [InlineData(1, "0100")]
    [InlineData(256, "0001")]
    [InlineData(0x1234, "3412")]
    public void ChunkWriteHeader_Length_IsU16LittleEndian(int length, string hex)
    {
        byte[] header = new byte[WebReplChunk.HeaderLength];

        WebReplChunk.WriteHeader(header, length);

        Assert.Equal(Hex.Parse(hex), header);
        Assert.Equal(length, WebReplChunk.ReadHeader(header));
    }

    [Fact]
    public void ChunkWriteHeader_LengthOver16Bits_Throws()
    {
        Assert.Throws<OverflowException>(() => WebReplChunk.WriteHeader(new byte[2], 65536));
    }
}
