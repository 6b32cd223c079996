using System.Text;
using WebRepl.Gateway.Sessions;

namespace WebRepl.Gateway.Tests.Sessions.Input;

/// <summary>
/// Who has the board's input while clients share it: the raw REPL's owner, the others' input held and sent in order,
/// and the claims a Ctrl-A makes, confirmed by the board's banner or released when it does not come.
/// </summary>
public sealed class RawReplArbiterTests
{
    private static readonly byte[] CtrlA = [0x01];
    private static readonly byte[] CtrlB = [0x02];
    private static readonly byte[] Banner = "raw REPL; CTRL-B to exit\r\n>"u8.ToArray();

    private sealed class Client(string name)
    {
        public override string ToString() => name;
    }

    [Fact]
    public void EnteringTwiceInARow_FirstCtrlAsTimer_DoesNotReleaseTheSecondClaim()
    {
        // A client enters the raw REPL, leaves it, and enters again within the confirmation time (webrepl exec run
        // twice, a page that runs two snippets); the board is slow to answer the second Ctrl-A.
        var arbiter = new RawReplArbiter<Client>();
        var a = new Client("a");
        var b = new Client("b");
        long first = arbiter.OnInput(a, CtrlA, true).Claim!.Value;
        Assert.Equal(RawReplView.Confirmed, arbiter.OnBoardText(Banner));
        Assert.False(arbiter.OnInput(a, CtrlB, true).Drain);
        long second = arbiter.OnInput(a, CtrlA, true).Claim!.Value;
        Assert.NotEqual(first, second);

        // The first Ctrl-A's timer fires: that claim was confirmed and is over; the second one still waits.
        Assert.False(arbiter.OnConfirmTimeout(first, out _));
        Assert.Same(a, arbiter.Owner);
        Assert.False(arbiter.OnInput(b, "x"u8, true).Write); // the other client's keys wait
        Assert.Equal(RawReplView.Confirmed, arbiter.OnBoardText(Banner));
        Assert.False(arbiter.OnConfirmTimeout(second, out _));
        Assert.Same(a, arbiter.Owner);
    }

    [Fact]
    public void ResentCtrlA_RenewsTheClaim_EarlierTimerIgnored()
    {
        // A client that sees no banner sends Ctrl-A again (resynchronising); the board answers the second one.
        var arbiter = new RawReplArbiter<Client>();
        var a = new Client("a");
        var b = new Client("b");
        long first = arbiter.OnInput(a, CtrlA, true).Claim!.Value;
        Assert.Equal(RawReplView.Trial, arbiter.OnBoardText("\r\n>>> "u8));
        long second = arbiter.OnInput(a, "\r\u0001"u8, true).Claim!.Value;
        Assert.NotEqual(first, second);

        Assert.False(arbiter.OnConfirmTimeout(first, out _));
        Assert.Same(a, arbiter.Owner);

        // Another client's Ctrl-A meanwhile is held, not a claim of its own: the banner is a's.
        var other = arbiter.OnInput(b, CtrlA, true);
        Assert.False(other.Write);
        Assert.Null(other.Claim);
        Assert.Equal(RawReplView.Confirmed, arbiter.OnBoardText(Banner));
        Assert.Same(a, arbiter.Owner);
    }

    [Fact]
    public void OldTimer_DoesNotReleaseAnotherClientsClaim()
    {
        var arbiter = new RawReplArbiter<Client>();
        var a = new Client("a");
        var b = new Client("b");
        long first = arbiter.OnInput(a, CtrlA, true).Claim!.Value;
        arbiter.OnInput(a, CtrlB, true);
        long second = arbiter.OnInput(b, CtrlA, true).Claim!.Value;

        Assert.False(arbiter.OnConfirmTimeout(first, out _));
        Assert.Same(b, arbiter.Owner);
        Assert.True(arbiter.OnConfirmTimeout(second, out _));
        Assert.Null(arbiter.Owner);
    }

    [Fact]
    public void OthersInputHeld_CtrlCAtOnce_ToldOnce_SentInOrderAfterCtrlB()
    {
        var arbiter = new RawReplArbiter<Client>();
        var runner = new Client("runner");
        var typist = new Client("typist");
        Assert.True(arbiter.OnInput(runner, CtrlA, true).Write);
        Assert.Equal(RawReplView.Confirmed, arbiter.OnBoardText(Banner));

        var first = arbiter.OnInput(typist, "ab\u0003c"u8, true);
        Assert.False(first.Write);
        Assert.Equal(1, first.Interrupts);
        Assert.Equal(InputNotice.Held, first.Notice);
        Assert.False(first.Drain);
        var second = arbiter.OnInput(typist, "d"u8, true);
        Assert.Equal(InputNotice.None, second.Notice);
        Assert.True(arbiter.OnInput(runner, "print(1)\u0004"u8, true).Write);

        var done = arbiter.OnInput(runner, CtrlB, true);
        Assert.True(done.Write);
        Assert.True(done.Drain);
        var sent = new StringBuilder();
        while (arbiter.TryTakeHeld(false, out var client, out var payload, out _))
        {
            Assert.Same(typist, client);
            sent.Append(Encoding.ASCII.GetString(payload.Span));
        }

        Assert.Equal("abcd", sent.ToString());
        Assert.Equal(0, arbiter.HeldBytes);
        Assert.True(arbiter.OnInput(typist, "e"u8, true).Write);
    }

    [Fact]
    public void CtrlANotAnswered_ClaimReleased_HeldInputDrained()
    {
        // Ctrl-A on a line that is not empty moves to its start: no banner comes.
        var arbiter = new RawReplArbiter<Client>();
        var a = new Client("a");
        var b = new Client("b");
        long claim = arbiter.OnInput(a, "abc\u0001"u8, true).Claim!.Value;
        Assert.Equal(RawReplView.Trial, arbiter.OnBoardText("\u001b[3D"u8));
        var held = arbiter.OnInput(b, "x"u8, true);
        Assert.False(held.Write);
        Assert.Equal(InputNotice.None, held.Notice); // not told while the claim is on trial

        Assert.True(arbiter.OnConfirmTimeout(claim, out bool drain));
        Assert.True(drain);
        Assert.Null(arbiter.Owner);
        Assert.True(arbiter.TryTakeHeld(false, out var client, out var payload, out _));
        Assert.Same(b, client);
        Assert.Equal("x"u8.ToArray(), payload.ToArray());
        Assert.False(arbiter.TryTakeHeld(false, out _, out _, out _));
        Assert.Equal(RawReplView.None, arbiter.OnBoardText(Banner));
    }

    [Fact]
    public void HeldInputBounded_TheRestDroppedWithANotice()
    {
        var arbiter = new RawReplArbiter<Client>();
        var a = new Client("a");
        var b = new Client("b");
        arbiter.OnInput(a, CtrlA, true);
        arbiter.OnBoardText(Banner);
        byte[] big = new byte[RawReplArbiter<Client>.MaxHeldText];
        Array.Fill(big, (byte)'x');
        Assert.Equal(InputNotice.Held, arbiter.OnInput(b, big, true).Notice);
        Assert.Equal(InputNotice.Full, arbiter.OnInput(b, "y"u8, true).Notice);
        Assert.Equal(RawReplArbiter<Client>.MaxHeldText, arbiter.HeldBytes);
    }

    [Fact]
    public void OwnerLeavesDuringRawPaste_BoardSentBack_OthersDrained()
    {
        var arbiter = new RawReplArbiter<Client>();
        var a = new Client("a");
        var b = new Client("b");
        arbiter.OnInput(a, CtrlA, true);
        arbiter.OnBoardText(Banner);
        arbiter.OnInput(a, "\u0005A\u0001"u8, true); // raw-paste request (Ctrl-E A Ctrl-A): still its raw REPL
        Assert.Same(a, arbiter.Owner);
        Assert.True(arbiter.OwnerPasting);
        arbiter.OnInput(b, "z"u8, true);

        arbiter.Leave(a, othersStay: true, out bool leaveRaw, out bool pasting, out bool drain);
        Assert.True(leaveRaw);
        Assert.True(pasting);
        Assert.True(drain);
        Assert.Null(arbiter.Owner);
        Assert.True(arbiter.TryTakeHeld(false, out var client, out _, out _));
        Assert.Same(b, client);
    }

    [Fact]
    public void LeavingClientsHeldInput_Forgotten()
    {
        var arbiter = new RawReplArbiter<Client>();
        var a = new Client("a");
        var b = new Client("b");
        arbiter.OnInput(a, CtrlA, true);
        arbiter.OnBoardText(Banner);
        arbiter.OnInput(b, "gone"u8, true);
        arbiter.Leave(b, othersStay: true, out bool leaveRaw, out _, out _);
        Assert.False(leaveRaw);
        Assert.Equal(0, arbiter.HeldBytes);
        Assert.True(arbiter.OnInput(a, CtrlB, true).Write);
        Assert.False(arbiter.TryTakeHeld(false, out _, out _, out _));
    }

    [Fact]
    public void FragmentedMessage_NeverHeld()
    {
        var arbiter = new RawReplArbiter<Client>();
        var a = new Client("a");
        var b = new Client("b");
        arbiter.OnInput(a, CtrlA, true);
        Assert.True(arbiter.OnInput(b, "part"u8, complete: false).Write);
    }
}
