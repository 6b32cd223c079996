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

    /// <summary>One case per folder (corpus/TARGET, crashes/TARGET): thousands of tiny cases cost more in the runner than the inputs do.</summary>
    public static TheoryData<string, string> Folders()
    {
        var data = new TheoryData<string, string>();
        foreach (string kind in new[] { "corpus", "crashes" })
        {
            string folder = Path.Combine(FuzzFolder, kind);
            if (!Directory.Exists(folder))
            {
                continue;
            }

            foreach (string target in Directory.EnumerateDirectories(folder).Select(d => Path.GetFileName(d)).Order(StringComparer.Ordinal))
            {
                data.Add(kind, target);
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
    [MemberData(nameof(Folders))]
    public void Replay_KeptInputs_InvariantsHold(string kind, string target)
    {
        var failures = new List<string>();
        var known = new SortedSet<string>(StringComparer.Ordinal);
        int count = 0;
        foreach (string file in Directory.EnumerateFiles(Path.Combine(FuzzFolder, kind, target)).Order(StringComparer.Ordinal))
        {
            count++;
            try
            {
                FuzzTargets.Run(target, File.ReadAllBytes(file));
            }
            catch (InvariantException ex) when (KnownFinding(target, ex.Message) is { } reason)
            {
                known.Add(reason);
            }
#pragma warning disable CA1031 // every failure is reported, whatever its type
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failures.Add($"fuzz/{kind}/{target}/{Path.GetFileName(file)}: {ex.GetType().Name}: {ex.Message}");
            }
        }

        Assert.True(count > 0, $"fuzz/{kind}/{target} is empty");
        Assert.True(failures.Count == 0, $"{failures.Count} of {count} inputs fail:\n{string.Join('\n', failures)}");
        if (known.Count > 0)
        {
            // The rest passed; these wait for another branch's fix (fuzz/known-findings.txt).
            Assert.Skip($"some of {count} inputs fail only on known findings: {string.Join("; ", known)}");
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
