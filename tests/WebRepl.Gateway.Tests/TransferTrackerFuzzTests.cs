using WebRepl.Gateway.Sessions;
using WebRepl.Protocol;

namespace WebRepl.Gateway.Tests;

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
}
