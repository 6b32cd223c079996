using System.Net;
using WebRepl.Gateway.Security;
using WebRepl.Gateway.Sessions;
using WebRepl.Transport;

namespace WebRepl.Gateway.Tests;

/// <summary>Unit tests of the policies, the sanitizer, the password line and the transfer tracker (no network).</summary>
public sealed class PolicyTests
{
    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.8.9.10", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("172.16.0.1", true)]
    [InlineData("172.31.255.255", true)]
    [InlineData("172.32.0.1", false)]
    [InlineData("192.168.2.197", true)]
    [InlineData("169.254.1.1", true)]
    [InlineData("8.8.8.8", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("::1", true)]
    [InlineData("fd00::7", true)]
    [InlineData("fe80::1", true)]
    [InlineData("2001:db8::1", false)]
    [InlineData("::ffff:192.168.1.1", true)]
    [InlineData("::ffff:8.8.8.8", false)]
    public void DefaultTargets_LocalNetworksOnly(string address, bool allowed) =>
        Assert.Equal(allowed, TargetPolicy.Create([]).IsAllowed(IPAddress.Parse(address), 8266));

    [Fact]
    public void AllowList_ReplacesDefault_WithPortsAndPrefixes()
    {
        var policy = TargetPolicy.Create(["192.168.2.0/24", "10.0.0.5:8266", "[fd00::7]:8266"]);
        Assert.True(policy.IsAllowed(IPAddress.Parse("192.168.2.200"), 1));
        Assert.False(policy.IsAllowed(IPAddress.Parse("192.168.3.1"), 8266));
        Assert.False(policy.IsAllowed(IPAddress.Parse("127.0.0.1"), 8266));
        Assert.True(policy.IsAllowed(IPAddress.Parse("10.0.0.5"), 8266));
        Assert.False(policy.IsAllowed(IPAddress.Parse("10.0.0.5"), 8267));
        Assert.True(policy.IsAllowed(IPAddress.Parse("fd00::7"), 8266));
    }

    [Theory]
    [InlineData("192.168.2.0/33")]
    [InlineData("10.0.0.1:99999")]
    [InlineData("http://x")]
    public void AllowList_BadRule_ClearError(string rule) =>
        Assert.Throws<GatewayConfigurationException>(() => TargetPolicy.Create([rule]));

    [Fact]
    public async Task HostNames_EveryResolvedAddressMustBeAllowed()
    {
        var addresses = new Dictionary<string, IPAddress[]>
        {
            ["board.lan"] = [IPAddress.Parse("192.168.2.7")],
            ["mixed.example"] = [IPAddress.Parse("192.168.2.7"), IPAddress.Parse("203.0.113.9")],
        };
        var policy = TargetPolicy.Create([], (name, _) => Task.FromResult(addresses[name]));
        var allowed = await policy.CheckAsync(WebReplTarget.Parse("ws://board.lan:8266"), TestContext.Current.CancellationToken);
        Assert.True(allowed.Allowed);
        Assert.Equal(IPAddress.Parse("192.168.2.7"), allowed.Address);
        var mixed = await policy.CheckAsync(WebReplTarget.Parse("ws://mixed.example:8266"), TestContext.Current.CancellationToken);
        Assert.False(mixed.Allowed);
        Assert.Contains("203.0.113.9", mixed.Reason, StringComparison.Ordinal);

        var byName = TargetPolicy.Create(["mixed.example:8266"], (name, _) => Task.FromResult(addresses[name]));
        Assert.True((await byName.CheckAsync(WebReplTarget.Parse("ws://mixed.example:8266"), TestContext.Current.CancellationToken)).Allowed);
        Assert.False((await byName.CheckAsync(WebReplTarget.Parse("ws://mixed.example:8267"), TestContext.Current.CancellationToken)).Allowed);
    }

    [Fact]
    public void Origins_OwnConfiguredNullAndAny()
    {
        var policy = new OriginPolicy(["https://edrys-labs.github.io"]);
        policy.AddOwn("http", ["localhost", "127.0.0.1"], 8765);
        Assert.True(policy.IsAllowed(null));
        Assert.True(policy.IsAllowed("http://localhost:8765"));
        Assert.True(policy.IsAllowed("HTTPS://Edrys-Labs.GitHub.io"));
        Assert.True(policy.IsAllowed("https://edrys-labs.github.io:443"));
        Assert.False(policy.IsAllowed("http://localhost:8766"));
        Assert.False(policy.IsAllowed("https://evil.example"));
        Assert.False(policy.IsAllowed("null"));
        Assert.True(new OriginPolicy(["null"]).IsAllowed("null"));
        Assert.True(new OriginPolicy(["*"]).IsAllowed("https://anything.example"));
        Assert.Throws<GatewayConfigurationException>(() => new OriginPolicy(["edrys-labs.github.io"]));
    }

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

    [Fact]
    public void PasswordLine_ComparesAsTheBoard()
    {
        using var accepted = Line("secret\r");
        using var same = Line("sec", "ret\rprint(1)");
        using var wrong = Line("secreT\r");
        using var longer = Line("secret-and-more\r");
        Assert.True(accepted.Matches(same));
        Assert.False(accepted.Matches(wrong));
        Assert.False(accepted.Matches(longer));

        // A virtual board's 12-character password: its first 10 characters are not enough to join.
        using var twelve = Line("k7m2x9qa4fhp\r");
        using var firstTen = Line("k7m2x9qa4f\r");
        using var tenAndMore = Line("k7m2x9qa4fXX\r");
        using var twelveAgain = Line("k7m2x9qa4f", "hp\r");
        Assert.True(twelve.Matches(twelveAgain));
        Assert.False(twelve.Matches(firstTen));
        Assert.False(twelve.Matches(tenAndMore));

        var line = new PasswordLine();
        Assert.Equal(4, line.Feed("abc\rrest"u8));
        Assert.True(line.IsComplete);
        line.Dispose();

        static PasswordLine Line(params string[] parts)
        {
            var line = new PasswordLine();
            foreach (string part in parts)
            {
                line.Feed(System.Text.Encoding.ASCII.GetBytes(part));
            }

            return line;
        }
    }

    [Fact]
    public void Tracker_Put_IdleAfterDataAndTwoStatuses()
    {
        var tracker = new TransferTracker();
        byte[] record = new Protocol.WebReplRequest(Protocol.WebReplOperation.PutFile, 300, "a.py").ToArray();
        tracker.OnClientBytes(record.AsSpan(0, 10));
        Assert.True(tracker.InsideRecord);
        tracker.OnClientBytes(record.AsSpan(10));
        Assert.Equal("put 'a.py'", tracker.Operation);
        tracker.OnBoardBytes("WB\0\0"u8);
        tracker.OnClientBytes(new byte[300]);
        Assert.False(tracker.IsIdle);
        tracker.OnBoardBytes("WB\0"u8);
        Assert.False(tracker.IsIdle);
        tracker.OnBoardBytes("\0"u8);
        Assert.True(tracker.IsIdle);
    }

    [Fact]
    public void Tracker_GetAndVersion()
    {
        var tracker = new TransferTracker();
        tracker.OnClientBytes(new Protocol.WebReplRequest(Protocol.WebReplOperation.GetFile, 0, "b.txt").ToArray());
        tracker.OnBoardBytes("WB\0\0"u8);
        Assert.True(tracker.GetNeedsRequest);
        tracker.OnClientBytes([0]);
        tracker.OnBoardBytes(new byte[] { 3, 0, 1, 2 });
        Assert.False(tracker.GetNeedsRequest);
        tracker.OnBoardBytes(new byte[] { 3 });
        Assert.True(tracker.GetNeedsRequest);
        tracker.OnClientBytes([0]);
        tracker.OnBoardBytes(new byte[] { 0, 0 });
        Assert.False(tracker.IsIdle);
        tracker.OnBoardBytes("WB\0\0"u8);
        Assert.True(tracker.IsIdle);

        tracker.OnClientBytes(new Protocol.WebReplRequest(Protocol.WebReplOperation.GetVersion, 0, string.Empty).ToArray());
        Assert.Equal("version", tracker.Operation);
        tracker.OnBoardBytes(new byte[] { 1, 24, 1 });
        Assert.True(tracker.IsIdle);
    }

    [Fact]
    public void Tracker_PipelinedGet_CountsRequestsInFlightAndNoReadAheadWhileAnyIs()
    {
        var tracker = new TransferTracker();
        byte[] opening = [.. new Protocol.WebReplRequest(Protocol.WebReplOperation.GetFile, 0, "b.txt").ToArray(), 0, 0, 0];
        tracker.OnClientBytes(opening); // the record and three requests in one frame: a 2-chunk file and the empty chunk
        Assert.Equal(3, tracker.ChunksInFlight);
        tracker.OnBoardBytes("WB\0\0"u8);
        Assert.False(tracker.ReadAheadDue); // requests are in flight: read-ahead would add one more
        tracker.OnBoardBytes(new byte[] { 1, 0, 9 });
        Assert.Equal(2, tracker.ChunksInFlight);
        Assert.False(tracker.ReadAheadDue);
        tracker.OnBoardBytes(new byte[] { 1, 0, 9, 0, 0, (byte)'W', (byte)'B', 0, 0 });
        Assert.Equal(0, tracker.ChunksInFlight);
        Assert.False(tracker.ReadAheadDue);
        Assert.True(tracker.IsIdle);
    }

    [Fact]
    public void Tracker_SurplusRequestsAfterTheEnd_StartTheNextRecordAsOnTheBoard()
    {
        var tracker = new TransferTracker();
        // A file of one chunk, asked for with four requests: two are surplus.
        tracker.OnClientBytes([.. new Protocol.WebReplRequest(Protocol.WebReplOperation.GetFile, 0, "b.txt").ToArray(), 0, 0, 0, 0]);
        tracker.OnBoardBytes(new byte[] { (byte)'W', (byte)'B', 0, 0, 1, 0, 9, 0, 0, (byte)'W', (byte)'B', 0, 0 });
        Assert.True(tracker.InsideRecord); // the board holds two bytes of a record
        Assert.False(tracker.IsIdle);

        // The client completes them as a GET_VER record (the board checks no signature): the version reply follows.
        byte[] version = new Protocol.WebReplRequest(Protocol.WebReplOperation.GetVersion, 0, string.Empty).ToArray();
        tracker.OnClientBytes(version.AsSpan(2));
        Assert.Equal("version", tracker.Operation);
        tracker.OnBoardBytes(new byte[] { 1, 24, 1 });
        Assert.True(tracker.IsIdle);
    }

    [Fact]
    public void Tracker_GetReadAhead_DueAfterOpenAndNonEmptyChunks_OwedBytesDropped()
    {
        var tracker = new TransferTracker();
        tracker.OnClientBytes(new Protocol.WebReplRequest(Protocol.WebReplOperation.GetFile, 0, "b.txt").ToArray());
        tracker.OnBoardBytes("WB\0\0"u8);
        Assert.True(tracker.ReadAheadDue);
        tracker.OnGatewayRequest();
        Assert.False(tracker.GetNeedsRequest);
        tracker.OnBoardBytes(new byte[] { 2, 0, 7 });
        Assert.False(tracker.ReadAheadDue); // the chunk is not complete yet
        tracker.OnBoardBytes(new byte[] { 8 });
        Assert.False(tracker.ReadAheadDue); // the client still owes its byte for this chunk: one chunk ahead at most
        Assert.Equal(1, tracker.OnClientBytes([0])); // the client's request for chunk 1: sent already
        Assert.True(tracker.ReadAheadDue); // caught up: the gateway may ask for chunk 2
        tracker.OnGatewayRequest();
        tracker.OnBoardBytes(new byte[] { 0, 0, (byte)'W', (byte)'B', 0, 0 }); // chunk 2 is the empty one: the end
        Assert.False(tracker.ReadAheadDue); // after the end, the client asks for nothing
        Assert.False(tracker.IsIdle); // its request for chunk 2 is still owed
        byte[] next = new Protocol.WebReplRequest(Protocol.WebReplOperation.GetVersion, 0, string.Empty).ToArray();
        Assert.Equal(1, tracker.OnClientBytes([0, .. next])); // the owed byte, then the next request whole
        Assert.Equal("version", tracker.Operation);

        var refused = new TransferTracker();
        refused.OnClientBytes(new Protocol.WebReplRequest(Protocol.WebReplOperation.GetFile, 0, "x").ToArray());
        refused.OnBoardBytes("WB\x01\0"u8);
        Assert.False(refused.ReadAheadDue); // a status that is not 0: the client does not ask
    }

    [Fact]
    public void CloseReason_FitsIn123Bytes_AtCharacterBoundary()
    {
        string reason = CloseReason.Fit(new string('é', 100));
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(reason) <= 123);
        Assert.DoesNotContain('\uFFFD', reason);
    }
}
