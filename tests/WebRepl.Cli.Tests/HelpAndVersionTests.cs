using System.Reflection;

namespace WebRepl.Cli.Tests;

/// <summary>
/// Every spelling of help (-h, --help, -?, /h, /?), for the program and for each of its commands, and --version:
/// the help and version options are added only when a word may ask for them (start-up time), so each spelling is
/// checked here, as are words that merely look like them.
/// </summary>
public sealed class HelpAndVersionTests
{
    private static readonly string[] HelpSpellings = ["-h", "--help", "-?", "/h", "/?"];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>The program's commands as its help lists them, so that a command added later is covered too.</summary>
    private static async Task<string[]> CommandsAsync()
    {
        var run = await Cli.RunAsync(["--help"], cancellationToken: Token);
        string[] lines = run.Out.ReplaceLineEndings("\n").Split('\n');
        return [.. lines.SkipWhile(l => l != "Commands:").Skip(1).TakeWhile(l => l.Length > 0)
            .Select(l => l.Trim().Split(' ')[0])];
    }

    [Fact]
    public async Task Commands_AreListed()
    {
        string[] commands = await CommandsAsync();

        foreach (string command in new[] { "repl", "put", "get", "version", "exec", "ls", "board", "gateway", "mcp" })
        {
            Assert.Contains(command, commands);
        }
    }

    [Theory]
    [InlineData("-h")]
    [InlineData("--help")]
    [InlineData("-?")]
    [InlineData("/h")]
    [InlineData("/?")]
    public async Task Help_EverySpelling_ForTheProgram_PrintsItsHelp(string spelling)
    {
        var run = await Cli.RunAsync([spelling], cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        Assert.Empty(run.Error);
        string help = run.Out.ReplaceLineEndings("\n");
        Assert.Contains("Usage:\n  webrepl [command] [options]", help, StringComparison.Ordinal);
        Assert.Contains("-?, -h, --help", help, StringComparison.Ordinal);
        Assert.Contains("--version", help, StringComparison.Ordinal);
        Assert.Contains("Exit codes:", help, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_EverySpelling_ForEveryCommand_PrintsThatCommandsHelp()
    {
        string[] commands = await CommandsAsync();
        var failures = new List<string>();
        foreach (string command in commands)
        {
            foreach (string spelling in HelpSpellings)
            {
                if (spelling == "-h" && command is "tree" or "df")
                {
                    // Their own -h means sizes in K, M, G (as mpremote's tree and df's -h): the other spellings ask for help.
                    continue;
                }

                var run = await Cli.RunAsync([command, spelling], cancellationToken: Token);
                string help = run.Out.ReplaceLineEndings("\n");
                if (run.ExitCode != 0 || run.Error.Length > 0 || !help.StartsWith("Description:", StringComparison.Ordinal) ||
                    !help.Contains($"Usage:\n  webrepl {command}", StringComparison.Ordinal) || !help.Contains("-?, -h, --help", StringComparison.Ordinal))
                {
                    failures.Add($"webrepl {command} {spelling}: exit {run.ExitCode}, {run.Error}{run.Out}");
                }
            }
        }

        Assert.True(commands.Length >= 9, $"Only {commands.Length} commands found.");
        Assert.Empty(failures);
    }

    [Theory]
    [InlineData("-qh")] // bundled short options
    [InlineData("-t", "127.0.0.1:1", "-h")] // after other options
    public async Task Help_AmongOtherWords_StillPrintsHelp_NothingConnected(params string[] words)
    {
        var run = await Cli.RunAsync(["get", .. words], cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("Usage:\n  webrepl get", run.Out.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_FromAResponseFile_PrintsHelp()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "exec\n--help\n");

            var run = await Cli.RunAsync(["@" + file], cancellationToken: Token);

            Assert.Equal(0, run.ExitCode);
            Assert.Contains("Usage:\n  webrepl exec", run.Out.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Version_PrintsTheProgramsVersion()
    {
        string expected = typeof(WebReplCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;

        var run = await Cli.RunAsync(["--version"], cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(expected, run.Out.Trim());
        Assert.Empty(run.Error);
    }

    [Theory]
    [InlineData("board")]
    [InlineData("gateway")]
    public async Task Version_AfterACommandWithoutArguments_IsAUsageError(string command)
    {
        // The program's version belongs to the program: 'webrepl --version' (and 'webrepl version' asks the board).
        var run = await Cli.RunAsync([command, "--version"], cancellationToken: Token);

        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.Contains("'--version'", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "exec", "print(1)" }, false)]
    [InlineData(new[] { "-t", "host", "ls", ":/home" }, false)]
    [InlineData(new[] { "put", "/home/me/main.py", ":" }, false)]
    [InlineData(new[] { "exec", "--", "x" }, false)]
    [InlineData(new[] { "ls", "-h" }, true)]
    [InlineData(new[] { "-?" }, true)]
    [InlineData(new[] { "/h" }, true)]
    [InlineData(new[] { "--version" }, true)]
    [InlineData(new[] { "-qh" }, true)]
    [InlineData(new[] { "@args.txt" }, true)]
    public void MayAskForHelpOrVersion_OnlyWordsThatCanBeThoseOptions(string[] args, bool expected)
    {
        Assert.Equal(expected, CommandUsage.MayAskForHelpOrVersion(args));
    }
}
