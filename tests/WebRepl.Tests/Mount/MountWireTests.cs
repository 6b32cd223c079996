using System.Text;
using WebRepl.Mount;

namespace WebRepl.Tests.Mount;

public sealed class MountWireTests
{
    private const string Token = "0a1b2c3d";

    private static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    private static string UserText(IEnumerable<MountOutputPart> parts) =>
        string.Concat(parts.Where(p => !p.IsRequest).Select(p => Encoding.Latin1.GetString(p.UserBytes.Span)));

    [Fact]
    public void Reply_StatusAndFields_MarkerLengthInHexThenPayload()
    {
        byte[] reply = MountWire.Reply(0, "5", "68656c6c6f");

        Assert.Equal("\u0018000e0,5,68656c6c6f", Encoding.ASCII.GetString(reply));
    }

    [Fact]
    public void Error_Errno_IsAStatusAlone()
    {
        Assert.Equal("\u0018000213", Encoding.ASCII.GetString(MountWire.Error(13)));
    }

    [Fact]
    public void Feed_RequestBetweenOutput_SplitsIntoOutputRequestOutput()
    {
        var filter = new MountOutputFilter(Token);

        var parts = filter.Feed(Bytes($"before\u0018{Token}S2f782e7079;after"));

        Assert.Equal(3, parts.Count);
        Assert.Equal("before", Encoding.ASCII.GetString(parts[0].UserBytes.Span));
        Assert.Equal('S', parts[1].Request!.Operation);
        Assert.Equal(["2f782e7079"], parts[1].Request!.Fields);
        Assert.Equal("after", Encoding.ASCII.GetString(parts[2].UserBytes.Span));
    }

    [Fact]
    public void Feed_RequestOneByteAtATime_SameRequestAndNothingShownEarly()
    {
        var filter = new MountOutputFilter(Token);
        var parts = new List<MountOutputPart>();
        foreach (byte b in Bytes($"x\u0018{Token}W2f61,10,6869;y"))
        {
            parts.AddRange(filter.Feed([b]));
        }

        Assert.Equal("xy", UserText(parts));
        var request = Assert.Single(parts, p => p.IsRequest).Request!;
        Assert.Equal('W', request.Operation);
        Assert.Equal(["2f61", "10", "6869"], request.Fields);
    }

    [Theory]
    [InlineData("a\u0018b")]
    [InlineData("\u0018\u0018\u0018")]
    [InlineData("\u00180a1b2c3X;")]
    [InlineData("\u00180a1b\u00180a1b2c3")]
    [InlineData("ctrl-x at the end \u0018")]
    public void Feed_MarkerWithoutTheToken_IsTheUsersByteForByte(string printed)
    {
        var filter = new MountOutputFilter(Token);

        var parts = filter.Feed(Bytes(printed)).ToList();
        parts.Add(new MountOutputPart(filter.Drain(), null, false));

        Assert.DoesNotContain(parts, p => p.IsRequest);
        Assert.Equal(printed, UserText(parts));
    }

    [Fact]
    public void Feed_DoubledMarkerBeforeARequest_FirstMarkerShownRequestFound()
    {
        var filter = new MountOutputFilter(Token);

        var parts = filter.Feed(Bytes($"\u0018\u0018{Token}L2f,0;"));

        Assert.Equal("\u0018", UserText(parts));
        Assert.Equal('L', Assert.Single(parts, p => p.IsRequest).Request!.Operation);
    }

    [Fact]
    public void Feed_TokenThenForbiddenByte_MalformedRequestAndTheRestShown()
    {
        var filter = new MountOutputFilter(Token);

        var parts = filter.Feed(Bytes($"\u0018{Token}S2f\r\nok"));

        Assert.True(Assert.Single(parts, p => p.IsRequest).Malformed);
        Assert.Equal("S2f\r\nok", UserText(parts));
    }

    [Fact]
    public void Feed_RequestLongerThanTheLimit_MalformedNotHeldForever()
    {
        var filter = new MountOutputFilter(Token);

        var parts = filter.Feed(Bytes($"\u0018{Token}W" + new string('a', MountWire.MaxRequestLength + 10)));

        Assert.True(Assert.Single(parts, p => p.IsRequest).Malformed);
        Assert.False(filter.IsHolding);
    }

    [Fact]
    public void Feed_LowercaseOperation_Malformed()
    {
        var filter = new MountOutputFilter(Token);

        var parts = filter.Feed(Bytes($"\u0018{Token}s2f;"));

        Assert.True(Assert.Single(parts, p => p.IsRequest).Malformed);
    }

    [Fact]
    public void Constructor_TokenNotEightLowercaseHex_Refused()
    {
        Assert.Throws<ArgumentException>(() => new MountOutputFilter("0A1B2C3D"));
        Assert.Throws<ArgumentException>(() => new MountOutputFilter("abc"));
    }

    [Fact]
    public void NewToken_EightLowercaseHexDigits_DifferentEachTime()
    {
        string a = MountWire.NewToken();
        string b = MountWire.NewToken();

        Assert.Matches("^[0-9a-f]{8}$", a);
        Assert.NotEqual(a, b);
    }
}
