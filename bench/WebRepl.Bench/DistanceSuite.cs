using System.Diagnostics;
using System.Globalization;
using System.Net;
using WebRepl.Board;
using WebRepl.Repl;

namespace WebRepl.Bench;

/// <summary>
/// The distance suite: whole commands against the virtual board (MicroPython behind <c>WebReplServer</c> with the
/// firmware's write pattern) at 0, 10 and 50 ms round trip, the distance made by a <see cref="LatencyRelay"/> on
/// 127.0.0.1. Each row is what a command does through the library, from connect to close: <c>cp :f local</c>
/// (stat in the REPL, then a GET pipelined with the size), the legacy get (no REPL, size unknown), a stop-and-wait
/// GET (webrepl_cli.py's way: one chunk request per round trip), the legacy put, <c>exec print(1)</c> on an open
/// connection and as a new one, <c>ls</c>, and a <c>sync</c> of 50 files where nothing changed. The round trips a
/// command makes are read off the figures: (time at 50 ms − time at 0 ms) / 50 ms.
/// </summary>
internal static class DistanceSuite
{
    private const string Password = "bench";
    private const int OneMiB = 1 << 20;
    private const int SlowSize = 64 * 1024;
    private const int TreeFiles = 50;
    private static readonly int[] OneWayMs = [0, 5, 25];

    private static readonly string[] Rows =
    [
        "GET 1 MiB, `cp :f local` (stat, pipelined GET)",
        "GET 1 MiB, legacy `webrepl HOST:f local` (size unknown)",
        "GET, stop-and-wait (webrepl_cli.py's way)",
        "PUT 1 MiB, legacy `webrepl local HOST:f`",
        "`exec print(1)` on an open connection",
        "`exec print(1)`, whole command (new connection)",
        "`ls`, whole command",
        $"`sync` of {TreeFiles} files, nothing changed",
        "GET 1 MiB, `cp` through the gateway (beside the client; the board at the distance)",
    ];

    public static async Task<int> RunAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        bool quick = settings.Quick;
        string root = Directory.CreateTempSubdirectory("webrepl-bench-distance-").FullName;
        string local = Directory.CreateTempSubdirectory("webrepl-bench-distance-local-").FullName;
        var total = Stopwatch.StartNew();
        var results = new Dictionary<(int Row, int Delay), List<double>>();
        var sizes = new Dictionary<(int Row, int Delay), long>();
        try
        {
            byte[] data = new byte[OneMiB];
            new Random(13).NextBytes(data);
            await File.WriteAllBytesAsync(Path.Combine(root, "big.bin"), data, cancellationToken);
            string tree = Path.Combine(local, "tree");
            MakeTree(tree);
            Log.Progress("[distance] starting the virtual board");
            await using var board = await VirtualBoard.StartAsync(
                new VirtualBoardOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), Password = Password, Root = root }, cancellationToken);
            await using var gateway = await WebRepl.Gateway.WebReplGateway.StartAsync(
                new WebRepl.Gateway.GatewayOptions { Listen = [new IPEndPoint(IPAddress.Loopback, 0)], IdleTimeout = TimeSpan.Zero }, cancellationToken);
            await using (var first = await WebReplClient.ConnectAndLoginAsync($"127.0.0.1:{board.EndPoint.Port}", Password, cancellationToken: cancellationToken))
            {
                await BoardSync.ApplyAsync(first, await BoardSync.PlanAsync(first, tree, "/tree", delete: false, cancellationToken), verify: false, cancellationToken: cancellationToken);
            }

            foreach (int oneWay in OneWayMs)
            {
                LatencyRelay? relay = oneWay == 0 ? null : new LatencyRelay(board.EndPoint, TimeSpan.FromMilliseconds(oneWay));
                try
                {
                    string target = $"127.0.0.1:{(relay?.EndPoint ?? board.EndPoint).Port}";
                    int reps = quick ? 1 : 5;
                    Log.Progress($"[distance] {oneWay * 2} ms round trip");
                    await MeasureAsync(0, oneWay, reps, results, () => CpGetAsync(target, local, data, cancellationToken));
                    await MeasureAsync(1, oneWay, reps, results, () => LegacyGetAsync(target, local, data, cancellationToken));
                    int slowSize = oneWay == 0 ? OneMiB : SlowSize;
                    sizes[(2, oneWay)] = slowSize;
                    await MeasureAsync(2, oneWay, oneWay >= 25 || quick ? 1 : 2, results, () => StopAndWaitGetAsync(target, local, data.AsMemory(0, slowSize), slowSize == OneMiB ? "big.bin" : "slow.bin", root, cancellationToken));
                    await MeasureAsync(3, oneWay, reps, results, () => PutAsync(target, data, cancellationToken));
                    await using (var open = await WebReplClient.ConnectAndLoginAsync(target, Password, cancellationToken: cancellationToken))
                    {
                        await open.ExecAsync("print(1)", cancellationToken);
                        await MeasureAsync(4, oneWay, quick ? 3 : 20, results, async () => Check(await open.ExecAsync("print(1)", cancellationToken)));
                    }

                    await MeasureAsync(5, oneWay, reps, results, () => NewExecAsync(target, cancellationToken));
                    await MeasureAsync(6, oneWay, reps, results, () => LsAsync(target, cancellationToken));
                    await MeasureAsync(7, oneWay, quick ? 1 : 3, results, () => SyncAsync(target, tree, cancellationToken));
                    string throughGateway = $"{gateway.WebSocketUrls[0]}/ws://{target}";
                    await MeasureAsync(8, oneWay, reps, results, () => CpGetAsync(throughGateway, local, data, cancellationToken));
                }
                finally
                {
                    if (relay is not null)
                    {
                        await relay.DisposeAsync();
                    }
                }
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
            Directory.Delete(local, recursive: true);
        }

        return PrintReport(results, sizes, total.Elapsed, quick);
    }

    private static async Task MeasureAsync(int row, int oneWay, int reps, Dictionary<(int, int), List<double>> results, Func<Task> run)
    {
        await run(); // warm-up
        await Task.Delay(20);
        var samples = new List<double>();
        for (int i = 0; i < reps; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await run();
            samples.Add(Fmt.Milliseconds(t0, Stopwatch.GetTimestamp()));
            await Task.Delay(20); // the board ends a session a moment after its client leaves
        }

        results[(row, oneWay)] = samples;
    }

    /// <summary>What <c>webrepl cp :big.bin local</c> does: connect, log in, stat in the REPL, GET with the size, close.</summary>
    private static async Task CpGetAsync(string target, string local, byte[] expected, CancellationToken cancellationToken)
    {
        string file = Path.Combine(local, "cp.bin");
        await using (var client = await WebReplClient.ConnectAndLoginAsync(target, Password, cancellationToken: cancellationToken))
        {
            var entry = await client.Files.StatAsync("big.bin", cancellationToken) ?? throw new InvalidOperationException("big.bin is missing");
            await client.GetFileAsync("big.bin", file, null, new WebReplGetOptions { ExpectedSize = entry.Size }, cancellationToken);
        }

        CheckFile(file, expected);
    }

    /// <summary>What <c>webrepl -p PW HOST:big.bin local</c> does: connect, log in, GET (last of the session), close.</summary>
    private static async Task LegacyGetAsync(string target, string local, byte[] expected, CancellationToken cancellationToken)
    {
        string file = Path.Combine(local, "legacy.bin");
        await using (var client = await WebReplClient.ConnectAndLoginAsync(target, Password, cancellationToken: cancellationToken))
        {
            await client.GetFileAsync("big.bin", file, null, new WebReplGetOptions { SessionEndsAfter = true }, cancellationToken);
        }

        CheckFile(file, expected);
    }

    /// <summary>One chunk request per round trip, as webrepl_cli.py asks: the library's client with a window of one.</summary>
    private static async Task StopAndWaitGetAsync(string target, string local, ReadOnlyMemory<byte> expected, string name, string root, CancellationToken cancellationToken)
    {
        string path = Path.Combine(root, name);
        if (!File.Exists(path))
        {
            await File.WriteAllBytesAsync(path, expected, cancellationToken);
        }

        string file = Path.Combine(local, "slow.bin");
        await using (var client = await WebReplClient.ConnectAndLoginAsync(target, Password, new WebReplClientOptions { GetWindow = 1 }, cancellationToken))
        {
            await client.GetFileAsync(name, file, null, cancellationToken);
        }

        CheckFile(file, expected.ToArray());
    }

    private static async Task PutAsync(string target, byte[] data, CancellationToken cancellationToken)
    {
        await using var client = await WebReplClient.ConnectAndLoginAsync(target, Password, cancellationToken: cancellationToken);
        await client.PutFileAsync(new MemoryStream(data, writable: false), "put.bin", null, cancellationToken);
    }

    private static async Task NewExecAsync(string target, CancellationToken cancellationToken)
    {
        await using var client = await WebReplClient.ConnectAndLoginAsync(target, Password, cancellationToken: cancellationToken);
        Check(await client.ExecAsync("print(1)", cancellationToken));
    }

    private static async Task LsAsync(string target, CancellationToken cancellationToken)
    {
        await using var client = await WebReplClient.ConnectAndLoginAsync(target, Password, cancellationToken: cancellationToken);
        if ((await client.Files.ListAsync(string.Empty, false, cancellationToken)).Count == 0)
        {
            throw new InvalidOperationException("ls found nothing");
        }
    }

    private static async Task SyncAsync(string target, string tree, CancellationToken cancellationToken)
    {
        await using var client = await WebReplClient.ConnectAndLoginAsync(target, Password, cancellationToken: cancellationToken);
        var plan = await BoardSync.PlanAsync(client, tree, "/tree", delete: false, cancellationToken);
        if (plan.Actions.Count != 0)
        {
            throw new InvalidOperationException($"sync planned {plan.Actions.Count} actions where nothing changed");
        }

        await BoardSync.ApplyAsync(client, plan, verify: true, cancellationToken: cancellationToken);
    }

    private static void Check(string output)
    {
        if (output != "1\r\n")
        {
            throw new InvalidOperationException($"exec printed {output}");
        }
    }

    private static void CheckFile(string file, byte[] expected)
    {
        if (!File.ReadAllBytes(file).AsSpan().SequenceEqual(expected))
        {
            throw new InvalidOperationException($"{file} differs from the board's file");
        }
    }

    private static void MakeTree(string tree)
    {
        var random = new Random(50);
        for (int i = 0; i < TreeFiles; i++)
        {
            string folder = Path.Combine(tree, i % 2 == 0 ? string.Empty : "lib");
            Directory.CreateDirectory(folder);
            byte[] content = new byte[random.Next(100, 2048)];
            random.NextBytes(content);
            File.WriteAllBytes(Path.Combine(folder, $"f{i:D2}.py"), content);
        }
    }

    private static int PrintReport(Dictionary<(int Row, int Delay), List<double>> results, Dictionary<(int Row, int Delay), long> sizes, TimeSpan elapsed, bool quick)
    {
        Console.WriteLine("## Whole commands at a distance (virtual board, median)");
        Console.WriteLine();
        Console.WriteLine("| Command | 0 ms | 10 ms | 50 ms | round trips |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        for (int row = 0; row < Rows.Length; row++)
        {
            var cells = OneWayMs.Select(d => Cell(row, d, results, sizes)).ToArray();
            double near = new Stats(results[(row, 0)]).Median;
            double far = new Stats(results[(row, 25)]).Median;
            string trips = row == 2 ? "1 per chunk" : ((far - near) / 50).ToString("0.0", CultureInfo.InvariantCulture);
            Console.WriteLine($"| {Rows[row]} | {string.Join(" | ", cells)} | {trips} |");
        }

        Console.WriteLine();
        Console.WriteLine("Transfers: the whole command's time and its rate (MB/s = 10^6 bytes per second). The stop-and-wait GET fetches 64 KiB at 10 and 50 ms (1 MiB would take minutes); its rate holds for any size.");
        Console.WriteLine($"Round trips: (median at 50 ms − median at 0 ms) / 50 ms. Whole run {Fmt.Seconds(elapsed)}{(quick ? ", --quick: single samples" : string.Empty)}; load average at the end {Program.LoadAverage()}.");

        double cp10 = OneMiB / (new Stats(results[(0, 5)]).Median / 1000);
        double cp50 = OneMiB / (new Stats(results[(0, 25)]).Median / 1000);
        double cp0 = OneMiB / (new Stats(results[(0, 0)]).Median / 1000);
        Console.WriteLine();
        Console.WriteLine("| Goal | Measured | Met |");
        Console.WriteLine("|---|---:|---|");
        Console.WriteLine($"| GET 1 MiB at 10 ms ≥ 2 MB/s (whole command) | {Fmt.Rate(cp10)} | {(cp10 >= 2e6 ? "yes" : "no")} |");
        Console.WriteLine($"| GET 1 MiB at 50 ms ≥ 1 MB/s (whole command) | {Fmt.Rate(cp50)} | {(cp50 >= 1e6 ? "yes" : "no")} |");
        Console.WriteLine($"| GET 1 MiB on loopback ≥ 4 MB/s (whole command) | {Fmt.Rate(cp0)} | {(cp0 >= 4e6 ? "yes" : "no")} |");
        return cp10 >= 2e6 && cp50 >= 1e6 && cp0 >= 4e6 ? 0 : 3;
    }

    private static string Cell(int row, int oneWay, Dictionary<(int Row, int Delay), List<double>> results, Dictionary<(int Row, int Delay), long> sizes)
    {
        double ms = new Stats(results[(row, oneWay)]).Median;
        long bytes = row is 0 or 1 or 3 or 8 ? OneMiB : sizes.GetValueOrDefault((row, oneWay));
        return bytes == 0 ? Fmt.Ms(ms) + " ms" : $"{Fmt.Ms(ms)} ms ({Fmt.Rate(bytes / (ms / 1000))})";
    }
}
