using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using WebRepl.Board;

namespace WebRepl.Bench;

/// <summary>
/// The board suite: the virtual board (MicroPython's WebAssembly build run by Node.js, behind
/// <see cref="WebRepl.Device.WebReplServer"/>) on loopback. Time from start to ready (in this process and as a
/// separate <c>webrepl board</c> process), the memory of the board's .NET process and its Node.js child, and
/// the round trip of one line of Python in the friendly and the raw REPL.
/// </summary>
internal static class BoardSuite
{
    private const string Password = "bench";
    private const int Mi = 1 << 20;

    /// <summary>What the stress phase's program allocates (and frees again).</summary>
    private const int StressBytes = 32 * Mi;

    /// <summary>Start-to-ready goal, milliseconds.</summary>
    private const double ReadyGoalMs = 2000;

    /// <summary>Memory goal for the board's .NET process and Node.js together, bytes (MB = 10^6 bytes).</summary>
    private const double MemoryGoalBytes = 150e6;

    private static readonly byte[] FriendlyLine = "print(1)\r"u8.ToArray();
    private static readonly byte[] FriendlyPrompt = "\r\n>>> "u8.ToArray();
    private const string FriendlyExpected = "print(1)\r\n1\r\n>>> ";
    private static readonly byte[] RawLine = "print(1)\x04"u8.ToArray();
    private static readonly byte[] RawEnd = "\x04>"u8.ToArray();
    private const string RawExpected = "OK1\r\n\x04\x04>";

    /// <summary>Some Python: read the 1 MiB file back, loop over bytes, build and serialise objects, collect.</summary>
    private const string PythonWork =
        "import gc, json\n" +
        "f = open('bench-1m.bin', 'rb')\n" +
        "data = f.read()\n" +
        "f.close()\n" +
        "s = 0\n" +
        "for b in data[:65536]:\n" +
        "    s += b\n" +
        "d = [{'i': i, 's': str(i) * 8} for i in range(20000)]\n" +
        "j = json.dumps(d[:2000])\n" +
        "print(len(data), s, len(d), len(j))\n" +
        "del data, d, j\n" +
        "gc.collect()\n";

    public static async Task<int> RunAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        if (!ProcMemory.IsAvailable)
        {
            Log.Progress("[board] needs Linux (/proc) for the memory figures.");
            return 2;
        }

        bool quick = settings.Quick;
        var plan = new Plan(
            Probes: quick ? 3 : 10,
            InProcessStarts: quick ? 3 : 10,
            CliStarts: quick ? 2 : 5,
            ExecWarmup: quick ? 5 : 20,
            ExecSamples: quick ? 30 : 200,
            ExecBudget: TimeSpan.FromSeconds(quick ? 10 : 60),
            Settle: TimeSpan.FromSeconds(quick ? 0.5 : 2));
        string hostScript = Path.Combine(AppContext.BaseDirectory, "board-host", "host.mjs");
        string cliDll = CliBoard.FindCli() ?? throw new InvalidOperationException(
            $"src/WebRepl.Cli/bin/<configuration>/net10.0/WebRepl.Cli.dll was not found above {AppContext.BaseDirectory}; build it, or set WEBREPL_BENCH_CLI.");
        string root = Directory.CreateTempSubdirectory("webrepl-bench-board-").FullName;
        var total = Stopwatch.StartNew();
        var cpuStart = CpuTimes.Read();
        var result = new Result();
        try
        {
            await ProbeNodeAsync(plan, hostScript, root, result, cancellationToken);
            await StartInProcessAsync(plan, root, result, cancellationToken);
            await StartCliAsync(plan, cliDll, root, result, cancellationToken);
            await WorkloadAsync(plan, cliDll, root, result, cancellationToken);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }

        PrintReport(plan, result, total.Elapsed, CpuTimes.StealShare(cpuStart, CpuTimes.Read()), quick);
        return result.ReadyWorstMs < ReadyGoalMs && result.MemoryWorstBytes < MemoryGoalBytes ? 0 : 3;
    }

    /// <summary>Node.js alone: its bare start, the version check StartAsync makes, host.mjs until READY.</summary>
    private static async Task ProbeNodeAsync(Plan plan, string hostScript, string root, Result result, CancellationToken cancellationToken)
    {
        Log.Progress($"[board] Node.js alone: {plan.Probes} × node -e 0, node --version, node host.mjs → READY");
        for (int i = 0; i < plan.Probes; i++)
        {
            result.BareNode.Add(await HostProbe.RunAsync("node", ["-e", "0"], cancellationToken));
            result.NodeVersion.Add(await HostProbe.RunAsync("node", ["--version"], cancellationToken));
            var (readyMs, memory) = await HostProbe.StartToReadyAsync(hostScript, root, cancellationToken);
            result.HostReady.Add(readyMs);
            if (memory is { } m)
            {
                result.HostReadyRss.Add(Bytes(m.RssKiB));
            }
        }
    }

    /// <summary>VirtualBoard.StartAsync in this process, each start a new Node.js host; then a client logs in.</summary>
    private static async Task StartInProcessAsync(Plan plan, string root, Result result, CancellationToken cancellationToken)
    {
        Log.Progress($"[board] {plan.InProcessStarts} × VirtualBoard.StartAsync in this process");
        var options = new VirtualBoardOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), Password = Password, Root = root };
        var pids = new HashSet<int>();
        for (int i = 0; i < plan.InProcessStarts; i++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            long t0 = Stopwatch.GetTimestamp();
            var board = await VirtualBoard.StartAsync(options, timeout.Token);
            long started = Stopwatch.GetTimestamp();
            try
            {
                await using (var repl = await BoardRepl.ConnectAsync(board.EndPoint.Port, Password, timeout.Token))
                {
                    long prompt = Stopwatch.GetTimestamp();
                    result.InProcessStart.Add(Fmt.Milliseconds(t0, started));
                    result.InProcessPrompt.Add(Fmt.Milliseconds(t0, prompt));
                    pids.Add(board.HostProcessId);
                }
            }
            finally
            {
                long stop = Stopwatch.GetTimestamp();
                await board.DisposeAsync();
                result.InProcessStop.Add(Fmt.Milliseconds(stop, Stopwatch.GetTimestamp()));
            }
        }

        if (pids.Count != plan.InProcessStarts)
        {
            throw new InvalidOperationException($"Expected a new Node.js process for every start, saw {pids.Count} for {plan.InProcessStarts}.");
        }
    }

    /// <summary><c>webrepl board</c> as its own process, each launch a new .NET process and a new Node.js host.</summary>
    private static async Task StartCliAsync(Plan plan, string cliDll, string root, Result result, CancellationToken cancellationToken)
    {
        Log.Progress($"[board] {plan.CliStarts} × webrepl board as a separate process ({cliDll})");
        for (int i = 0; i < plan.CliStarts; i++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            long t0 = Stopwatch.GetTimestamp();
            await using var board = await CliBoard.StartAsync(cliDll, root, Password, timeout.Token);
            await using var repl = await BoardRepl.ConnectAsync(board.Port, Password, timeout.Token);
            result.CliReady.Add(board.ReadyMs);
            result.CliPrompt.Add(Fmt.Milliseconds(t0, Stopwatch.GetTimestamp()));
            await Task.Delay(plan.Settle, timeout.Token);
            result.CliIdle.Add(ReadPair(board, "idle"));
        }
    }

    /// <summary>One more launch: memory through a session's life, and the exec round trips.</summary>
    private static async Task WorkloadAsync(Plan plan, string cliDll, string root, Result result, CancellationToken cancellationToken)
    {
        Log.Progress("[board] workload: memory phases, exec round trips, 1 MiB PUT/GET, Python work");
        await using var board = await CliBoard.StartAsync(cliDll, root, Password, cancellationToken);
        await Task.Delay(plan.Settle, cancellationToken);
        result.Phases.Add(ReadPair(board, "idle after start, no client"));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(plan.ExecBudget * 2 + TimeSpan.FromSeconds(90));
        var token = timeout.Token;
        await using var repl = await BoardRepl.ConnectAsync(board.Port, Password, token);
        await Task.Delay(plan.Settle, token);
        result.Phases.Add(ReadPair(board, "idle, client logged in at `>>> `"));

        // Friendly REPL: the line is echoed as typed, then its output, then the next prompt.
        result.Friendly = await MeasureExecAsync(plan, repl, FriendlyLine, FriendlyPrompt, FriendlyExpected, token);
        Log.Progress($"[board]   friendly REPL: {result.Friendly.Count} samples");

        // Raw REPL: Ctrl-A once, then per sample the code and Ctrl-D; the reply ends with "\x04>".
        await repl.SendAsync("\x01"u8.ToArray(), token);
        await repl.ReadUntilAsync("raw REPL; CTRL-B to exit\r\n>"u8.ToArray(), token);
        result.Raw = await MeasureExecAsync(plan, repl, RawLine, RawEnd, RawExpected, token);
        Log.Progress($"[board]   raw REPL: {result.Raw.Count} samples");
        await Task.Delay(plan.Settle, token);
        result.Phases.Add(ReadPair(board, $"after {result.Friendly.Count + result.Raw.Count} exec round trips"));

        // 1 MiB PUT and GET (checked), then Python work on that file.
        byte[] data = new byte[Mi];
        new Random(3).NextBytes(data);
        long t0 = Stopwatch.GetTimestamp();
        await repl.Client.PutFileAsync(new ReadOnlyMemoryStream(data), "bench-1m.bin", cancellationToken: token);
        long t1 = Stopwatch.GetTimestamp();
        var back = new MemoryStream(Mi);
        await repl.Client.GetFileAsync("bench-1m.bin", back, cancellationToken: token);
        long t2 = Stopwatch.GetTimestamp();
        if (!back.ToArray().AsSpan().SequenceEqual(data))
        {
            throw new InvalidOperationException("The GET returned other bytes than the PUT sent.");
        }

        result.PutMs = Fmt.Milliseconds(t0, t1);
        result.GetMs = Fmt.Milliseconds(t1, t2);
        long sum = 0;
        foreach (byte b in data.AsSpan(0, 65536))
        {
            sum += b;
        }

        t0 = Stopwatch.GetTimestamp();
        string output = await repl.RawExecAsync(PythonWork, token);
        result.PythonWorkMs = Fmt.Milliseconds(t0, Stopwatch.GetTimestamp());
        string expected = $"{Mi} {sum} 20000 ";
        if (!output.StartsWith(expected, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The Python work printed '{output.Trim()}', expected '{expected}...'.");
        }

        await Task.Delay(plan.Settle, token);
        result.Phases.Add(ReadPair(board, "after 1 MiB PUT + GET and Python work"));
        result.Peak = ReadPair(board, "peak so far (VmHWM)");

        // Beyond the goal: a program that asks for 32 MiB and lets go of it. MicroPython's heap shrinks back, but
        // WebAssembly memory never does, so Node.js keeps those pages until the interpreter instance goes. Under
        // the board's default memory cap (32 MB) the request fails with MemoryError after the heap has grown to
        // the cap: the worst case a program can cause.
        string got = (await repl.RawExecAsync(
            $"import gc\ntry:\n    x = bytearray({StressBytes})\n    print('got')\nexcept MemoryError:\n    x = None\n    print('MemoryError')\ndel x\ngc.collect()\n",
            token)).Trim();
        await Task.Delay(plan.Settle, token);
        result.Stress.Add(ReadPair(board, $"after a program that asked for {Fmt.Size(StressBytes)} ({got}; then `del`, `gc.collect()`)"));
        // A soft reset starts a new instance; the host then collects the old one's memory (after 0.2 s and 1 s).
        await repl.SendAsync("\x04"u8.ToArray(), token);
        await repl.ReadUntilAsync("raw REPL; CTRL-B to exit\r\n>"u8.ToArray(), token);
        await Task.Delay(plan.Settle < TimeSpan.FromSeconds(1.5) ? TimeSpan.FromSeconds(1.5) : plan.Settle, token);
        result.Stress.Add(ReadPair(board, "then a soft reset (Ctrl-D at the raw REPL)"));
    }

    private static async Task<Stats> MeasureExecAsync(Plan plan, BoardRepl repl, byte[] line, byte[] end, string expected, CancellationToken cancellationToken)
    {
        var samples = new List<double>(plan.ExecSamples);
        var budget = Stopwatch.StartNew();
        for (int i = 0; i < plan.ExecWarmup + plan.ExecSamples && budget.Elapsed < plan.ExecBudget; i++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            long t0 = Stopwatch.GetTimestamp();
            await repl.SendAsync(line, timeout.Token);
            string reply = await repl.ReadUntilAsync(end, timeout.Token);
            long t1 = Stopwatch.GetTimestamp();
            if (reply != expected)
            {
                throw new InvalidOperationException($"Expected {Escape(expected)}, the board replied {Escape(reply)}.");
            }

            if (i >= plan.ExecWarmup)
            {
                samples.Add(Fmt.Milliseconds(t0, t1));
            }
        }

        return new Stats(samples);
    }

    private static Pair ReadPair(CliBoard board, string phase)
    {
        var dotnet = ProcMemory.Read(board.Pid) ?? throw new InvalidOperationException($"webrepl board has gone: {board.Stderr}");
        var node = ProcMemory.Read(board.NodePid) ?? throw new InvalidOperationException($"Its Node.js host (pid {board.NodePid}) has gone: {board.Stderr}");
        return new Pair(phase, dotnet, node);
    }

    private static double Bytes(long kib) => kib * 1024.0;

    private static string Mb(double bytes) => double.IsNaN(bytes) ? "–" : (bytes / 1e6).ToString("0.0", CultureInfo.InvariantCulture);

    private static string Escape(string s)
    {
        var b = new StringBuilder("'");
        foreach (char c in s)
        {
            b.Append(c switch
            {
                '\r' => "\\r",
                '\n' => "\\n",
                < ' ' => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        }

        return b.Append('\'').ToString();
    }

    private static void PrintReport(Plan plan, Result r, TimeSpan elapsed, double steal, bool quick)
    {
        Console.WriteLine("## board: the virtual board (MicroPython WebAssembly in Node.js, behind WebReplServer) on 127.0.0.1");
        Console.WriteLine();
        if (quick)
        {
            Console.WriteLine("*--quick: a smoke run with few samples; do not quote these figures.*");
            Console.WriteLine();
        }

        Console.WriteLine("### Start to ready (every start is a new Node.js process)");
        Console.WriteLine();
        Console.WriteLine("| What | Starts | First (ms) | Median (ms) | Max (ms) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        StartRow("`node -e 0`: Node.js starts and exits", r.BareNode);
        StartRow("`node --version` (StartAsync checks the version first)", r.NodeVersion);
        StartRow("`node host.mjs` alone: spawn → READY frame", r.HostReady);
        StartRow("`VirtualBoard.StartAsync` in this process → returned (WebREPL listening)", r.InProcessStart);
        StartRow("`VirtualBoard.StartAsync` in this process → client logged in, `>>> ` seen", r.InProcessPrompt);
        StartRow("`VirtualBoard.DisposeAsync` (stop)", r.InProcessStop);
        StartRow("`webrepl board` process: launch → ready banner printed", r.CliReady);
        StartRow("`webrepl board` process: launch → client logged in, `>>> ` seen", r.CliPrompt);
        Console.WriteLine();
        Console.WriteLine("\"First\" is the first start of its kind in this run (for `VirtualBoard.StartAsync`: with the JIT compiling the board's code).");
        Console.WriteLine();

        Console.WriteLine("### Memory (RSS from /proc/PID/status; MB = 10^6 bytes)");
        Console.WriteLine();
        Console.WriteLine("| Phase | `webrepl board` (.NET) | Node.js | Sum |");
        Console.WriteLine("|---|---:|---:|---:|");
        var hostReady = new Stats(r.HostReadyRss);
        Console.WriteLine($"| `node host.mjs` alone at READY (median / max of {hostReady.Count}) | – | {Mb(hostReady.Median)} / {Mb(hostReady.Max)} | – |");
        var idleBoard = new Stats(r.CliIdle.Select(p => Bytes(p.Board.RssKiB)));
        var idleNode = new Stats(r.CliIdle.Select(p => Bytes(p.Node.RssKiB)));
        var idleSum = new Stats(r.CliIdle.Select(p => p.SumBytes));
        Console.WriteLine(
            $"| {plan.Settle.TotalSeconds:0.#} s after login, each of the {idleSum.Count} launches above (median / max) | " +
            $"{Mb(idleBoard.Median)} / {Mb(idleBoard.Max)} | {Mb(idleNode.Median)} / {Mb(idleNode.Max)} | {Mb(idleSum.Median)} / {Mb(idleSum.Max)} |");
        foreach (var p in r.Phases)
        {
            Console.WriteLine($"| workload launch: {p.Phase} | {Mb(Bytes(p.Board.RssKiB))} | {Mb(Bytes(p.Node.RssKiB))} | {Mb(p.SumBytes)} |");
        }

        if (r.Peak is { } peak)
        {
            Console.WriteLine(
                $"| workload launch: {peak.Phase} | {Mb(Bytes(peak.Board.HwmKiB))} | {Mb(Bytes(peak.Node.HwmKiB))} | " +
                $"{Mb(Bytes(peak.Board.HwmKiB + peak.Node.HwmKiB))} (each its own peak) |");
        }

        foreach (var p in r.Stress)
        {
            Console.WriteLine($"| beyond the goal: {p.Phase} | {Mb(Bytes(p.Board.RssKiB))} | {Mb(Bytes(p.Node.RssKiB))} | {Mb(p.SumBytes)} |");
        }

        Console.WriteLine();
        if (r.Phases.Count > 0)
        {
            var last = r.Phases[^1];
            Console.WriteLine($"What the RSS is made of, {last.Phase}: anonymous (heaps, stacks, WebAssembly memory), file-backed (mapped");
            Console.WriteLine("executables and libraries: shared with every other process that maps them), shared memory; PSS divides shared pages among their users.");
            Console.WriteLine();
            Console.WriteLine("| Process | RSS | anonymous | file-backed | shmem | PSS |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|");
            foreach (var (name, m) in new[] { ("`webrepl board` (.NET)", last.Board), ("Node.js", last.Node) })
            {
                Console.WriteLine(
                    $"| {name} | {Mb(Bytes(m.RssKiB))} | {Mb(Bytes(m.AnonKiB))} | {Mb(Bytes(m.FileKiB))} | {Mb(Bytes(m.ShmemKiB))} | " +
                    $"{(m.PssKiB < 0 ? "–" : Mb(Bytes(m.PssKiB)))} |");
            }

            Console.WriteLine();
            Console.WriteLine(
                $"During the workload: PUT of 1 MiB {Fmt.Ms(r.PutMs)} ms, GET of 1 MiB {Fmt.Ms(r.GetMs)} ms (checked), the Python work " +
                $"(read the file back, a loop over 64 KiB, 20,000 dicts, `json.dumps`, `gc.collect()`) {Fmt.Ms(r.PythonWorkMs)} ms.");
            Console.WriteLine();
        }

        Console.WriteLine("### Exec round trip (a logged-in client on the `webrepl board` process; send the line, wait for the reply's end)");
        Console.WriteLine();
        Console.WriteLine("| REPL | Sent | Until | Samples | Median (ms) | p90 (ms) | p99 (ms) | Max (ms) |");
        Console.WriteLine("|---|---|---|---:|---:|---:|---:|---:|");
        ExecRow("friendly", "`print(1)\\r`", "`1` and the next `>>> `", r.Friendly);
        ExecRow("raw", "`print(1)\\x04`", "`OK1\\r\\n\\x04\\x04>`", r.Raw);
        Console.WriteLine();
        Console.WriteLine($"After {plan.ExecWarmup} warm-up round trips each; percentiles are nearest-rank samples.");
        Console.WriteLine();

        Console.WriteLine("### Goals");
        Console.WriteLine();
        Console.WriteLine("| Goal | Measured | Met |");
        Console.WriteLine("|---|---:|---|");
        var inProcess = new Stats(r.InProcessPrompt);
        var cli = new Stats(r.CliPrompt);
        Console.WriteLine(
            $"| ready within 2 s: StartAsync → logged in at `>>> ` | median {Fmt.Ms(inProcess.Median)} ms, max {Fmt.Ms(inProcess.Max)} ms | {Mark(inProcess.Max < ReadyGoalMs)} |");
        Console.WriteLine(
            $"| ready within 2 s: `webrepl board` launch → logged in at `>>> ` | median {Fmt.Ms(cli.Median)} ms, max {Fmt.Ms(cli.Max)} ms | {Mark(cli.Max < ReadyGoalMs)} |");
        Console.WriteLine(
            $"| under 150 MB together (board process + Node.js RSS, the largest sum in ordinary use) | {Mb(r.MemoryWorstBytes)} MB | {Mark(r.MemoryWorstBytes < MemoryGoalBytes)} |");
        if (r.Stress.Count > 0)
        {
            double stress = r.Stress.Max(p => p.SumBytes);
            Console.WriteLine(
                $"| (not a goal) the same after a program that allocated {Fmt.Size(StressBytes)} | {Mb(stress)} MB | {(stress < MemoryGoalBytes ? "under" : "over")} |");
        }
        Console.WriteLine();
        string stealText = double.IsNaN(steal) ? string.Empty : $"; CPU steal {steal * 100:0.0}% of it";
        Console.WriteLine($"Whole run: {Fmt.Seconds(elapsed)}{stealText}; load average at the end {Program.LoadAverage()}.");
        return;

        static void StartRow(string what, List<double> samples)
        {
            var s = new Stats(samples);
            string first = samples.Count > 0 ? Fmt.Ms(samples[0]) : "–";
            Console.WriteLine($"| {what} | {s.Count} | {first} | {Fmt.Ms(s.Median)} | {Fmt.Ms(s.Max)} |");
        }

        static void ExecRow(string repl, string sent, string until, Stats? s)
        {
            s ??= new Stats([]);
            Console.WriteLine($"| {repl} | {sent} | {until} | {s.Count} | {Fmt.Ms(s.Median)} | {Fmt.Ms(s.Percentile(90))} | {Fmt.Ms(s.Percentile(99))} | {Fmt.Ms(s.Max)} |");
        }
    }

    private static string Mark(bool met) => met ? "yes" : "**no**";

    /// <summary>How many samples the suite takes.</summary>
    private sealed record Plan(int Probes, int InProcessStarts, int CliStarts, int ExecWarmup, int ExecSamples, TimeSpan ExecBudget, TimeSpan Settle);

    /// <summary>The memory of the board's two processes at one moment.</summary>
    private sealed record Pair(string Phase, ProcMemory Board, ProcMemory Node)
    {
        public double SumBytes => Bytes(Board.RssKiB + Node.RssKiB);
    }

    private sealed class Result
    {
        public List<double> BareNode { get; } = [];

        public List<double> NodeVersion { get; } = [];

        public List<double> HostReady { get; } = [];

        public List<double> HostReadyRss { get; } = [];

        public List<double> InProcessStart { get; } = [];

        public List<double> InProcessPrompt { get; } = [];

        public List<double> InProcessStop { get; } = [];

        public List<double> CliReady { get; } = [];

        public List<double> CliPrompt { get; } = [];

        public List<Pair> CliIdle { get; } = [];

        public List<Pair> Phases { get; } = [];

        public Pair? Peak { get; set; }

        /// <summary>Readings after a program that allocates much memory, and after the soft reset that follows: not goal phases.</summary>
        public List<Pair> Stress { get; } = [];

        public Stats? Friendly { get; set; }

        public Stats? Raw { get; set; }

        public double PutMs { get; set; } = double.NaN;

        public double GetMs { get; set; } = double.NaN;

        public double PythonWorkMs { get; set; } = double.NaN;

        /// <summary>The slowest start to a logged-in prompt, in this process or as <c>webrepl board</c>.</summary>
        public double ReadyWorstMs => InProcessPrompt.Concat(CliPrompt).DefaultIfEmpty(double.NaN).Max();

        /// <summary>The largest sum of the two processes' RSS over the readings of ordinary use (not the stress phase).</summary>
        public double MemoryWorstBytes => CliIdle.Concat(Phases).Select(p => p.SumBytes).DefaultIfEmpty(double.NaN).Max();
    }
}
