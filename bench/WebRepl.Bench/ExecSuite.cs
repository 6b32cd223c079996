using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using WebRepl.Board;
using WebRepl.Repl;

namespace WebRepl.Bench;

/// <summary>
/// The exec suite: what <c>webrepl exec</c> and <c>webrepl sync</c> cost on the virtual board (127.0.0.1), through
/// the library's own code paths (<see cref="WebReplClient.ExecAsync(string, CancellationToken)"/>,
/// <see cref="BoardSync"/>). Exec: connect + log in + run <c>print(1)</c> + close, a new connection every sample
/// (what one <c>webrepl exec</c> does after the process has started), and the same exec on an open connection;
/// <c>webrepl exec</c> as its own process for reference. Sync: a tree of 200 small files in a few folders, sent to a
/// new board folder (everything changed) and then again (nothing changed), each run on a new connection.
/// </summary>
internal static class ExecSuite
{
    private const string Password = "bench";

    /// <summary>Goal: connect + login + exec of print(1), milliseconds (median).</summary>
    private const double ExecGoalMs = 150;

    /// <summary>Goal: a sync of 200 files where nothing changed, milliseconds (median).</summary>
    private const double NoChangeSyncGoalMs = 1000;

    private const int TreeFiles = 200;

    public static async Task<int> RunAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        bool quick = settings.Quick;
        var plan = new Plan(
            Warmup: quick ? 2 : 5,
            ColdSamples: quick ? 5 : 30,
            OpenSamples: quick ? 30 : 200,
            ProcessSamples: quick ? 2 : 10,
            SyncRuns: quick ? 2 : 5);
        string root = Directory.CreateTempSubdirectory("webrepl-bench-exec-").FullName;
        string local = Directory.CreateTempSubdirectory("webrepl-bench-tree-").FullName;
        var total = Stopwatch.StartNew();
        var cpuStart = CpuTimes.Read();
        var result = new Result();
        try
        {
            Log.Progress("[exec] starting the virtual board");
            await using var board = await VirtualBoard.StartAsync(
                new VirtualBoardOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), Password = Password, Root = root }, cancellationToken);
            string target = $"127.0.0.1:{board.EndPoint.Port}";
            await ColdExecAsync(plan, target, result, cancellationToken);
            await OpenExecAsync(plan, target, result, cancellationToken);
            await ProcessExecAsync(plan, target, result, cancellationToken);
            MakeTree(local);
            await SyncAsync(plan, target, local, root, result, cancellationToken);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
            Directory.Delete(local, recursive: true);
        }

        return PrintReport(plan, result, total.Elapsed, CpuTimes.StealShare(cpuStart, CpuTimes.Read()), quick);
    }

    /// <summary>A new connection per sample: connect, log in, exec print(1), close; each part timed.</summary>
    private static async Task ColdExecAsync(Plan plan, string target, Result result, CancellationToken cancellationToken)
    {
        Log.Progress($"[exec] {plan.Warmup} + {plan.ColdSamples} × connect + login + exec print(1) + close");
        for (int i = 0; i < plan.Warmup + plan.ColdSamples; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            var client = await WebReplClient.ConnectAndLoginAsync(target, Password, cancellationToken: cancellationToken);
            long loggedIn = Stopwatch.GetTimestamp();
            string output = await client.ExecAsync("print(1)", cancellationToken);
            long executed = Stopwatch.GetTimestamp();
            await client.DisposeAsync();
            long closed = Stopwatch.GetTimestamp();
            Check(output);
            if (i >= plan.Warmup)
            {
                result.ColdTotal.Add(Fmt.Milliseconds(t0, closed));
                result.ColdLogin.Add(Fmt.Milliseconds(t0, loggedIn));
                result.ColdExec.Add(Fmt.Milliseconds(loggedIn, executed));
                result.ColdClose.Add(Fmt.Milliseconds(executed, closed));
            }

            // The board takes one client at a time: let it finish with this one before the next connects.
            await Task.Delay(5, cancellationToken);
        }
    }

    /// <summary>ExecAsync("print(1)") again and again on one logged-in connection.</summary>
    private static async Task OpenExecAsync(Plan plan, string target, Result result, CancellationToken cancellationToken)
    {
        Log.Progress($"[exec] {plan.Warmup * 4} + {plan.OpenSamples} × ExecAsync(print(1)) on one open connection");
        await using var client = await WebReplClient.ConnectAndLoginAsync(target, Password, cancellationToken: cancellationToken);
        for (int i = 0; i < plan.Warmup * 4 + plan.OpenSamples; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            string output = await client.ExecAsync("print(1)", cancellationToken);
            long t1 = Stopwatch.GetTimestamp();
            Check(output);
            if (i >= plan.Warmup * 4)
            {
                result.Open.Add(Fmt.Milliseconds(t0, t1));
            }
        }

        await Task.Delay(50, cancellationToken);
    }

    /// <summary><c>webrepl exec print(1)</c> as a separate process: what a user at a shell waits for.</summary>
    private static async Task ProcessExecAsync(Plan plan, string target, Result result, CancellationToken cancellationToken)
    {
        string? cli = CliBoard.FindCli();
        if (cli is null)
        {
            Log.Progress("[exec] the CLI (src/WebRepl.Cli/bin/<configuration>/net10.0/WebRepl.Cli.dll) was not found: no process row");
            return;
        }

        Log.Progress($"[exec] 1 + {plan.ProcessSamples} × dotnet {cli} exec print(1), and as many × --help");
        for (int i = 0; i < 1 + plan.ProcessSamples; i++)
        {
            var (ms, output) = await RunCliAsync(cli, ["exec", "print(1)", "-t", target, "-p", Password], cancellationToken);
            if (output != "1\r\n")
            {
                throw new InvalidOperationException($"webrepl exec printed {output}");
            }

            var (helpMs, _) = await RunCliAsync(cli, ["--help"], cancellationToken);
            if (i > 0)
            {
                result.Process.Add(ms);
                result.Help.Add(helpMs);
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    private static async Task<(double Ms, string Output)> RunCliAsync(string cli, string[] args, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet", [cli, .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        long t0 = Stopwatch.GetTimestamp();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        long t1 = Stopwatch.GetTimestamp();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"webrepl {string.Join(' ', args)} failed ({process.ExitCode}): {await output}{await error}");
        }

        return (Fmt.Milliseconds(t0, t1), await output);
    }

    /// <summary>200 files of 100 B to 2 KiB: 40 at the top, 40 in each of four folders (two of them nested).</summary>
    private static void MakeTree(string local)
    {
        string[] folders = [string.Empty, "lib", "lib/drivers", "app", "app/assets/icons"];
        var random = new Random(42);
        for (int i = 0; i < TreeFiles; i++)
        {
            string folder = Path.Combine(local, folders[i % folders.Length].Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(folder);
            byte[] content = new byte[random.Next(100, 2048)];
            random.NextBytes(content);
            File.WriteAllBytes(Path.Combine(folder, $"file{i:D3}.py"), content);
        }
    }

    /// <summary>Each run: a new board folder, a first sync (all new), a second sync (all the same); each on a new connection.</summary>
    private static async Task SyncAsync(Plan plan, string target, string local, string root, Result result, CancellationToken cancellationToken)
    {
        Log.Progress($"[exec] {plan.SyncRuns} × (sync of {TreeFiles} files into a new folder, then again with nothing changed)");
        long bytes = Directory.EnumerateFiles(local, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        result.TreeBytes = bytes;
        for (int run = 0; run < plan.SyncRuns; run++)
        {
            string remote = $"/sync-{run}";
            var first = await TimedSyncAsync(target, local, remote, cancellationToken);
            if (first.Actions != TreeFiles + 6 || first.Unchanged != 0)
            {
                throw new InvalidOperationException($"The first sync planned {first.Actions} actions and {first.Unchanged} unchanged; expected {TreeFiles + 6} and 0.");
            }

            if (!SameTree(local, Path.Combine(root, remote.TrimStart('/'))))
            {
                throw new InvalidOperationException("After the first sync the board folder differs from the local tree.");
            }

            await Task.Delay(20, cancellationToken);
            var second = await TimedSyncAsync(target, local, remote, cancellationToken);
            if (second.Actions != 0 || second.Unchanged != TreeFiles)
            {
                throw new InvalidOperationException($"The second sync planned {second.Actions} actions and {second.Unchanged} unchanged; expected 0 and {TreeFiles}.");
            }

            result.FirstSync.Add(first);
            result.SecondSync.Add(second);
            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>What <c>webrepl sync LOCAL :REMOTE</c> does: connect and log in, plan, apply with verification, close.</summary>
    private static async Task<SyncSample> TimedSyncAsync(string target, string local, string remote, CancellationToken cancellationToken)
    {
        long t0 = Stopwatch.GetTimestamp();
        var client = await WebReplClient.ConnectAndLoginAsync(target, Password, cancellationToken: cancellationToken);
        long loggedIn = Stopwatch.GetTimestamp();
        var syncPlan = await BoardSync.PlanAsync(client, local, remote, delete: false, cancellationToken);
        long planned = Stopwatch.GetTimestamp();
        var resent = await BoardSync.ApplyAsync(client, syncPlan, verify: true, cancellationToken: cancellationToken);
        long applied = Stopwatch.GetTimestamp();
        await client.DisposeAsync();
        long closed = Stopwatch.GetTimestamp();
        if (resent.Count > 0)
        {
            throw new InvalidOperationException($"{resent.Count} file(s) failed verification on the virtual board.");
        }

        return new SyncSample(
            Fmt.Milliseconds(t0, closed), Fmt.Milliseconds(t0, loggedIn), Fmt.Milliseconds(loggedIn, planned), Fmt.Milliseconds(planned, applied),
            syncPlan.Actions.Count, syncPlan.Unchanged);
    }

    private static bool SameTree(string local, string board)
    {
        var a = Directory.EnumerateFiles(local, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(local, f)).Order(StringComparer.Ordinal).ToList();
        var b = Directory.EnumerateFiles(board, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(board, f)).Order(StringComparer.Ordinal).ToList();
        return a.SequenceEqual(b) && a.All(f =>
            SHA256.HashData(File.ReadAllBytes(Path.Combine(local, f))).AsSpan().SequenceEqual(SHA256.HashData(File.ReadAllBytes(Path.Combine(board, f)))));
    }

    private static void Check(string output)
    {
        if (output != "1\r\n")
        {
            throw new InvalidOperationException($"exec print(1) printed {output}.");
        }
    }

    private static int PrintReport(Plan plan, Result r, TimeSpan elapsed, double steal, bool quick)
    {
        Console.WriteLine("## exec: code execution and sync on the virtual board, 127.0.0.1");
        Console.WriteLine();
        if (quick)
        {
            Console.WriteLine("*--quick: a smoke run with few samples; do not quote these figures.*");
            Console.WriteLine();
        }

        var cold = new Stats(r.ColdTotal);
        Console.WriteLine("### Exec of `print(1)`");
        Console.WriteLine();
        Console.WriteLine("| What | Samples | Median (ms) | p90 (ms) | Max (ms) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Row("new connection: connect + login + exec + close (what `webrepl exec` does once started)", r.ColdTotal);
        Row("… of which connect + login (until `WebREPL connected`)", r.ColdLogin);
        Row("… of which `ExecAsync(\"print(1)\")`", r.ColdExec);
        Row("… of which close", r.ColdClose);
        Row("open connection: `ExecAsync(\"print(1)\")`", r.Open);
        Row("`webrepl exec print(1)` as a separate process (`dotnet WebRepl.Cli.dll`, .NET start included)", r.Process);
        Row("… for comparison, `webrepl --help` as a process (no board: .NET start, parsing, help text)", r.Help);
        Console.WriteLine();
        Console.WriteLine($"After {plan.Warmup} warm-up samples ({plan.Warmup * 4} on the open connection, 1 for the process); nearest-rank percentiles.");
        Console.WriteLine();

        Console.WriteLine($"### Sync of {TreeFiles} files ({r.TreeBytes:N0} bytes, 100 B–2 KiB each: 40 at the top and 40 in each of 4 folders, 2 of them nested) with verification");
        Console.WriteLine();
        Console.WriteLine("| Sync | Runs | Median total (ms) | Max (ms) | connect + login | plan | apply (incl. verification) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        SyncRow($"first: everything new ({TreeFiles} files, 6 folders made)", r.FirstSync);
        SyncRow("second: nothing changed (nothing sent)", r.SecondSync);
        Console.WriteLine();
        Console.WriteLine("Each sync is what `webrepl sync` does: a new connection, `BoardSync.PlanAsync`, `BoardSync.ApplyAsync` (verify on), close. Medians of the parts.");
        Console.WriteLine();

        var second = new Stats(r.SecondSync.Select(s => s.TotalMs));
        bool execMet = cold.Median < ExecGoalMs;
        bool syncMet = second.Median < NoChangeSyncGoalMs;
        Console.WriteLine("### Goals");
        Console.WriteLine();
        Console.WriteLine("| Goal | Measured | Met |");
        Console.WriteLine("|---|---:|---|");
        Console.WriteLine($"| exec under 150 ms: connect + login + `print(1)` + close | median {Fmt.Ms(cold.Median)} ms, p90 {Fmt.Ms(cold.Percentile(90))} ms | {Mark(execMet)} |");
        Console.WriteLine($"| no-change sync of {TreeFiles} files under 1 s | median {Fmt.Ms(second.Median)} ms, max {Fmt.Ms(second.Max)} ms | {Mark(syncMet)} |");
        Console.WriteLine();
        string stealText = double.IsNaN(steal) ? string.Empty : $"; CPU steal {steal * 100:0.0}% of it";
        Console.WriteLine($"Whole run: {Fmt.Seconds(elapsed)}{stealText}; load average at the end {Program.LoadAverage()}.");
        return execMet && syncMet ? 0 : 3;

        static void Row(string what, List<double> samples)
        {
            var s = new Stats(samples);
            Console.WriteLine($"| {what} | {s.Count} | {Fmt.Ms(s.Median)} | {Fmt.Ms(s.Percentile(90))} | {Fmt.Ms(s.Max)} |");
        }

        static void SyncRow(string what, List<SyncSample> samples)
        {
            var total = new Stats(samples.Select(s => s.TotalMs));
            Console.WriteLine(
                $"| {what} | {total.Count} | {Fmt.Ms(total.Median)} | {Fmt.Ms(total.Max)} | {Fmt.Ms(new Stats(samples.Select(s => s.LoginMs)).Median)} | " +
                $"{Fmt.Ms(new Stats(samples.Select(s => s.PlanMs)).Median)} | {Fmt.Ms(new Stats(samples.Select(s => s.ApplyMs)).Median)} |");
        }
    }

    private static string Mark(bool met) => met ? "yes" : "**no**";

    private sealed record Plan(int Warmup, int ColdSamples, int OpenSamples, int ProcessSamples, int SyncRuns);

    private sealed record SyncSample(double TotalMs, double LoginMs, double PlanMs, double ApplyMs, int Actions, int Unchanged);

    private sealed class Result
    {
        public List<double> ColdTotal { get; } = [];

        public List<double> ColdLogin { get; } = [];

        public List<double> ColdExec { get; } = [];

        public List<double> ColdClose { get; } = [];

        public List<double> Open { get; } = [];

        public List<double> Process { get; } = [];

        public List<double> Help { get; } = [];

        public List<SyncSample> FirstSync { get; } = [];

        public List<SyncSample> SecondSync { get; } = [];

        public long TreeBytes { get; set; }
    }
}
