using System.Text;

namespace WebRepl.Cli.Board.Tests;

/// <summary>
/// The README's "Code and files" examples, read from README.md and run as written against the virtual board
/// (local paths moved into a temporary folder): a new user's first commands must work there as on a real board.
/// </summary>
public sealed class ReadmeExamplesTests(BoardFixture fixture) : IClassFixture<BoardFixture>, IDisposable
{
    private readonly CancellationTokenSource _timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
    private readonly LocalFolder _local = new();

    private CancellationToken Token => _timeout.Token;

    public void Dispose()
    {
        _local.Dispose();
        _timeout.Dispose();
    }

    [Fact]
    public async Task CodeAndFilesExamples_EachRunsOnTheVirtualBoard_Exit0()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(180));
        var examples = ReadExamples("### Code and files");
        Assert.True(examples.Count >= 10, $"Found only {examples.Count} examples in README.md.");

        // What the examples expect to find: board files, and local files and folders.
        File.WriteAllText(fixture.HostPath("boot.py"), "# boot\n");
        File.WriteAllText(fixture.HostPath("main.py"), "print('main')\n");
        File.WriteAllText(fixture.HostPath("old.py"), "x = 1\n");
        Directory.CreateDirectory(fixture.HostPath("lib/old"));
        File.WriteAllText(fixture.HostPath("lib/old/util.py"), "y = 2\n");
        Directory.CreateDirectory(fixture.HostPath("empty"));
        _local.File("blink.py", "for i in range(3):\n    print('blink', i)\n");
        _local.File("lib/helper.py", "z = 3\n");
        _local.File("app/main.py", "print('app')\n");

        foreach (var example in examples)
        {
            string[] args = [.. example.Skip(1).Select(Localize)];
            var run = await fixture.RunAsync(args, Token);
            Assert.True(run.ExitCode == 0, $"'{string.Join(' ', example)}' failed: {run}");
            if (args[0] == "exec" && args[1].Contains("os.uname()", StringComparison.Ordinal))
            {
                Assert.Contains("sysname=", run.Out, StringComparison.Ordinal);
            }
        }

        Assert.True(File.Exists(fixture.HostPath("new.py")), "mv :old.py :new.py");
        Assert.True(File.Exists(fixture.HostPath("lib/helper.py")), "cp -r ./lib :");
        Assert.False(Directory.Exists(fixture.HostPath("lib/old")), "rm -r :lib/old");
    }

    /// <summary>Local paths in the examples (./lib, blink.py) point into this test's folder.</summary>
    private string Localize(string argument) =>
        argument.StartsWith("./", StringComparison.Ordinal) || (argument.EndsWith(".py", StringComparison.Ordinal) && !argument.StartsWith(':') && !argument.Contains(' ', StringComparison.Ordinal))
            ? Path.Combine(_local.Path, argument.TrimStart('.', '/'))
            : argument;

    /// <summary>The <c>webrepl ...</c> lines of the first sh block after <paramref name="heading"/>, split as a shell splits them.</summary>
    private static List<string[]> ReadExamples(string heading)
    {
        string readme = File.ReadAllText(FindReadme());
        int section = readme.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(section >= 0, $"README.md has no '{heading}'.");
        int start = readme.IndexOf("```sh\n", section, StringComparison.Ordinal) + "```sh\n".Length;
        int end = readme.IndexOf("```", start, StringComparison.Ordinal);
        return [.. readme[start..end].Split('\n')
            .Select(line => line.Trim())
            .Where(line => line.StartsWith("webrepl ", StringComparison.Ordinal))
            .Select(Split)];
    }

    private static string[] Split(string line)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        bool quoted = false, any = false;
        foreach (char c in line)
        {
            if (c == '"')
            {
                quoted = !quoted;
                any = true;
            }
            else if (c == '#' && !quoted && word.Length == 0 && !any)
            {
                break; // a comment
            }
            else if (c == ' ' && !quoted)
            {
                if (any)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    any = false;
                }
            }
            else
            {
                word.Append(c);
                any = true;
            }
        }

        if (any)
        {
            words.Add(word.ToString());
        }

        return [.. words];
    }

    private static string FindReadme()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            string candidate = Path.Combine(folder.FullName, "README.md");
            if (File.Exists(candidate) && File.Exists(Path.Combine(folder.FullName, "WebRepl.sln")))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("README.md not found above the test's folder.");
    }
}
