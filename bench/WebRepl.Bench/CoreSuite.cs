using System.Diagnostics;
using System.Net;
using WebRepl.Device;

namespace WebRepl.Bench;

/// <summary>
/// The core suite: a client against <see cref="WebReplServer"/> on loopback, the server writing frames the
/// firmware's way (Nagle on, header and payload as two writes). Keystroke echo latency, PUT and GET
/// throughput, for the library's client with and without immediate ACKs and for a naive
/// <see cref="System.Net.WebSockets.ClientWebSocket"/> client.
/// </summary>
internal static class CoreSuite
{
    private const string Password = "bench";
    private const int Mi = 1 << 20;
    private const int Ki = 1 << 10;

    /// <summary>Echo latency goal, milliseconds (median).</summary>
    private const double EchoGoalMs = 1.0;

    /// <summary>Transfer goal, bytes per second.</summary>
    private const double TransferGoal = 2e6;

    public static async Task<int> RunAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        bool quick = settings.Quick;
        var fast = new Plan(
            EchoWarmup: quick ? 50 : 300,
            EchoSamples: quick ? 200 : 2000,
            EchoBudget: TimeSpan.FromSeconds(quick ? 5 : 30),
            TransferBytes: quick ? 256 * Ki : Mi,
            TransferWarmup: 1,
            TransferReps: quick ? 3 : 11,
            TransferBudget: TimeSpan.FromSeconds(quick ? 10 : 60));
        // Delayed ACKs cost ~40 ms per frame the board sends: few echoes, a small GET (one 256-byte chunk per
        // round trip), its rate extrapolated to 1 MiB. A PUT gets two replies only, so it keeps the full size.
        var slow = new Plan(
            EchoWarmup: 3,
            EchoSamples: quick ? 10 : 50,
            EchoBudget: TimeSpan.FromSeconds(quick ? 3 : 10),
            TransferBytes: quick ? 8 * Ki : 64 * Ki,
            TransferWarmup: 0,
            TransferReps: quick ? 1 : 3,
            TransferBudget: TimeSpan.FromSeconds(quick ? 5 : 40),
            PutBytes: quick ? 256 * Ki : Mi);

        var variants = new Variant[]
        {
            new("WebReplClient, ImmediateAck on (default)", "quick ACK", FirmwareTiming: true, fast,
                (port, token) => LibraryBenchClient.ConnectAsync($"127.0.0.1:{port}", Password, immediateAck: true, token)),
            new("WebReplClient, ImmediateAck off", "delayed ACK", FirmwareTiming: true, slow,
                (port, token) => LibraryBenchClient.ConnectAsync($"127.0.0.1:{port}", Password, immediateAck: false, token)),
            new("naive ClientWebSocket", "delayed ACK", FirmwareTiming: true, slow,
                (port, token) => NaiveBenchClient.ConnectAsync("127.0.0.1", port, Password, token)),
            new("reference: WebReplClient, server FirmwareTiming off", "quick ACK", FirmwareTiming: false, fast,
                (port, token) => LibraryBenchClient.ConnectAsync($"127.0.0.1:{port}", Password, immediateAck: true, token)),
        };

        string root = Directory.CreateTempSubdirectory("webrepl-bench-").FullName;
        var results = new List<Result>();
        var total = Stopwatch.StartNew();
        var cpuStart = CpuTimes.Read();
        try
        {
            foreach (var variant in variants)
            {
                results.Add(await RunVariantAsync(variant, root, cancellationToken));
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }

        PrintReport(results, total.Elapsed, CpuTimes.StealShare(cpuStart, CpuTimes.Read()), quick);
        var main = results[0];
        bool met = main.Echo.Median < EchoGoalMs && main.PutRate.Median > TransferGoal && main.GetRate.Median > TransferGoal;
        return met ? 0 : 3;
    }

    private static async Task<Result> RunVariantAsync(Variant variant, string root, CancellationToken cancellationToken)
    {
        Log.Progress($"[core] {variant.Name} (server FirmwareTiming {(variant.FirmwareTiming ? "on" : "off")})");
        var plan = variant.Plan;
        var console = new EchoConsole();
        var options = new WebReplServerOptions
        {
            Password = Password,
            EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            FirmwareTiming = variant.FirmwareTiming,
        };
        await using var server = new WebReplServer(options, console, new DirectoryFileStore(root));
        server.Start();
        int port = server.LocalEndPoint.Port;

        byte[] putData = RandomBytes(plan.PutBytes ?? plan.TransferBytes, seed: 1);
        byte[] getData = RandomBytes(plan.TransferBytes, seed: 2);
        string getName = $"get-{getData.Length}.bin";
        await File.WriteAllBytesAsync(Path.Combine(root, getName), getData, cancellationToken);

        using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        connectTimeout.CancelAfter(TimeSpan.FromSeconds(15));
        await using var client = await variant.Connect(port, connectTimeout.Token);

        // 1. Keystroke echo.
        var before = TcpCounters.Read();
        var echo = new List<double>(plan.EchoSamples);
        var budget = Stopwatch.StartNew();
        for (int i = 0; i < plan.EchoWarmup + plan.EchoSamples && budget.Elapsed < plan.EchoBudget; i++)
        {
            byte key = (byte)('a' + (i % 26));
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            long start = Stopwatch.GetTimestamp();
            await client.EchoAsync(key, timeout.Token);
            long end = Stopwatch.GetTimestamp();
            if (i >= plan.EchoWarmup)
            {
                echo.Add(Fmt.Milliseconds(start, end));
            }
        }

        Log.Progress($"[core]   echo: {echo.Count} samples");
        var echoCounters = TcpCounters.Read() - before;
        before = TcpCounters.Read();

        // 2. PUT, then GET.
        var put = await MeasureTransferAsync(
            "put", putData.Length, plan,
            async (rep, token) =>
            {
                string name = $"put-{rep}.bin";
                await client.PutAsync(putData, name, token);
                if (rep == 0 && !(await File.ReadAllBytesAsync(Path.Combine(root, name), token)).AsSpan().SequenceEqual(putData))
                {
                    throw new InvalidOperationException("The PUT file on the server differs from what was sent.");
                }
            },
            cancellationToken);
        var putCounters = TcpCounters.Read() - before;
        before = TcpCounters.Read();
        var chunkTimes = new List<double>();
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        int requests = 0;
        long last = 0;
        var get = await MeasureTransferAsync(
            "get", getData.Length, plan,
            async (rep, token) =>
            {
                last = Stopwatch.GetTimestamp();
                requests += (getData.Length + 255) / 256 + 1;
                bool measured = rep >= plan.TransferWarmup;
                byte[] back = await client.GetAsync(
                    getName,
                    getData.Length,
                    () =>
                    {
                        long now = Stopwatch.GetTimestamp();
                        if (measured)
                        {
                            chunkTimes.Add(Fmt.Milliseconds(last, now));
                        }

                        last = now;
                    },
                    token);
                if (!back.AsSpan().SequenceEqual(getData))
                {
                    throw new InvalidOperationException($"The GET returned {back.Length} bytes that differ from the file.");
                }
            },
            cancellationToken);

        var getCounters = TcpCounters.Read() - before;
        process.Refresh();
        double cpuPerChunkUs = (process.TotalProcessorTime - cpuBefore).TotalMilliseconds * 1000.0 / Math.Max(1, requests);
        return new Result(variant, new Stats(echo), echoCounters, putData.Length, new Stats(put), putCounters, getData.Length, new Stats(get), new Stats(chunkTimes), cpuPerChunkUs, getCounters);
    }

    /// <summary>Runs warm-up plus measured repetitions within the plan's budget; returns bytes per second per repetition.</summary>
    private static async Task<List<double>> MeasureTransferAsync(
        string what, int bytes, Plan plan, Func<int, CancellationToken, Task> transfer, CancellationToken cancellationToken)
    {
        var rates = new List<double>();
        var budget = Stopwatch.StartNew();
        for (int i = 0; i < plan.TransferWarmup + plan.TransferReps && budget.Elapsed < plan.TransferBudget; i++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(plan.TransferBudget + TimeSpan.FromSeconds(10));
            long start = Stopwatch.GetTimestamp();
            await transfer(i, timeout.Token);
            double ms = Fmt.Milliseconds(start, Stopwatch.GetTimestamp());
            if (i >= plan.TransferWarmup)
            {
                rates.Add(bytes / (ms / 1000.0));
            }
        }

        Log.Progress($"[core]   {what}: {rates.Count} repetitions of {Fmt.Size(bytes)}");
        return rates;
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static void PrintReport(List<Result> results, TimeSpan elapsed, double steal, bool quick)
    {
        Console.WriteLine("## core: client ↔ WebReplServer on 127.0.0.1, frames written as the firmware writes them");
        Console.WriteLine();
        if (quick)
        {
            Console.WriteLine("*--quick: a smoke run with few samples; do not quote these figures.*");
            Console.WriteLine();
        }

        Console.WriteLine("### Keystroke echo (one byte of terminal input until its echo arrives)");
        Console.WriteLine();
        Console.WriteLine("| Client | ACKs | Samples | Median (ms) | p90 (ms) | p99 (ms) | Max (ms) | ≥ 10 ms |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            var e = r.Echo;
            Console.WriteLine(
                $"| {r.Variant.Label} | {r.Variant.Acks} | {e.Count} | {Fmt.Ms(e.Median)} | {Fmt.Ms(e.Percentile(90))} | {Fmt.Ms(e.Percentile(99))} | {Fmt.Ms(e.Max)} | {e.CountAtLeast(10)} |");
        }

        Console.WriteLine();
        Console.WriteLine("### File transfer (PUT in 1 KiB frames; GET in the protocol's 256-byte chunks, one round trip each)");
        Console.WriteLine();
        Console.WriteLine("| Client | ACKs | PUT size × reps | PUT median | GET size × reps | GET median | GET per chunk (ms) | GET of 1 MiB takes |");
        Console.WriteLine("|---|---|---|---:|---|---:|---:|---:|");
        foreach (var r in results)
        {
            double getRate = r.GetRate.Median;
            int chunks = (r.GetBytes + 255) / 256 + 1;
            double msPerChunk = r.GetBytes / getRate * 1000.0 / chunks;
            var oneMiB = TimeSpan.FromSeconds(Mi / getRate);
            string extrapolated = r.GetBytes == Mi ? string.Empty : " (extrapolated)";
            Console.WriteLine(
                $"| {r.Variant.Label} | {r.Variant.Acks} | {Fmt.Size(r.PutBytes)} × {r.PutRate.Count} | {Fmt.Rate(r.PutRate.Median)} | " +
                $"{Fmt.Size(r.GetBytes)} × {r.GetRate.Count} | {Fmt.Rate(getRate)} | {Fmt.Ms(msPerChunk)} | {Fmt.Seconds(oneMiB)}{extrapolated} |");
        }

        Console.WriteLine();
        Console.WriteLine("### Why: GET chunk round trips, and the kernel's TCP counters during each phase");
        Console.WriteLine();
        Console.WriteLine("A chunk round trip is the time from one chunk's arrival to the next (the client's request byte, the board's two writes).");
        Console.WriteLine("Delayed ACKs: ACKs the delayed-ACK timer sent (~40 ms late). Loss probes: tail loss probes, which push out data Nagle held");
        Console.WriteLine("when no ACK came within ~2 ms. Counters are system-wide: they stand for the benchmark only on an otherwise idle machine.");
        Console.WriteLine("CPU per chunk: this process's CPU time (client and server together, user and kernel) during the GET phase, per request byte sent; shown for back-to-back chunks only.");
        Console.WriteLine();
        Console.WriteLine("| Client | GET chunks | chunk median (ms) | chunk p99 (ms) | chunk max (ms) | CPU per chunk (µs) | echo: delayed ACKs / probes | PUT: delayed ACKs / probes | GET: delayed ACKs / probes |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            var c = r.GetChunk;
            Console.WriteLine(
                $"| {r.Variant.Label} | {c.Count} | {Fmt.Ms(c.Median)} | {Fmt.Ms(c.Percentile(99))} | {Fmt.Ms(c.Max)} | {CpuPerChunk(r)} | " +
                $"{Counters(r.EchoCounters)} | {Counters(r.PutCounters)} | {Counters(r.GetCounters)} |");
        }

        var main = results[0];
        Console.WriteLine();
        Console.WriteLine("### Goals (the library's client with its defaults)");
        Console.WriteLine();
        Console.WriteLine("| Goal | Measured | Met |");
        Console.WriteLine("|---|---:|---|");
        Console.WriteLine($"| echo median below 1 ms | {Fmt.Ms(main.Echo.Median)} ms | {Mark(main.Echo.Median < EchoGoalMs)} |");
        Console.WriteLine($"| PUT above 2 MB/s | {Fmt.Rate(main.PutRate.Median)} | {Mark(main.PutRate.Median > TransferGoal)} |");
        Console.WriteLine($"| GET above 2 MB/s | {Fmt.Rate(main.GetRate.Median)} | {Mark(main.GetRate.Median > TransferGoal)} |");
        Console.WriteLine();
        Console.WriteLine("MB/s = 10^6 bytes per second; 1 MiB = 1,048,576 bytes. Percentiles are nearest-rank samples.");
        string stealText = double.IsNaN(steal) ? string.Empty : $"; CPU steal (time the hypervisor took away) {steal * 100:0.0}% of it";
        Console.WriteLine($"Whole run: {Fmt.Seconds(elapsed)}{stealText}; load average at the end {Program.LoadAverage()}.");
    }

    /// <summary>
    /// CPU per chunk, for back-to-back chunks only: when each chunk waits for a timer (a delayed ACK), the figure
    /// measures the runtime waking from idle for every chunk, not the protocol's work.
    /// </summary>
    private static string CpuPerChunk(Result r) =>
        r.GetChunk.Median < 4 ? r.GetCpuPerChunkUs.ToString("0", System.Globalization.CultureInfo.InvariantCulture) : "–";

    private static string Counters(TcpCounters c) => TcpCounters.IsAvailable ? $"{c.DelayedAcks} / {c.LossProbes}" : "–";

    private static string Mark(bool met) => met ? "yes" : "**no**";

    /// <summary>How many samples a variant takes.</summary>
    private sealed record Plan(
        int EchoWarmup,
        int EchoSamples,
        TimeSpan EchoBudget,
        int TransferBytes,
        int TransferWarmup,
        int TransferReps,
        TimeSpan TransferBudget,
        int? PutBytes = null);

    private sealed record Variant(
        string Label,
        string Acks,
        bool FirmwareTiming,
        Plan Plan,
        Func<int, CancellationToken, Task<IBenchClient>> Connect)
    {
        public string Name => Label;
    }

    private sealed record Result(
        Variant Variant,
        Stats Echo,
        TcpCounters EchoCounters,
        int PutBytes,
        Stats PutRate,
        TcpCounters PutCounters,
        int GetBytes,
        Stats GetRate,
        Stats GetChunk,
        double GetCpuPerChunkUs,
        TcpCounters GetCounters);
}
