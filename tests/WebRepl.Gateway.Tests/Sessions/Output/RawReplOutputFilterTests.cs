using System.Text;
using WebRepl.Gateway.Sessions;

namespace WebRepl.Gateway.Tests.Sessions.Output;

/// <summary>
/// What the other clients of a shared session see of one client's raw REPL, frame by frame as a board sends it
/// (pyexec.c's raw REPL and raw-paste): the programs' output and tracebacks, none of the protocol.
/// </summary>
public sealed class RawReplOutputFilterTests
{
    private const string FriendlyBanner = "\r\nMicroPython v1.24.1 on 2024-11-29; ESP32 module with ESP32\r\nType \"help()\" for more information.\r\n>>> ";

    private static string Run(params string[] frames) => RunAfter("\r\n", frames);

    private static string RunAfter(string shownBefore, params string[] frames)
    {
        var filter = new RawReplOutputFilter();
        filter.Passed(Encoding.Latin1.GetBytes(shownBefore));
        filter.Start();
        var seen = new StringBuilder();
        foreach (string frame in frames)
        {
            seen.Append(Encoding.Latin1.GetString(filter.Filter(Encoding.Latin1.GetBytes(frame))));
        }

        Assert.False(filter.Active, "the filter ends at the friendly prompt");
        return seen.ToString();
    }

    [Fact]
    public void Filter_RawPasteRunWithTraceback_OutputAndTracebackOnly()
    {
        string seen = Run(
            "raw REPL; CTRL-B to exit\r\n", ">",
            "R\u0001\u0080\u0000", "\u0001", "\u0001",
            "\u0004", "hello\r\n", "F 76 'hello_newcomer.py'\r\n", "\u0004",
            "Traceback (most recent call last):\r\nOSError: 2\r\n", "\u0004", ">",
            "\r\n", FriendlyBanner);
        Assert.Equal("hello\r\nF 76 'hello_newcomer.py'\r\nTraceback (most recent call last):\r\nOSError: 2\r\n>>> ", seen);
    }

    [Fact]
    public void Filter_PlainRawRepl_OkAndMarkersDropped()
    {
        string seen = Run("raw REPL; CTRL-B to exit\r\n>", "R\u0000", "OK", "42\r\n\u0004\u0004>", "OK", "\u0004\u0004>", FriendlyBanner);
        Assert.Equal("42\r\n>>> ", seen);
    }

    [Fact]
    public void Filter_WindowSizeHoldsEot_AndEverythingSplitAcrossFrames_StillFollowed()
    {
        // A window of 1024 bytes is \x00\x04: not the end of the paste. Every byte its own frame.
        string board = "raw REPL; CTRL-B to exit\r\n>R\u0001\u0000\u0004\u0001\u0004no newline\u0004\u0004>" + FriendlyBanner;
        string seen = Run([.. board.Select(c => c.ToString())]);
        Assert.Equal("no newline\r\n>>> ", seen);
    }

    [Fact]
    public void Filter_SeveralRunsInOneRawSession_EachRunsOutputShown()
    {
        string seen = Run(
            "raw REPL; CTRL-B to exit\r\n>",
            "R\u0001\u0080\u0000\u0004one\r\n\u0004\u0004>",
            "R\u0001\u0080\u0000\u0004two\r\n\u0004\u0004>",
            FriendlyBanner);
        Assert.Equal("one\r\ntwo\r\n>>> ", seen);
    }

    [Fact]
    public void Filter_OthersAtAPrompt_ProgramOutputAndPromptOnLinesOfTheirOwn()
    {
        Assert.Equal("\r\nfor people 42\r\n>>> ", RunAfter(">>> ", "raw REPL; CTRL-B to exit\r\n>", "R\u0001\u0080\u0000\u0004for people 42\r\n\u0004\u0004>", FriendlyBanner));
        Assert.Equal("\r\n>>> ", RunAfter(">>> ", "raw REPL; CTRL-B to exit\r\n>", "R\u0001\u0080\u0000\u0004\u0004\u0004>", FriendlyBanner));
    }

    [Theory]
    [InlineData(">>> \r\n>>> \r\n>>> \r\nraw REPL; CTRL-B to exit\r\n>", 42)]
    [InlineData("raw REPL; CTRL-B to exit\r\n>", 24)]
    [InlineData("-B to exit\r\n>", 10)]
    [InlineData("\r\n>", 0)]
    public void AfterBanner_PromptsAndBannerInOneFrame_FilterStartsAfterTheBanner(string frame, int expected)
    {
        Assert.Equal(expected, RawReplOutputFilter.AfterBanner(Encoding.Latin1.GetBytes(frame)));
    }

    [Fact]
    public void Filter_FromAfterTheBanner_WhenTheFrameBeganWithPrompts_OnlyTheProgramsOutput()
    {
        // The virtual board gathers what it prints: the answer to Ctrl-C, Ctrl-A comes as one frame.
        byte[] first = Encoding.Latin1.GetBytes(">>> \r\n>>> \r\nraw REPL; CTRL-B to exit\r\n>");
        var filter = new RawReplOutputFilter();
        filter.Passed("\r\n"u8);
        filter.Start();
        var seen = new StringBuilder(Encoding.Latin1.GetString(filter.Filter(first.AsSpan(RawReplOutputFilter.AfterBanner(first)))));
        foreach (string frame in new[] { "R\u0001\u0080\u0000\u0001", "\u0004F 15 'hello_newcomer.py'\r\n\u0004\u0004>", "\r\n" + FriendlyBanner })
        {
            seen.Append(Encoding.Latin1.GetString(filter.Filter(Encoding.Latin1.GetBytes(frame))));
        }

        Assert.Equal("F 15 'hello_newcomer.py'\r\n>>> ", seen.ToString());
    }
}
