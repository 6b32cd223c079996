using System.Text;
using WebRepl.Gateway.Sessions;

namespace WebRepl.Gateway.Tests.Sessions.Output;

/// <summary>
/// What the clients of a shared session see of the board's text: everything outside a raw REPL; during one client's
/// raw REPL, the owner everything and the others what its programs print; the answer to a Ctrl-A held from the others
/// until it is known whether it was the raw REPL.
/// </summary>
public sealed class BroadcasterTests
{
    private sealed class Client(string name)
    {
        public override string ToString() => name;
    }

    private static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    private static string Text(ReadOnlyMemory<byte> bytes) => Encoding.Latin1.GetString(bytes.Span);

    [Fact]
    public void NoRawRepl_EveryoneGetsTheFrame()
    {
        var output = new Broadcaster<Client>();
        var plan = output.OnBoardText(Bytes(">>> print(1)\r\n1\r\n>>> "), true, RawReplView.None, null);
        Assert.Null(plan.Owner);
        Assert.True(plan.SendOthers);
        Assert.Equal(">>> print(1)\r\n1\r\n>>> ", Text(plan.Others));
        Assert.Null(plan.Released);
        Assert.False(plan.TellRunNotice);
    }

    [Fact]
    public void ConfirmedRawRepl_OwnerGetsAll_OthersOnlyWhatProgramsPrint_ToldOnce()
    {
        var output = new Broadcaster<Client>();
        var owner = new Client("owner");
        var other = new Client("other");
        output.OnBoardText(Bytes("\r\n>>> "), true, RawReplView.None, null);

        // The board's answer to Ctrl-C, Ctrl-A comes first, then the banner: held, then dropped as protocol.
        var trial = output.OnBoardText(Bytes("\r\n>>> "), true, RawReplView.Trial, owner);
        Assert.Same(owner, trial.Owner);
        Assert.False(trial.SendOthers);
        var banner = output.OnBoardText(Bytes("\r\nraw REPL; CTRL-B to exit\r\n>"), true, RawReplView.Confirmed, owner);
        Assert.Same(owner, banner.Owner);
        Assert.True(banner.TellRunNotice);
        Assert.True(banner.Others.IsEmpty);
        Assert.Null(banner.Released);
        Assert.True(output.TakeRunNotice(other));
        Assert.False(output.TakeRunNotice(other)); // told once

        var run = output.OnBoardText(Bytes("OKhello\r\n\u0004\u0004>"), true, RawReplView.None, owner);
        Assert.Same(owner, run.Owner);
        Assert.Equal("\r\nhello\r\n", Text(run.Others)); // on a line of its own: the others' terminal was at a prompt

        // Ctrl-B: the friendly banner ends the others' filtered view; after it, everyone sees everything again.
        output.OnBoardText(Bytes("\r\nMicroPython v1.24.1 on 2024-11-29; ESP32 module with ESP32\r\nType \"help()\" for more information.\r\n>>> "), true, RawReplView.None, null);
        var after = output.OnBoardText(Bytes("x"), true, RawReplView.None, null);
        Assert.Null(after.Owner);
        Assert.Equal("x", Text(after.Others));
    }

    [Fact]
    public void CtrlANotRawRepl_HeldOutputReleased_NotToTheClientThatTypedIt()
    {
        var output = new Broadcaster<Client>();
        var typist = new Client("typist");
        var held = output.OnBoardText(Bytes("\u001b[3D"), true, RawReplView.Trial, typist);
        Assert.False(held.SendOthers);

        // The claim was released (no banner in time): what was held goes to the others.
        Assert.Equal("\u001b[3D", Text(output.TakeHeld(out var from)!));
        Assert.Same(typist, from);
        Assert.Null(output.TakeHeld(out _));
    }

    [Fact]
    public void TrialOutputTooLongForAnAnswer_ReleasedWithTheNextFrame()
    {
        var output = new Broadcaster<Client>();
        var typist = new Client("typist");
        output.OnBoardText(Bytes("abc"), true, RawReplView.Trial, typist);
        var big = output.OnBoardText(new byte[Broadcaster<Client>.MaxHeldOutput], true, RawReplView.Trial, typist);
        Assert.Equal("abc", Text(big.Released));
        Assert.Same(typist, big.ReleasedSkip);
        Assert.True(big.SendOthers);
        Assert.Equal(Broadcaster<Client>.MaxHeldOutput, big.Others.Length);
    }

    [Fact]
    public void FragmentedMessage_OthersGetItsEnd_EvenWhenEmpty()
    {
        var output = new Broadcaster<Client>();
        var first = output.OnBoardText(Bytes("part"), false, RawReplView.None, null);
        Assert.True(first.SendOthers);
        var last = output.OnBoardText(ReadOnlyMemory<byte>.Empty, true, RawReplView.None, null);
        Assert.True(last.SendOthers); // the message the others have under way is ended
        var next = output.OnBoardText(ReadOnlyMemory<byte>.Empty, true, RawReplView.None, null);
        Assert.False(next.SendOthers);
    }
}
