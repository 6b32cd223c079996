namespace WebRepl.Cli.Tests;

/// <summary>
/// The virtual board's password as the firmware has it (extmod/modwebrepl.c keeps at most 9 bytes): what the help
/// says is what <c>board</c> and <c>gateway --virtual-board</c> accept.
/// </summary>
public sealed class BoardPasswordLimitTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("board")]
    [InlineData("gateway")]
    public async Task Help_SaysOneToNineCharacters(string command)
    {
        var run = await Cli.RunAsync([command, "--help"], cancellationToken: Token);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("1 to 9 characters", run.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("board", "0123456789")]
    [InlineData("board", "pässwörd9")] // 9 characters, 11 bytes: the firmware counts bytes
    [InlineData("gateway", "0123456789")]
    public async Task PasswordLongerThanNineBytes_IsAUsageError_BeforeAnythingStarts(string command, string password)
    {
        string root = Directory.CreateTempSubdirectory("webrepl-board-").FullName;
        try
        {
            string[] args = command == "board"
                ? ["board", "--port", "0", "--root", root, "-p", password]
                : ["gateway", "--port", "0", "--virtual-board", "-p", password];

            var run = await Cli.RunAsync(args, cancellationToken: Token);

            Assert.Equal(ExitCodes.Usage, run.ExitCode);
            Assert.Equal("webrepl: -p: a WebREPL password has 1 to 9 characters (bytes in UTF-8) and no line end, as on a real board; choose another.", run.Error.Trim());
            Assert.Empty(Directory.GetFileSystemEntries(root));
            Assert.DoesNotContain(password, run.Out + run.Error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
