using WebRepl.Gateway.Sessions;
using WebRepl.Protocol;

namespace WebRepl.Gateway.Tests.Sessions.Login;

/// <summary>The session's login: the board's answer to the opener, and joiners checked against the accepted line.</summary>
public sealed class LoginGateTests
{
    private static PasswordLine Line(string typed)
    {
        var line = new PasswordLine();
        line.Feed(System.Text.Encoding.ASCII.GetBytes(typed));
        return line;
    }

    [Fact]
    public void BoardsAnswerSplitAcrossFrames_Found_ThenJoinersCheckedAsTheBoardWould()
    {
        using var gate = new LoginGate();
        Assert.Equal(new LoginProgress(false, false), gate.OnBoardText("Password: \r\nWebREPL con"u8));
        Assert.Equal(new LoginProgress(false, true), gate.OnBoardText("nected\r\n>>> "u8));
        using var opener = Line("secret\r");
        gate.Accept(opener);
        Assert.True(gate.IsOpen);

        using var right = Line("secret\n");
        using var wrong = Line("Secret\n");
        using var unfinished = Line("secret");
        Assert.True(gate.Admits(right));
        Assert.False(gate.Admits(wrong));
        Assert.False(gate.Admits(unfinished));
    }

    [Fact]
    public void Denied_SaidOnce_NobodyAdmitted()
    {
        using var gate = new LoginGate();
        Assert.True(gate.OnBoardText("\r\nAccess de"u8.ToArray().Concat("nied\r\n"u8.ToArray()).ToArray()).Denied);
        Assert.False(gate.OnBoardText("Access denied"u8).Denied);
        Assert.True(gate.DeniedSeen);
        using var any = Line("secret\r");
        Assert.False(gate.Admits(any));
    }

    [Fact]
    public void Disposed_LineWiped_NobodyAdmitted()
    {
        var gate = new LoginGate();
        using var opener = Line("pw\r");
        gate.Accept(opener);
        gate.Dispose();
        Assert.False(gate.IsOpen);
        gate.Accept(opener); // a late answer from the board: the session is over
        using var same = Line("pw\r");
        Assert.False(gate.Admits(same));
    }
}
