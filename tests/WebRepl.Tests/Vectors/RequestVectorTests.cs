using System.Text.Json;
using WebRepl.Protocol;

namespace WebRepl.Tests.Vectors;

/// <summary>The request record and GET's request arithmetic against <c>tests/vectors/requests.json</c>.</summary>
public sealed class RequestVectorTests
{
    private static readonly string[] Sections = ["records", "badNames", "versionTails", "getRequests"];

    public static TheoryData<string> Records => VectorFile.Items("requests.json", "records");

    public static TheoryData<string> BadNames => VectorFile.Items("requests.json", "badNames");

    public static TheoryData<string> VersionTails => VectorFile.Items("requests.json", "versionTails");

    public static TheoryData<string> GetRequests => VectorFile.Items("requests.json", "getRequests");

    [Theory]
    [MemberData(nameof(Records))]
    public void ToArray_Record_IsTheVectorBytes(string json)
    {
        var vector = VectorFile.Parse(json);
        var request = new WebReplRequest((WebReplOperation)vector.GetProperty("op").GetInt32(), vector.GetProperty("size").GetUInt32(), vector.GetProperty("fileName").GetString()!);

        Assert.Equal(Convert.ToHexStringLower(vector.Bytes()), Convert.ToHexStringLower(request.ToArray()));
    }

    [Theory]
    [MemberData(nameof(Records))]
    public void TryRead_VectorBytes_GivesTheRequest(string json)
    {
        var vector = VectorFile.Parse(json);

        Assert.True(WebReplRequest.TryRead(vector.Bytes(), out var request));

        Assert.Equal((WebReplOperation)vector.GetProperty("op").GetInt32(), request.Operation);
        Assert.Equal(vector.GetProperty("size").GetUInt32(), request.Size);
        Assert.Equal(vector.GetProperty("fileName").GetString(), request.FileName);
    }

    [Theory]
    [MemberData(nameof(BadNames))]
    public void ValidateFileName_NameTheBoardCannotTake_ThrowsSayingWhy(string json)
    {
        string name = VectorFile.Parse(json).GetProperty("fileName").GetString()!;

        var error = Assert.Throws<ArgumentException>(() => new WebReplRequest(WebReplOperation.GetFile, 0, name).ToArray());

        Assert.Matches("empty|NUL|at most 63", error.Message);
    }

    [Theory]
    [MemberData(nameof(VersionTails))]
    public void VersionTail_CompletesTheSurplusAsGetVer(string json)
    {
        // What the client sends after a GET left `surplus` zero bytes: the rest of a GET_VER record.
        var vector = VectorFile.Parse(json);
        int surplus = vector.GetProperty("surplus").GetInt32();
        byte[] record = new WebReplRequest(WebReplOperation.GetVersion, 0, string.Empty).ToArray();

        Assert.Equal(vector.Bytes(), record[surplus..]);
        Assert.InRange(surplus, 1, GetRequestWindow.MaxRecoverableSurplus);
    }

    [Theory]
    [MemberData(nameof(GetRequests))]
    public void GetRequestWindow_KnownSize_AsksExactlyTheChunksTheFileHas(string json)
    {
        var vector = VectorFile.Parse(json);
        long size = vector.GetProperty("size").GetInt64();
        var window = new GetRequestWindow(size, maxInFlight: 1_000_000, sessionEndsAfter: false);

        Assert.Equal(vector.GetProperty("requests").GetInt32(), window.Due());
    }

    [Fact]
    public void Vectors_AreThere()
    {
        // A vector file that lost its items would make every theory above pass with no case.
        var file = VectorFile.Load("requests.json");
        Assert.All(Sections, p => Assert.NotEqual(0, file.GetProperty(p).GetArrayLength()));
        Assert.Equal(JsonValueKind.String, file.GetProperty("about").ValueKind);
    }
}
