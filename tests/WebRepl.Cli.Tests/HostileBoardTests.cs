using System.Text.Json;

namespace WebRepl.Cli.Tests;

/// <summary>What the command does against a board that lies: names that climb out of the destination, names that drive the terminal, replies without end.</summary>
public sealed class HostileBoardTests : IDisposable
{
    private const string Hostile = "\u001b]0;OWNED\u0007\u001b[2Jtitle.txt";

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));
    private readonly string _base = Directory.CreateTempSubdirectory("webrepl-hostile-").FullName;

    private CancellationToken Token => _timeout.Token;

    public void Dispose()
    {
        Directory.Delete(_base, recursive: true);
        _timeout.Dispose();
    }

    [Theory]
    [InlineData("dir/../../x")]
    [InlineData("dir/sub/../../../x")]
    [InlineData("dir//ABSOLUTE/x")]
    [InlineData("dir/..\\..\\x")]
    public async Task CopyRecursive_ListingClimbsOutOfTheFolder_RefusesAndWritesNothing(string climbing)
    {
        string destination = Path.Combine(_base, "a", "b", "dest");
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        climbing = climbing.Replace("/ABSOLUTE", _base, StringComparison.Ordinal);
        await using var board = new HostileBoard(code => Answer(code, "dir", [HostileBoard.Row("dir/ok.txt"), HostileBoard.Row(climbing)]));

        var run = await Cli.RunAsync(["-t", board.Address, "-p", HostileBoard.Password, "cp", "-r", ":dir", destination], cancellationToken: Token);

        Assert.Equal(ExitCodes.RemoteError, run.ExitCode);
        Assert.Contains("Refused the board name", run.Error, StringComparison.Ordinal);
        Assert.Contains(climbing[4..], run.Error, StringComparison.Ordinal);
        // Nothing at all was written: not the escaping file, and not the good one either (the listing is checked first).
        Assert.Empty(Directory.EnumerateFiles(_base, "*", SearchOption.AllDirectories));
        Assert.False(Directory.Exists(destination));
    }

    [Fact]
    public async Task CopyRecursive_GoodListing_CopiesIntoTheDestination()
    {
        string destination = Path.Combine(_base, "dest");
        await using var board = new HostileBoard(code => Answer(code, "dir", [HostileBoard.Row("dir/sub", folder: true), HostileBoard.Row("dir/sub/ok.txt")]));

        var run = await Cli.RunAsync(["-t", board.Address, "-p", HostileBoard.Password, "cp", "-r", ":dir", destination], cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(HostileBoard.Payload, File.ReadAllBytes(Path.Combine(destination, "sub", "ok.txt")));
    }

    [Fact]
    public async Task Get_SeveralFilesOneNamedDotDot_RefusesIt()
    {
        string destination = Path.Combine(_base, "a", "dest");
        Directory.CreateDirectory(destination);
        await using var board = new HostileBoard(code => Answer(code, "x", []));

        var run = await Cli.RunAsync(["-t", board.Address, "-p", HostileBoard.Password, "get", ":ok.txt", ":sub/..", destination], cancellationToken: Token);

        Assert.Equal(ExitCodes.RemoteError, run.ExitCode);
        Assert.Contains("it contains '..'", run.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(_base, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task LegacyGet_RemoteNamedDotDotIntoFolder_RefusesIt()
    {
        string destination = Path.Combine(_base, "a", "dest");
        Directory.CreateDirectory(destination);
        await using var board = new HostileBoard(code => Answer(code, "x", []));

        var run = await Cli.RunAsync(["-p", HostileBoard.Password, $"{board.Address}:/lib/..", destination], cancellationToken: Token);

        Assert.Equal(ExitCodes.RemoteError, run.ExitCode);
        Assert.Contains("it contains '..'", run.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(_base, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task List_NameWithEscapeSequences_PrintsThemEscaped()
    {
        await using var board = new HostileBoard(code => Answer(code, string.Empty, [HostileBoard.Row(Hostile), HostileBoard.Row("line\nfake.txt")]));

        var run = await Cli.RunAsync(["-t", board.Address, "-p", HostileBoard.Password, "ls", "-l", ":"], cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        Assert.DoesNotContain('\u001b', run.All);
        Assert.DoesNotContain('\u0007', run.All);
        Assert.Contains(@"\x1b]0;OWNED\x07\x1b[2Jtitle.txt", run.Out, StringComparison.Ordinal);
        Assert.Contains(@"line\x0afake.txt", run.Out, StringComparison.Ordinal);
        Assert.Equal(2, run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task List_Json_KeepsTheExactName()
    {
        await using var board = new HostileBoard(code => Answer(code, string.Empty, [HostileBoard.Row(Hostile)]));

        var run = await Cli.RunAsync(["-t", board.Address, "-p", HostileBoard.Password, "ls", "--json", ":"], cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        Assert.DoesNotContain('\u001b', run.Out);
        using var json = JsonDocument.Parse(run.Out);
        Assert.Equal(Hostile, json.RootElement[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task Copy_MissingNameWithEscapeSequences_ErrorPrintsItEscaped()
    {
        await using var board = new HostileBoard(code => Answer(code, string.Empty, []));

        var run = await Cli.RunAsync(["-t", board.Address, "-p", HostileBoard.Password, "cp", "-r", ":" + Hostile, _base], cancellationToken: Token);

        Assert.Equal(ExitCodes.RemoteError, run.ExitCode);
        Assert.Contains(@"\x1b]0;OWNED\x07", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', run.All);
    }

    [Fact]
    public async Task List_ReplyNeverEnds_StopsAtTheLimitWithAnError()
    {
        await using var board = new HostileBoard(code => code.Contains("def _w(p, r)", StringComparison.Ordinal)
            ? new ReplAnswer(HostileBoard.Row("x.txt"), Endless: true)
            : Answer(code, string.Empty, []));

        var run = await Cli.RunAsync(["-t", board.Address, "-p", HostileBoard.Password, "ls", ":"], cancellationToken: Token);

        Assert.Equal(ExitCodes.CannotConnect, run.ExitCode);
        Assert.Contains("more than 4,194,304 bytes", run.Error, StringComparison.Ordinal);
        Assert.Empty(run.Out);
    }

    [Fact]
    public async Task List_BoardSilentAfterOk_TimesOutWithAnError()
    {
        await using var board = new HostileBoard(code => code.Contains("def _w(p, r)", StringComparison.Ordinal)
            ? new ReplAnswer(string.Empty, Silent: true)
            : Answer(code, string.Empty, []));

        var run = await Cli.RunAsync(["-t", board.Address, "-p", HostileBoard.Password, "--timeout", "1", "ls", ":"], cancellationToken: Token);

        Assert.Equal(ExitCodes.Timeout, run.ExitCode);
        Assert.Contains("sent nothing for 1 s", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_AnswerIsNotAListing_SaysTheBoardsAnswerIsWrong()
    {
        await using var board = new HostileBoard(code => code.Contains("def _w(p, r)", StringComparison.Ordinal)
            ? new ReplAnswer("[\"a.txt\", \"x\"]\r\n")
            : Answer(code, string.Empty, []));

        var run = await Cli.RunAsync(["-t", board.Address, "-p", HostileBoard.Password, "ls", ":"], cancellationToken: Token);

        Assert.Equal(ExitCodes.CannotConnect, run.ExitCode);
        Assert.Contains("is not what a MicroPython board prints", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("unexpected error", run.Error, StringComparison.Ordinal);
    }

    /// <summary>Stat says <paramref name="folder"/> is a folder (anything else does not exist); a listing prints <paramref name="rows"/>.</summary>
    private static ReplAnswer Answer(string code, string folder, string[] rows)
    {
        if (code.Contains("def _w(p, r)", StringComparison.Ordinal))
        {
            return new ReplAnswer(string.Concat(rows));
        }

        if (code.Contains("print('[0]')", StringComparison.Ordinal))
        {
            return new ReplAnswer(code.Contains($"os.stat('{folder}')", StringComparison.Ordinal) ? "[1, true, 0]\r\n" : "[0]\r\n");
        }

        return new ReplAnswer(string.Empty);
    }
}
