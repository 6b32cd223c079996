using WebRepl.Gateway.Sessions;
using WebRepl.Protocol;

namespace WebRepl.Gateway.Tests.Sessions.Transfers;

/// <summary>
/// One client's request at a time on the board's binary half: the others' frames held in order, the next client let
/// go once the board has answered, a request finished by the gateway when its client leaves, a stall released.
/// </summary>
public sealed class TransferArbiterTests
{
    private const long Limit = 1 << 20;

    private sealed class Client(string name)
    {
        public override string ToString() => name;
    }

    private static ReadOnlyMemory<byte> Get(string name) => new WebReplRequest(WebReplOperation.GetFile, 0, name).ToArray();

    private static ReadOnlyMemory<byte> Put(string name, uint size) => new WebReplRequest(WebReplOperation.PutFile, size, name).ToArray();

    [Fact]
    public void SecondClientsRequest_HeldUntilTheFirstIsAnswered_ThenGoesInOrder()
    {
        var arbiter = new TransferArbiter<Client>();
        var a = new Client("a");
        var b = new Client("b");
        var request = Put("a.py", 2);
        Assert.True(arbiter.TryGoDirect(a, ref request, false, 0, out bool midPut));
        Assert.False(midPut); // the record: the client waits for the board's answer to it
        Assert.Same(a, arbiter.Owner);

        var other = Get("b.txt");
        Assert.False(arbiter.TryGoDirect(b, ref other, false, 0, out _));
        Assert.True(arbiter.Hold(b, other, true, Limit, out bool queued));
        Assert.True(queued);
        Assert.False(arbiter.TryNext(null, false, 0, out _, out _, out _)); // a's PUT is under way

        Assert.Same(a, arbiter.OnBoardBytes("WB\0\0"u8, 0, null, out _, out bool idle));
        Assert.False(idle);
        ReadOnlyMemory<byte> data = new byte[] { 1, 2 };
        Assert.True(arbiter.TryGoDirect(a, ref data, false, 0, out midPut));
        Assert.False(midPut); // the file's last bytes
        Assert.Same(a, arbiter.OnBoardBytes("WB\0\0"u8, 0, null, out _, out idle));
        Assert.True(idle);

        Assert.True(arbiter.TryNext(null, false, 0, out var sender, out var payload, out bool end));
        Assert.Same(b, sender);
        Assert.True(end);
        Assert.Equal(other.ToArray(), payload.ToArray());
        Assert.Same(b, arbiter.Owner);
        Assert.Equal("get 'b.txt'", arbiter.Operation);
    }

    [Fact]
    public void PutData_MidPutUntilItsLastFrame()
    {
        var arbiter = new TransferArbiter<Client>();
        var a = new Client("a");
        var record = Put("big", 10);
        arbiter.TryGoDirect(a, ref record, false, 0, out _);
        ReadOnlyMemory<byte> first = new byte[6];
        Assert.True(arbiter.TryGoDirect(a, ref first, false, 0, out bool midPut));
        Assert.True(midPut);
        Assert.Equal(4, arbiter.PutRemaining);
        ReadOnlyMemory<byte> last = new byte[4];
        arbiter.TryGoDirect(a, ref last, false, 0, out midPut);
        Assert.False(midPut);
    }

    [Fact]
    public void GetReadAhead_OwnersByteDroppedWhenItComes()
    {
        var arbiter = new TransferArbiter<Client>();
        var a = new Client("a");
        var request = Get("f");
        arbiter.TryGoDirect(a, ref request, false, 0, out _);
        arbiter.OnBoardBytes("WB\0\0"u8, 0, null, out _, out _);
        Assert.False(arbiter.TakeReadAhead(allowed: false));
        Assert.True(arbiter.TakeReadAhead(allowed: true)); // the gateway asks for chunk 1 now
        Assert.False(arbiter.TakeReadAhead(allowed: true));

        ReadOnlyMemory<byte> ask = new byte[] { 0 };
        Assert.True(arbiter.TryGoDirect(a, ref ask, false, 0, out _));
        Assert.True(ask.IsEmpty); // already sent for it
    }

    [Fact]
    public void OwnerLeavesDuringPut_GatewayFinishesIt_RepliesDropped_ThenTheNextGoes()
    {
        var arbiter = new TransferArbiter<Client>();
        var a = new Client("a");
        var b = new Client("b");
        var record = Put("x", 100);
        arbiter.TryGoDirect(a, ref record, false, 0, out _);
        ReadOnlyMemory<byte> some = new byte[40];
        arbiter.TryGoDirect(a, ref some, false, 0, out _);
        var waiting = Get("y");
        arbiter.Hold(b, waiting, true, Limit, out _);

        Assert.Equal(TransferLeave.FinishPut, arbiter.Leave(a, othersStay: true));
        Assert.True(arbiter.Abandoned);
        Assert.Equal(60, arbiter.PutRemaining);
        arbiter.OnGatewayBytes(new byte[60], 0);
        Assert.False(arbiter.TryNext(null, false, 0, out _, out _, out _)); // the board still answers a's PUT

        Assert.Null(arbiter.OnBoardBytes("WB\0\0WB\0\0"u8, 0, b, out bool askChunk, out bool idle));
        Assert.False(askChunk);
        Assert.True(idle);
        Assert.False(arbiter.Abandoned);
        Assert.True(arbiter.TryNext(null, false, 0, out var sender, out _, out _));
        Assert.Same(b, sender);
    }

    [Fact]
    public void OwnerLeavesInsideARecord_SessionEnds_LeavesDuringGet_GatewayAsksForChunks()
    {
        var arbiter = new TransferArbiter<Client>();
        var a = new Client("a");
        ReadOnlyMemory<byte> part = Get("z")[..10];
        arbiter.TryGoDirect(a, ref part, false, 0, out _);
        Assert.Equal(TransferLeave.EndSession, arbiter.Leave(a, othersStay: true));

        var getter = new TransferArbiter<Client>();
        var request = Get("z");
        getter.TryGoDirect(a, ref request, false, 0, out _);
        getter.OnBoardBytes("WB\0\0"u8, 0, null, out _, out _);
        Assert.Equal(TransferLeave.AskChunk, getter.Leave(a, othersStay: true));
        getter.OnGatewayBytes([0], 0);
        Assert.Null(getter.OnBoardBytes(new byte[] { 1, 0, 7 }, 0, null, out bool askChunk, out _));
        Assert.True(askChunk); // a chunk came: ask for the next until the file ends
    }

    [Fact]
    public void Stall_ReleasesTheOwner_ItsReadAheadByteNotSentAgain()
    {
        var arbiter = new TransferArbiter<Client>();
        var a = new Client("a");
        var request = Get("s");
        arbiter.TryGoDirect(a, ref request, false, 0, out _);
        arbiter.OnBoardBytes("WB\0\0"u8, 1000, null, out _, out _);
        Assert.True(arbiter.TakeReadAhead(true));
        Assert.False(arbiter.CheckStall(1500, 1000, out _));
        Assert.True(arbiter.CheckStall(2500, 1000, out var stalled));
        Assert.Same(a, stalled);
        Assert.Null(arbiter.Owner);
        Assert.True(arbiter.IsIdle);

        ReadOnlyMemory<byte> late = new byte[] { 0 };
        Assert.True(arbiter.TryGoDirect(a, ref late, false, 3000, out _));
        Assert.True(late.IsEmpty); // the byte it owed is dropped, not read as the start of a record
        Assert.True(arbiter.IsIdle);
    }

    [Fact]
    public void TooMuchHeld_Refused()
    {
        var arbiter = new TransferArbiter<Client>();
        var a = new Client("a");
        var b = new Client("b");
        var request = Get("q");
        arbiter.TryGoDirect(a, ref request, false, 0, out _);
        Assert.True(arbiter.Hold(b, new byte[1000], true, 1500, out _));
        Assert.False(arbiter.Hold(b, new byte[1000], true, 1500, out _));
    }
}
