using System.Text;
using WebRepl.Protocol;
using WebRepl.Tests.Support;

namespace WebRepl.Tests.Protocol;

public sealed class WebReplRequestTests
{
    /// <summary>NUL padding of the 64-byte name field after <paramref name="nameBytes"/> bytes of name.</summary>
    private static string Padding(int nameBytes) => string.Concat(Enumerable.Repeat("00", 64 - nameBytes));

    [Fact]
    public void ToArray_PutFile_MatchesReferenceLayout()
    {
        // <2sBBQLH64s: "WA", op 1, flags 0, offset 0 (u64), size 0x01020304 (u32 LE), name length 7 (u16 LE), "main.py" + NULs.
        byte[] expected = Hex.Parse(
            "5741 01 00 0000000000000000 04030201 0700 6d61696e2e7079" + Padding(7));

        byte[] actual = new WebReplRequest(WebReplOperation.PutFile, 0x01020304, "main.py").ToArray();

        Assert.Equal(82, actual.Length);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void ToArray_GetFileWithNonAsciiName_CountsNameLengthInUtf8Bytes()
    {
        // "lib/é.py" is 8 characters but 9 bytes of UTF-8 (é = c3 a9).
        byte[] expected = Hex.Parse(
            "5741 02 00 0000000000000000 00000000 0900 6c69622fc3a92e7079" + Padding(9));

        byte[] actual = new WebReplRequest(WebReplOperation.GetFile, 0, "lib/é.py").ToArray();

        Assert.Equal(expected, actual);
    }

    [Fact]
    public void ToArray_GetVersion_IsSignatureOpAndZeros()
    {
        byte[] expected = Hex.Parse("5741 03 00 0000000000000000 00000000 0000" + Padding(0));

        byte[] actual = new WebReplRequest(WebReplOperation.GetVersion, 0, string.Empty).ToArray();

        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Write_DestinationWithOldBytes_ClearsTheNamePadding()
    {
        byte[] destination = Enumerable.Repeat((byte)0xAA, 90).ToArray();

        new WebReplRequest(WebReplOperation.GetFile, 0, "a").Write(destination);

        Assert.Equal(Hex.Parse("5741 02 00 0000000000000000 00000000 0100 61" + Padding(1)), destination[..82]);
        Assert.All(destination[82..], b => Assert.Equal(0xAA, b));
    }

    [Fact]
    public void Write_NameOf63Bytes_FillsFieldWithOneTerminatingNul()
    {
        string name = new string('n', 60) + ".py";

        byte[] record = new WebReplRequest(WebReplOperation.PutFile, 1, name).ToArray();

        Assert.Equal(Hex.Parse("3f00"), record[16..18]);
        Assert.Equal(Encoding.ASCII.GetBytes(name), record[18..81]);
        Assert.Equal(0, record[81]);
        Assert.True(WebReplRequest.TryRead(record, out var back));
        Assert.Equal(name, back.FileName);
    }

    [Fact]
    public void Write_NameOf63BytesOfMultiByteCharacters_IsAccepted()
    {
        string name = new string('é', 31) + "x"; // 31 * 2 + 1 = 63 bytes

        byte[] record = new WebReplRequest(WebReplOperation.GetFile, 0, name).ToArray();

        Assert.Equal(63, record[16]);
    }

    [Theory]
    [InlineData(64)]
    [InlineData(200)]
    public void Write_NameOver63Bytes_ThrowsWithTheLimit(int length)
    {
        var request = new WebReplRequest(WebReplOperation.PutFile, 0, new string('n', length));

        var ex = Assert.Throws<ArgumentException>(() => request.ToArray());

        Assert.Contains($"{length} bytes", ex.Message, StringComparison.Ordinal);
        Assert.Contains("at most 63", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateFileName_32TwoByteCharacters_ThrowsBecause64Bytes()
    {
        // 32 characters would fit if characters were counted; the field counts bytes.
        var ex = Assert.Throws<ArgumentException>(() => WebReplRequest.ValidateFileName(new string('é', 32)));

        Assert.Contains("64 bytes", ex.Message, StringComparison.Ordinal);
        Assert.Contains("63", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateFileName_EmptyOrNul_Throws()
    {
        Assert.Throws<ArgumentException>(() => WebReplRequest.ValidateFileName(string.Empty));
        Assert.Throws<ArgumentException>(() => WebReplRequest.ValidateFileName("a\0b"));
        Assert.Throws<ArgumentException>(() => new WebReplRequest(WebReplOperation.GetFile, 0, string.Empty).ToArray());
    }

    [Fact]
    public void Write_DestinationShorterThanRecord_Throws()
    {
        var request = new WebReplRequest(WebReplOperation.GetFile, 0, "a");

        Assert.Throws<ArgumentOutOfRangeException>(() => request.Write(new byte[81]));
    }

    [Fact]
    public void TryRead_ReferenceBytes_ReturnsFields()
    {
        byte[] record = Hex.Parse("5741 01 00 0000000000000000 04030201 0700 6d61696e2e7079" + Padding(7));

        Assert.True(WebReplRequest.TryRead(record, out var request));

        Assert.Equal(new WebReplRequest(WebReplOperation.PutFile, 0x01020304, "main.py"), request);
    }

    [Theory]
    [InlineData(WebReplOperation.PutFile, 1234u, "/lib/données/é.txt")]
    [InlineData(WebReplOperation.GetFile, 0u, "boot.py")]
    [InlineData(WebReplOperation.GetVersion, 0u, "")]
    public void TryRead_WrittenRecord_RoundTrips(WebReplOperation operation, uint size, string name)
    {
        var request = new WebReplRequest(operation, size, name);

        Assert.True(WebReplRequest.TryRead(request.ToArray(), out var back));

        Assert.Equal(request, back);
    }

    [Theory]
    [InlineData("5742")] // "WB": a reply's signature, not a request's
    [InlineData("5841")] // "XA"
    [InlineData("0000")]
    public void TryRead_WrongSignature_ReturnsFalse(string signature)
    {
        byte[] record = new WebReplRequest(WebReplOperation.GetFile, 0, "a").ToArray();
        Hex.Parse(signature).CopyTo(record, 0);

        Assert.False(WebReplRequest.TryRead(record, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(0xff)]
    public void TryRead_UnknownOperation_ReturnsFalse(byte op)
    {
        byte[] record = new WebReplRequest(WebReplOperation.GetFile, 0, "a").ToArray();
        record[2] = op;

        Assert.False(WebReplRequest.TryRead(record, out _));
    }

    [Fact]
    public void TryRead_NameWithoutNulInItsField_ReturnsFalse()
    {
        byte[] record = new WebReplRequest(WebReplOperation.GetFile, 0, "a").ToArray();
        record.AsSpan(18, 64).Fill((byte)'n');

        Assert.False(WebReplRequest.TryRead(record, out _));
    }

    [Fact]
    public void TryRead_NameNotUtf8_ReturnsFalse()
    {
        byte[] record = new WebReplRequest(WebReplOperation.GetFile, 0, "ab").ToArray();
        record[18] = 0xff;

        Assert.False(WebReplRequest.TryRead(record, out _));
    }

    [Fact]
    public void TryRead_Truncated_ReturnsFalse()
    {
        byte[] record = new WebReplRequest(WebReplOperation.GetFile, 0, "a").ToArray();

        Assert.False(WebReplRequest.TryRead(record.AsSpan(0, 81), out _));
        Assert.False(WebReplRequest.TryRead(ReadOnlySpan<byte>.Empty, out _));
    }
}
