using WebRepl.Fuzz;

namespace WebRepl.Fuzz.Tests;

/// <summary>
/// Every input the fuzzers keep (fuzz/corpus/TARGET: seeds and new coverage; fuzz/crashes/TARGET: every finding),
/// run through the same target code as under afl-fuzz, uninstrumented: a finding once fixed stays fixed.
/// fuzz/known-findings.txt names invariant failures whose fix is another branch's; those inputs are skipped with
/// the reason until the fix lands, then pass.
/// </summary>
public sealed class ReplayTests
{
    private static readonly string FuzzFolder = FindFuzzFolder();

    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach (string kind in new[] { "corpus", "crashes" })
        {
            string folder = Path.Combine(FuzzFolder, kind);
            if (!Directory.Exists(folder))
            {
                continue;
            }

            foreach (string file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                string relative = Path.GetRelativePath(FuzzFolder, file).Replace('\\', '/');
                data.Add(relative.Split('/')[1], relative);
            }
        }

        return data;
    }

    [Fact]
    public void Inputs_EveryTarget_HasACorpus()
    {
        foreach (string target in FuzzTargets.All.Keys)
        {
            Assert.True(Directory.Exists(Path.Combine(FuzzFolder, "corpus", target)) && Directory.EnumerateFiles(Path.Combine(FuzzFolder, "corpus", target)).Any(), $"fuzz/corpus/{target} is missing or empty");
        }

        foreach (string folder in Directory.EnumerateDirectories(Path.Combine(FuzzFolder, "corpus")).Concat(Directory.EnumerateDirectories(Path.Combine(FuzzFolder, "crashes"))))
        {
            Assert.True(FuzzTargets.All.ContainsKey(Path.GetFileName(folder)), $"{folder} names no target");
        }
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Replay_KeptInput_InvariantsHold(string target, string input)
    {
        byte[] bytes = File.ReadAllBytes(Path.Combine(FuzzFolder, input));
        try
        {
            FuzzTargets.Run(target, bytes);
        }
        catch (InvariantException ex) when (KnownFinding(target, ex.Message) is { } known)
        {
            Assert.Skip($"{known} ({ex.Message})");
        }
    }

    /// <summary>The reason from fuzz/known-findings.txt (TARGET, a piece of the invariant's message, why), if one matches.</summary>
    private static string? KnownFinding(string target, string message)
    {
        foreach (string line in File.ReadLines(Path.Combine(FuzzFolder, "known-findings.txt")))
        {
            string[] fields = line.Split('\t');
            if (!line.StartsWith('#') && fields.Length == 3 && fields[0] == target && message.Contains(fields[1], StringComparison.Ordinal))
            {
                return fields[2];
            }
        }

        return null;
    }

    private static string FindFuzzFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "WebRepl.sln")))
            {
                return Path.Combine(dir.FullName, "fuzz");
            }
        }

        throw new InvalidOperationException("The repository (WebRepl.sln) was not found above the test's folder.");
    }
}
