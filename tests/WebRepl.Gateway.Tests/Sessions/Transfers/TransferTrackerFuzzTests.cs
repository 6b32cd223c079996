using WebRepl.Gateway.Sessions;
using WebRepl.Protocol;

namespace WebRepl.Gateway.Tests.Sessions.Transfers;

/// <summary>Findings of the transfer-tracker fuzz target (fuzz/README.md), each kept fixed here.</summary>
public sealed class TransferTrackerFuzzTests
{
    [Fact]
    public void ReadAheadDue_ClientAskedForTheChunkItself_False()
    {
        // The gateway did not run ahead (read-ahead off, or a message in the way) and the client asked for the
        // first chunk itself. Read-ahead stayed due: an empty binary frame from the client then made the session
        // ask the board for a second chunk, and at the file's end that extra byte became the first byte of the
        // board's next request record.
        var tracker = new TransferTracker();
        tracker.OnClientBytes(new WebReplRequest(WebReplOperation.GetFile, 0, "a").ToArray());
        tracker.OnBoardBytes("WB\0\0"u8);
        Assert.True(tracker.ReadAheadDue);

        Assert.Equal(0, tracker.OnClientBytes([0]));

        Assert.False(tracker.ReadAheadDue);
        tracker.OnBoardBytes(new byte[] { 1, 0, 7 });
        Assert.True(tracker.ReadAheadDue); // the chunk came: now the client would ask for the next one
    }

    [Fact]
    public void Operation_OwedByteForgottenAfterTheEnd_Null()
    {
        // The owner left while the gateway had run one chunk ahead to the file's end: idle, but the session list
        // went on showing "get 'a'" until the next bytes.
        var tracker = new TransferTracker();
        tracker.OnClientBytes(new WebReplRequest(WebReplOperation.GetFile, 0, "a").ToArray());
        tracker.OnBoardBytes("WB\0\0"u8);
        tracker.OnGatewayRequest();
        tracker.OnBoardBytes(new byte[] { 0, 0, (byte)'W', (byte)'B', 0, 0 });
        Assert.Equal("get 'a'", tracker.Operation); // the client still owes its byte

        tracker.ForgetOwed();

        Assert.True(tracker.IsIdle);
        Assert.Null(tracker.Operation);
    }

    [Fact]
    public void Operation_StrayBoardBytesAfterTheLastReply_Null()
    {
        var tracker = new TransferTracker();
        tracker.OnClientBytes(new WebReplRequest(WebReplOperation.GetVersion, 0, string.Empty).ToArray());
        Assert.Equal("version", tracker.Operation);

        tracker.OnBoardBytes(new byte[] { 1, 24, 1, 9, 9 }); // the version, then bytes nobody asked for

        Assert.True(tracker.IsIdle);
        Assert.Null(tracker.Operation);
    }
}
