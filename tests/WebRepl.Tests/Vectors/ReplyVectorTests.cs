using System.Text.Json;
using WebRepl.Protocol;

namespace WebRepl.Tests.Vectors;

/// <summary>
/// The replies against <c>tests/vectors/replies.json</c>. The library reads binary frames as one byte stream, as the
/// firmware does: a reply of the wrong length is a framing matter (vectors marked <c>frameOnly</c>, which the pages
/// check), so here each vector's bytes are read as the stream reader reads them.
/// </summary>
public sealed class ReplyVectorTests
{
    public static TheoryData<string> Status => Streamed("status");

    public static TheoryData<string> Versions => Streamed("versions");

    public static TheoryData<string> Chunks => Streamed("chunks");

    private static TheoryData<string> Streamed(string property)
    {
        var data = new TheoryData<string>();
        foreach (var item in VectorFile.Load("replies.json").GetProperty(property).EnumerateArray())
        {
            if (!(item.TryGetProperty("frameOnly", out var frameOnly) && frameOnly.GetBoolean()))
            {
                data.Add(item.GetRawText());
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Status))]
    public void WebReplStatus_TryRead_GivesTheVectorCode(string json)
    {
        var vector = VectorFile.Parse(json);
        int? expected = vector.GetProperty("code").ValueKind == JsonValueKind.Null ? null : vector.GetProperty("code").GetInt32();

        bool read = WebReplStatus.TryRead(vector.Bytes().AsSpan(0, WebReplStatus.Length), out ushort code);

        Assert.Equal(expected, read ? code : null);
        if (expected is int c)
        {
            byte[] written = new byte[WebReplStatus.Length];
            WebReplStatus.Write(written, (ushort)c);
            Assert.Equal(vector.Bytes(), written);
        }
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public void WebReplVersion_Read_GivesTheVectorVersion(string json)
    {
        var vector = VectorFile.Parse(json);

        Assert.Equal(vector.Text("version"), WebReplVersion.Read(vector.Bytes()).ToString());
    }

    [Theory]
    [MemberData(nameof(Chunks))]
    public void WebReplChunk_ReadHeader_GivesTheVectorDataLength(string json)
    {
        var vector = VectorFile.Parse(json);
        byte[] bytes = vector.Bytes();
        byte[] data = vector.Bytes("data");

        int length = WebReplChunk.ReadHeader(bytes);

        Assert.Equal(data.Length, length);
        Assert.InRange(length, 0, WebReplChunk.MaxData);
        Assert.Equal(data, bytes[WebReplChunk.HeaderLength..]);
    }
}
