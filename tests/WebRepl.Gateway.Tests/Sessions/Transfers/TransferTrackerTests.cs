using WebRepl.Gateway.Sessions;
using WebRepl.Protocol;

namespace WebRepl.Gateway.Tests.Sessions.Transfers;

/// <summary>Following a client's requests and the board's replies: when a request is complete, and GET read-ahead.</summary>
public sealed class TransferTrackerTests
{
    [Fact]
    public void Tracker_Put_IdleAfterDataAndTwoStatuses()
    {
        var tracker = new TransferTracker();
        byte[] record = new WebReplRequest(WebReplOperation.PutFile, 300, "a.py").ToArray();
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
        tracker.OnClientBytes(new WebReplRequest(WebReplOperation.GetFile, 0, "b.txt").ToArray());
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

        tracker.OnClientBytes(new WebReplRequest(WebReplOperation.GetVersion, 0, string.Empty).ToArray());
        Assert.Equal("version", tracker.Operation);
        tracker.OnBoardBytes(new byte[] { 1, 24, 1 });
        Assert.True(tracker.IsIdle);
    }

    [Fact]
    public void Tracker_PipelinedGet_CountsRequestsInFlightAndNoReadAheadWhileAnyIs()
    {
        var tracker = new TransferTracker();
        byte[] opening = [.. new WebReplRequest(WebReplOperation.GetFile, 0, "b.txt").ToArray(), 0, 0, 0];
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
        tracker.OnClientBytes([.. new WebReplRequest(WebReplOperation.GetFile, 0, "b.txt").ToArray(), 0, 0, 0, 0]);
        tracker.OnBoardBytes(new byte[] { (byte)'W', (byte)'B', 0, 0, 1, 0, 9, 0, 0, (byte)'W', (byte)'B', 0, 0 });
        Assert.True(tracker.InsideRecord); // the board holds two bytes of a record
        Assert.False(tracker.IsIdle);

        // The client completes them as a GET_VER record (the board checks no signature): the version reply follows.
        byte[] version = new WebReplRequest(WebReplOperation.GetVersion, 0, string.Empty).ToArray();
        tracker.OnClientBytes(version.AsSpan(2));
        Assert.Equal("version", tracker.Operation);
        tracker.OnBoardBytes(new byte[] { 1, 24, 1 });
        Assert.True(tracker.IsIdle);
    }

    [Fact]
    public void Tracker_GetReadAhead_DueAfterOpenAndNonEmptyChunks_OwedBytesDropped()
    {
        var tracker = new TransferTracker();
        tracker.OnClientBytes(new WebReplRequest(WebReplOperation.GetFile, 0, "b.txt").ToArray());
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
        byte[] next = new WebReplRequest(WebReplOperation.GetVersion, 0, string.Empty).ToArray();
        Assert.Equal(1, tracker.OnClientBytes([0, .. next])); // the owed byte, then the next request whole
        Assert.Equal("version", tracker.Operation);

        var refused = new TransferTracker();
        refused.OnClientBytes(new WebReplRequest(WebReplOperation.GetFile, 0, "x").ToArray());
        refused.OnBoardBytes("WB\x01\0"u8);
        Assert.False(refused.ReadAheadDue); // a status that is not 0: the client does not ask
    }
}
