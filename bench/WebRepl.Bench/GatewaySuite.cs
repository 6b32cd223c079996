using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using WebRepl.Device;
using WebRepl.Gateway;

namespace WebRepl.Bench;

/// <summary>
/// The gateway suite: the same boards (<see cref="WebReplServer"/>, firmware timing) reached directly and through
/// <see cref="WebReplGateway"/> on loopback, side by side. Keystroke echo (the library's client, and a
/// browser stand-in: <see cref="ClientWebSocket"/> with an Origin), PUT and GET throughput, and the memory of a
/// gateway process holding many idle sessions (the gateway runs in a child process for that figure).
/// </summary>
internal static class GatewaySuite
{
    private const string Password = "bench";
    private const int Mi = 1 << 20;
    private const int Ki = 1 << 10;
    private const string HostVariable = "WEBREPL_BENCH_GATEWAY_HOST";

    /// <summary>Goal: the gateway adds less than this to the echo median, milliseconds.</summary>
    private const double EchoAddedGoalMs = 0.5;

    /// <summary>Goal: throughput through the gateway at least this share of direct.</summary>
    private const double ThroughputGoal = 0.8;

    /// <summary>Goal: the gateway process with 1,000 idle sessions, bytes (MB = 10^6 bytes).</summary>
    private const double MemoryGoalBytes = 200e6;

    /// <summary>True in the gateway process this suite starts (this program in host mode).</summary>
    public static bool IsHost => Environment.GetEnvironmentVariable(HostVariable) == "1";

    public static async Task<int> RunAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        if (IsHost)
        {
            return await HostAsync(cancellationToken);
        }

        bool quick = settings.Quick;
        int echoSamples = quick ? 200 : 2000;
        int echoWarmup = quick ? 50 : 300;
        int transferBytes = quick ? 256 * Ki : Mi;
        // A PUT of 1 MiB on loopback takes under 10 ms, a GET a quarter of a second: PUTs repeat more often, so
        // that their median is as steady as the GETs'.
        int putReps = quick ? 5 : 41;
        int getReps = quick ? 3 : 11;
        int sessions = quick ? 100 : 1000;

        string root = Directory.CreateTempSubdirectory("webrepl-bench-gateway-").FullName;
        var total = Stopwatch.StartNew();
        var cpuStart = CpuTimes.Read();
        try
        {
            await using var board = StartBoard(root);
            await using var gateway = await WebReplGateway.StartAsync(
                new GatewayOptions { Listen = [new IPEndPoint(IPAddress.Loopback, 0)], IdleTimeout = TimeSpan.Zero },
                cancellationToken);
            string direct = $"ws://127.0.0.1:{board.LocalEndPoint.Port}";
            string through = $"{gateway.WebSocketUrls[0]}/{direct}";
            string origin = $"http://127.0.0.1:{gateway.Urls[0].Port}";

            await using var process = await GatewayProcess.StartAsync(cancellationToken);
            var echo = new List<(string Path, string Client, Stats Stats)>();
            Log.Progress("[gateway] echo: WebReplClient direct");
            echo.Add(("direct", "WebReplClient (immediate ACKs)", await EchoAsync(() => LibraryBenchClient.ConnectAsync(direct, Password, true, cancellationToken), echoWarmup, echoSamples, cancellationToken)));
            Log.Progress("[gateway] echo: WebReplClient through the gateway");
            echo.Add(("gateway", "WebReplClient (immediate ACKs)", await EchoAsync(() => LibraryBenchClient.ConnectAsync(through, Password, true, cancellationToken), echoWarmup, echoSamples, cancellationToken)));
            Log.Progress("[gateway] echo: browser stand-in through the gateway");
            echo.Add(("gateway", "ClientWebSocket with Origin (a browser's stand-in, delayed ACKs)", await EchoAsync(() => BrowserBenchClient.ConnectAsync(through, origin, cancellationToken), echoWarmup, echoSamples, cancellationToken)));
            Log.Progress("[gateway] echo: browser stand-in direct (delayed ACKs: few samples)");
            echo.Add(("direct", "ClientWebSocket (a browser's stand-in, delayed ACKs)", await EchoAsync(() => BrowserBenchClient.ConnectAsync(direct, null, cancellationToken), 3, quick ? 10 : 40, cancellationToken)));
            Log.Progress("[gateway] echo: WebReplClient through the gateway process");
            echo.Add(("gateway process", "WebReplClient (immediate ACKs)", await EchoAsync(() => LibraryBenchClient.ConnectAsync($"{process.WebSocketBase}/{direct}", Password, true, cancellationToken), echoWarmup, echoSamples, cancellationToken)));

            // The gateway as users run it (`webrepl gateway`, a process of its own) and in this process (sharing its
            // thread pool with the client and the board): both against direct, alternating.
            (string Name, string Base, Func<(TimeSpan Cpu, TimeSpan Waited)>? Cpu)[] gateways = [("gateway process", process.WebSocketBase, () => (process.CpuTime, process.RunQueueWait)), ("gateway in-process", gateway.WebSocketUrls[0], null)];
            var transfers = await TransfersAsync("loopback board", root, gateways, TimeSpan.Zero, transferBytes, putReps, getReps, cancellationToken);

            // A board at network distance: it sleeps per chunk (WebReplServer's TransferChunkDelay of 1 ms, which
            // the kernel's timer rounds up to its tick), as a board over Wi-Fi (a round trip of milliseconds) or an
            // ESP8266 (20 ms per chunk) takes at least that; there the gateway's cost per round trip is a small share.
            transfers.AddRange(await TransfersAsync("board sleeping per chunk (TransferChunkDelay 1 ms)", root, gateways[..1], TimeSpan.FromMilliseconds(1), 64 * Ki, quick ? 2 : 5, quick ? 2 : 5, cancellationToken));

            Log.Progress($"[gateway] {sessions} idle sessions through a gateway process");
            var memory = await SessionsHeldAsync(sessions, root, cancellationToken);
            return PrintReport(echo, transfers, memory, total.Elapsed, CpuTimes.StealShare(cpuStart, CpuTimes.Read()), quick);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>
    /// Boards of the same kind on the same folder, one per path (a board takes one connection): one reached
    /// directly, the others through the gateways; the same transfers on each, alternating.
    /// </summary>
    private static async Task<List<TransferResult>> TransfersAsync(
        string board, string root, (string Name, string Base, Func<(TimeSpan Cpu, TimeSpan Waited)>? Cpu)[] gateways, TimeSpan chunkDelay, int bytes, int putReps, int getReps, CancellationToken cancellationToken)
    {
        var boards = new List<WebReplServer>();
        for (int b = 0; b <= gateways.Length; b++)
        {
            boards.Add(StartBoard(root, chunkDelay));
        }

        (string Name, string Url, Func<(TimeSpan Cpu, TimeSpan Waited)>? Cpu)[] paths =
        [
            ("direct", $"ws://127.0.0.1:{boards[0].LocalEndPoint.Port}", null),
            .. gateways.Select((g, i) => (g.Name, $"{g.Base}/ws://127.0.0.1:{boards[i + 1].LocalEndPoint.Port}", g.Cpu)),
        ];
        // CPU time per repetition: this process (client and board, and the gateway when it runs in here) and the
        // gateway process when the path goes through it. More stable than rates on a shared machine.
        // put: this, gateway; get: this, gateway; put, get: the gateway process's threads waiting for a CPU (ms)
        var cpu = paths.Select(_ => new double[6]).ToArray();
        byte[] data = new byte[bytes];
        new Random(7).NextBytes(data);
        byte[] check = new byte[bytes + 1];
        string getName = $"get-{bytes}.bin";
        await File.WriteAllBytesAsync(Path.Combine(root, getName), data, cancellationToken);
        // The paths share the machine with whatever else runs on it: their repetitions alternate (each rep starts
        // with the next path), so that a change of load weighs on all alike.
        var clients = new IBenchClient[paths.Length];
        var put = paths.Select(_ => new List<double>()).ToArray();
        var get = paths.Select(_ => new List<double>()).ToArray();
        try
        {
            for (int p = 0; p < paths.Length; p++)
            {
                clients[p] = await LibraryBenchClient.ConnectAsync(paths[p].Url, Password, true, cancellationToken);
            }

            Log.Progress($"[gateway] PUT {Fmt.Size(bytes)} × {putReps} and GET × {getReps}, {board}: {string.Join(", ", paths.Select(p => p.Name))}, alternating");
            // Warm-up: PUTs on every path, alternating, for a second, then a pause in which the runtime compiles
            // the hot code at its optimising tier (it waits for 100 ms without new methods first); a gateway serves
            // for hours, and a 1 MiB PUT takes under 10 ms, so one warm-up repetition measured partly tier-0 code.
            var warmUp = Stopwatch.StartNew();
            while (warmUp.Elapsed < TimeSpan.FromSeconds(bytes >= Mi ? 1 : 0.2))
            {
                foreach (int p in Enumerable.Range(0, paths.Length))
                {
                    await clients[p].PutAsync(data, $"put-{paths[p].Name}.bin", cancellationToken);
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            for (int i = 0; i < Math.Max(putReps, getReps) + 1; i++)
            {
                int[] order = [.. Enumerable.Range(0, paths.Length).Select(k => (k + i) % paths.Length)];
                foreach (int p in i <= putReps ? order : [])
                {
                    var (own, other, waited) = CpuNow(paths[p].Cpu);
                    long start = Stopwatch.GetTimestamp();
                    await clients[p].PutAsync(data, $"put-{paths[p].Name}.bin", cancellationToken);
                    double putMs = Fmt.Milliseconds(start, Stopwatch.GetTimestamp());
                    if (i > 0)
                    {
                        var (ownAfter, otherAfter, waitedAfter) = CpuNow(paths[p].Cpu);
                        cpu[p][0] += (ownAfter - own).TotalMilliseconds;
                        cpu[p][1] += (otherAfter - other).TotalMilliseconds;
                        cpu[p][4] += (waitedAfter - waited).TotalMilliseconds;
                    }

                    if (!await SameAsync(Path.Combine(root, $"put-{paths[p].Name}.bin"), data, check, cancellationToken))
                    {
                        throw new InvalidOperationException($"A PUT through '{paths[p].Name}' changed the data.");
                    }

                    if (i > 0)
                    {
                        put[p].Add(data.Length / (putMs / 1000));
                    }
                }

                foreach (int p in i <= getReps ? order : [])
                {
                    var (own, other, waited) = CpuNow(paths[p].Cpu);
                    long start = Stopwatch.GetTimestamp();
                    byte[] back = await clients[p].GetAsync(getName, data.Length, null, cancellationToken);
                    double getMs = Fmt.Milliseconds(start, Stopwatch.GetTimestamp());
                    if (i > 0)
                    {
                        var (ownAfter, otherAfter, waitedAfter) = CpuNow(paths[p].Cpu);
                        cpu[p][2] += (ownAfter - own).TotalMilliseconds;
                        cpu[p][3] += (otherAfter - other).TotalMilliseconds;
                        cpu[p][5] += (waitedAfter - waited).TotalMilliseconds;
                    }

                    if (!back.AsSpan().SequenceEqual(data))
                    {
                        throw new InvalidOperationException($"A GET through '{paths[p].Name}' changed the data.");
                    }

                    if (i > 0)
                    {
                        get[p].Add(data.Length / (getMs / 1000));
                    }
                }
            }
        }
        finally
        {
            foreach (var client in clients.Where(c => c is not null))
            {
                await client.DisposeAsync();
            }

            foreach (var server in boards)
            {
                await server.DisposeAsync();
            }
        }

        var results = new List<TransferResult>();
        for (int p = 0; p < paths.Length; p++)
        {
            double putMib = (double)bytes * putReps / Mi;
            double getMib = (double)bytes * getReps / Mi;
            results.Add(new TransferResult(board, paths[p].Name, bytes, new Stats(put[p]), new Stats(get[p]), [.. cpu[p].Select((ms, k) => ms / (k is < 2 or 4 ? putMib : getMib))], paths[p].Cpu is not null));
        }

        return results;
    }

    /// <summary>
    /// Whether the file holds exactly <paramref name="expected"/>, read into <paramref name="buffer"/> (one more byte
    /// than expected). A new 1 MiB array per check lands on the large-object heap, and its background collections
    /// ran during the next transfers (a tenth of this process's CPU samples in a profile).
    /// </summary>
    private static async Task<bool> SameAsync(string path, byte[] expected, byte[] buffer, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
        int filled = await file.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        return buffer.AsSpan(0, filled).SequenceEqual(expected);
    }

    private static WebReplServer StartBoard(string root, TimeSpan chunkDelay = default)
    {
        var server = new WebReplServer(
            new WebReplServerOptions { Password = Password, EndPoint = new IPEndPoint(IPAddress.Loopback, 0), FirmwareTiming = true, TransferChunkDelay = chunkDelay },
            new EchoConsole(),
            new DirectoryFileStore(root));
        server.Start();
        return server;
    }

    private static async Task<Stats> EchoAsync(Func<Task<IBenchClient>> connect, int warmup, int samples, CancellationToken cancellationToken)
    {
        await using var client = await connect();
        var times = new List<double>(samples);
        var budget = Stopwatch.StartNew();
        for (int i = 0; i < warmup + samples && budget.Elapsed < TimeSpan.FromSeconds(30); i++)
        {
            byte key = (byte)('a' + (i % 26));
            long start = Stopwatch.GetTimestamp();
            await client.EchoAsync(key, cancellationToken);
            if (i >= warmup)
            {
                times.Add(Fmt.Milliseconds(start, Stopwatch.GetTimestamp()));
            }
        }

        return new Stats(times);
    }

    /// <summary>The memory of a gateway process (a child: this program in host mode) before and with idle sessions.</summary>
    private static async Task<SessionsResult> SessionsHeldAsync(int count, string root, CancellationToken cancellationToken)
    {
        await using var host = await GatewayProcess.StartAsync(cancellationToken);
        var boards = new List<WebReplServer>();
        var clients = new WebReplClient[count];
        try
        {
            // One session opened and closed first, so that the baseline includes the code paths' one-time costs
            // (JIT, Kestrel's first connection) and the difference is what sessions hold.
            await using (var warm = StartBoard(root))
            {
                await using var client = await WebReplClient.ConnectAndLoginAsync($"{host.WebSocketBase}/ws://127.0.0.1:{warm.LocalEndPoint.Port}", Password, cancellationToken: cancellationToken);
                await client.GetVersionAsync(cancellationToken);
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            var before = await host.StatsAsync(cancellationToken);
            for (int i = 0; i < count; i++)
            {
                boards.Add(StartBoard(root));
            }

            var login = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (i, token) =>
            {
                clients[i] = await WebReplClient.ConnectAndLoginAsync(
                    $"{host.WebSocketBase}/ws://127.0.0.1:{boards[i].LocalEndPoint.Port}", Password, cancellationToken: token);
            });
            double loginSeconds = login.Elapsed.TotalSeconds;
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            var held = await host.StatsAsync(cancellationToken);

            // Still alive after the measurement: every session echoes.
            await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (i, token) =>
            {
                await clients[i].SendInputAsync("z", token);
                var echo = await clients[i].Output.ReadAsync(token);
                while (!Encoding.ASCII.GetString(echo.Span).Contains('z', StringComparison.Ordinal))
                {
                    echo = await clients[i].Output.ReadAsync(token);
                }
            });
            return new SessionsResult(count, before, held, loginSeconds);
        }
        finally
        {
            foreach (var client in clients.Where(c => c is not null))
            {
                await client.DisposeAsync();
            }

            foreach (var board in boards)
            {
                await board.DisposeAsync();
            }
        }
    }

    /// <summary>This program in host mode, as a child process: a gateway of its own, as <c>webrepl gateway</c> runs.</summary>
    private sealed class GatewayProcess : IAsyncDisposable
    {
        private readonly Process _host;

        private GatewayProcess(Process host, int port)
        {
            _host = host;
            WebSocketBase = $"ws://127.0.0.1:{port}";
        }

        public string WebSocketBase { get; }

        /// <summary>The gateway process's CPU time so far (user and system).</summary>
        public TimeSpan CpuTime
        {
            get
            {
                _host.Refresh();
                return _host.TotalProcessorTime;
            }
        }

        /// <summary>
        /// How long the process's threads were ready to run but waited for a CPU, summed over its threads (Linux
        /// schedstat, nanoseconds; zero where there is none). A thread that ended drops out of the sum, so only
        /// differences over a span in which the gateway keeps its threads mean anything.
        /// </summary>
        public TimeSpan RunQueueWait
        {
            get
            {
                long total = 0;
                try
                {
                    foreach (string task in Directory.EnumerateDirectories($"/proc/{_host.Id}/task"))
                    {
                        try
                        {
                            total += long.Parse(File.ReadAllText(Path.Combine(task, "schedstat")).Split(' ')[1], CultureInfo.InvariantCulture);
                        }
                        catch (IOException)
                        {
                            // the thread ended meanwhile
                        }
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return TimeSpan.Zero;
                }

                return TimeSpan.FromTicks(total / 100);
            }
        }

        public static async Task<GatewayProcess> StartAsync(CancellationToken cancellationToken)
        {
            string exe = Environment.ProcessPath ?? "dotnet";
            var start = new ProcessStartInfo(exe) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(exe) == "dotnet")
            {
                start.ArgumentList.Add(typeof(GatewaySuite).Assembly.Location);
            }

            start.ArgumentList.Add("gateway");
            start.Environment[HostVariable] = "1";
            var host = Process.Start(start) ?? throw new InvalidOperationException("Could not start the gateway process.");
            try
            {
                int port = int.Parse((await ReadReplyAsync(host, "gateway-port", cancellationToken))[0], CultureInfo.InvariantCulture);
                return new GatewayProcess(host, port);
            }
            catch
            {
                host.Kill();
                host.Dispose();
                throw;
            }
        }

        public async Task<HostStats> StatsAsync(CancellationToken cancellationToken)
        {
            await _host.StandardInput.WriteLineAsync("stats");
            await _host.StandardInput.FlushAsync(cancellationToken);
            string[] fields = await ReadReplyAsync(_host, "stats", cancellationToken);
            return new HostStats(
                long.Parse(fields[0], CultureInfo.InvariantCulture) * 1024,
                long.Parse(fields[1], CultureInfo.InvariantCulture) * 1024,
                long.Parse(fields[2], CultureInfo.InvariantCulture),
                int.Parse(fields[3], CultureInfo.InvariantCulture));
        }

        public async ValueTask DisposeAsync()
        {
            _host.StandardInput.Close();
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await _host.WaitForExitAsync(exit.Token);
            }
            catch (OperationCanceledException)
            {
                _host.Kill();
            }

            _host.Dispose();
        }

        private static async Task<string[]> ReadReplyAsync(Process host, string tag, CancellationToken cancellationToken)
        {
            while (await host.StandardOutput.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.StartsWith(tag + " ", StringComparison.Ordinal))
                {
                    return line[(tag.Length + 1)..].Split(' ');
                }
            }

            throw new InvalidOperationException("The gateway process ended early.");
        }
    }

    /// <summary>Host mode (the child): a gateway on 127.0.0.1, answering "stats" on standard input until it closes.</summary>
    private static async Task<int> HostAsync(CancellationToken cancellationToken)
    {
        await using var gateway = await WebReplGateway.StartAsync(
            new GatewayOptions { Listen = [new IPEndPoint(IPAddress.Loopback, 0)], MaxSessions = 5000, IdleTimeout = TimeSpan.Zero },
            cancellationToken);
        Console.WriteLine($"gateway-port {gateway.Urls[0].Port}");
        while (await Console.In.ReadLineAsync(cancellationToken) is { } command)
        {
            if (command == "stats")
            {
                GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
                var memory = ProcMemory.Read(Environment.ProcessId);
                Console.WriteLine($"stats {memory?.RssKiB ?? -1} {memory?.HwmKiB ?? -1} {GC.GetGCMemoryInfo().HeapSizeBytes} {gateway.Sessions.Count}");
            }
        }

        return 0;
    }

    private static int PrintReport(
        List<(string Path, string Client, Stats Stats)> echo,
        List<TransferResult> transfers,
        SessionsResult memory,
        TimeSpan elapsed,
        double steal,
        bool quick)
    {
        Console.WriteLine("## gateway: direct vs through `webrepl gateway` (Kestrel), WebReplServer boards with firmware timing, 127.0.0.1");
        Console.WriteLine();
        if (quick)
        {
            Console.WriteLine("*--quick: a smoke run with few samples; do not quote these figures.*");
            Console.WriteLine();
        }

        Console.WriteLine("### Keystroke echo (one byte of terminal input until its echo arrives)");
        Console.WriteLine();
        Console.WriteLine("| Path | Client | Samples | Median (ms) | p90 (ms) | p99 (ms) | Max (ms) | ≥ 10 ms |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (path, client, s) in echo)
        {
            Console.WriteLine($"| {path} | {client} | {s.Count} | {Fmt.Ms(s.Median)} | {Fmt.Ms(s.Percentile(90))} | {Fmt.Ms(s.Percentile(99))} | {Fmt.Ms(s.Max)} | {s.CountAtLeast(10)} |");
        }

        Console.WriteLine();
        Console.WriteLine("### File transfer (WebReplClient; medians; GET is one round trip per 256-byte chunk, PUT sends 1 KiB frames)");
        Console.WriteLine();
        Console.WriteLine("| Board | Path | Size × reps (PUT, GET) | PUT | GET | GET per chunk (ms) | PUT / direct | GET / direct |");
        Console.WriteLine("|---|---|---|---:|---:|---:|---:|---:|");
        foreach (var t in transfers)
        {
            var direct = transfers.First(d => d.Board == t.Board && d.Path == "direct");
            string Share(double value, double reference) => t.Path == "direct" ? string.Empty : (value / reference).ToString("P0", CultureInfo.InvariantCulture);
            Console.WriteLine($"| {t.Board} | {t.Path} | {Fmt.Size(t.Bytes)} × {t.Put.Count}, {t.Get.Count} | {Fmt.Rate(t.Put.Median)} | {Fmt.Rate(t.Get.Median)} | {Fmt.Ms(t.Bytes / t.Get.Median * 1000 / ((t.Bytes / 256) + 1))} | {Share(t.Put.Median, direct.Put.Median)} | {Share(t.Get.Median, direct.Get.Median)} |");
        }
        Console.WriteLine();
        Console.WriteLine("CPU time per MiB transferred (means over the repetitions): the benchmark's process holds the client and the board (and the in-process gateway); the gateway process's own is shown apart, with the time its threads were ready to run but waited for a CPU (run-queue wait, /proc/PID/task/*/schedstat).");
        Console.WriteLine();
        Console.WriteLine("| Board | Path | PUT: client and board (ms/MiB) | PUT: gateway process (ms/MiB) | PUT: gateway process waiting for a CPU (ms/MiB) | GET: client and board (ms/MiB) | GET: gateway process (ms/MiB) | GET: gateway process waiting for a CPU (ms/MiB) |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var t in transfers)
        {
            string Other(double value) => t.GatewayProcess ? value.ToString("0.0", CultureInfo.InvariantCulture) : string.Empty;
            Console.WriteLine($"| {t.Board} | {t.Path} | {t.CpuPerMib[0]:0.0} | {Other(t.CpuPerMib[1])} | {Other(t.CpuPerMib[4])} | {t.CpuPerMib[2]:0.0} | {Other(t.CpuPerMib[3])} | {Other(t.CpuPerMib[5])} |");
        }

        Console.WriteLine();
        Console.WriteLine($"### Sessions held: a gateway process with {memory.Count} idle, logged-in sessions (one board each)");
        Console.WriteLine();
        Console.WriteLine("| | RSS | GC heap | Sessions |");
        Console.WriteLine("|---|---:|---:|---:|");
        Console.WriteLine($"| warmed up (one session opened and closed), no session | {Mb(memory.Before.Rss)} | {Mb(memory.Before.Heap)} | {memory.Before.Sessions} |");
        Console.WriteLine($"| {memory.Count} idle sessions | {Mb(memory.Held.Rss)} | {Mb(memory.Held.Heap)} | {memory.Held.Sessions} |");
        Console.WriteLine($"| per session | {(memory.Held.Rss - memory.Before.Rss) / 1024.0 / memory.Count:0.0} KiB | {(memory.Held.Heap - memory.Before.Heap) / 1024.0 / memory.Count:0.0} KiB | |");
        Console.WriteLine();
        Console.WriteLine($"Peak RSS (VmHWM) {Mb(memory.Held.Hwm)}; {memory.Count} logins through the gateway took {memory.LoginSeconds:0.0} s (16 at a time). Figures after a full GC in the gateway process.");

        double added = echo[1].Stats.Median - echo[0].Stats.Median;
        // The goal is judged on the gateway as users run it: a process of its own (rows 0 and 1); row 2 is the
        // gateway in the benchmark's process, rows 3 and 4 the board that sleeps per chunk.
        double putShare = transfers[1].Put.Median / transfers[0].Put.Median;
        double getShare = transfers[1].Get.Median / transfers[0].Get.Median;
        double inProcessPut = transfers[2].Put.Median / transfers[0].Put.Median;
        double inProcessGet = transfers[2].Get.Median / transfers[0].Get.Median;
        double distantPut = transfers[4].Put.Median / transfers[3].Put.Median;
        double distantGet = transfers[4].Get.Median / transfers[3].Get.Median;
        // The goal is stated for 1,000 sessions; a quick run holds fewer and is scaled to 1,000.
        double memoryAt1000 = memory.Before.Rss + ((memory.Held.Rss - memory.Before.Rss) * 1000.0 / memory.Count);
        bool echoMet = added < EchoAddedGoalMs;
        bool putMet = putShare >= ThroughputGoal;
        bool getMet = getShare >= ThroughputGoal;
        bool memoryMet = memoryAt1000 < MemoryGoalBytes;
        Console.WriteLine();
        Console.WriteLine("### Goals");
        Console.WriteLine();
        Console.WriteLine("| Goal | Measured | Met |");
        Console.WriteLine("|---|---:|---|");
        Console.WriteLine($"| echo: the gateway adds under {EchoAddedGoalMs} ms (median, WebReplClient) | {Fmt.Ms(added)} ms | {Mark(echoMet)} |");
        Console.WriteLine($"| PUT through the gateway (its own process) ≥ {ThroughputGoal:P0} of direct, loopback board | {putShare:P0} | {Mark(putMet)} |");
        Console.WriteLine($"| GET through the gateway (its own process) ≥ {ThroughputGoal:P0} of direct, loopback board | {getShare:P0} | {Mark(getMet)} |");
        Console.WriteLine($"| (the same, gateway in the benchmark's process) | {inProcessPut:P0} and {inProcessGet:P0} | {Mark(inProcessPut >= ThroughputGoal && inProcessGet >= ThroughputGoal)} |");
        Console.WriteLine($"| (the same, board sleeping per chunk as boards at network distance take) | {distantPut:P0} and {distantGet:P0} | {Mark(distantPut >= ThroughputGoal && distantGet >= ThroughputGoal)} |");
        Console.WriteLine($"| 1,000 idle sessions under 200 MB (gateway process RSS) | {Mb((long)memoryAt1000)}{(memory.Count == 1000 ? string.Empty : " (scaled)")} | {Mark(memoryMet)} |");
        Console.WriteLine();
        string stealText = double.IsNaN(steal) ? string.Empty : $"; CPU steal {steal * 100:0.0}%";
        Console.WriteLine($"MB = 10^6 bytes. Whole run: {Fmt.Seconds(elapsed)}{stealText}; load average at the end {Program.LoadAverage()}.");
        return echoMet && putMet && getMet && memoryMet ? 0 : 3;
    }

    private static string Mb(long bytes) => (bytes / 1e6).ToString("0.0", CultureInfo.InvariantCulture) + " MB";

    private static string Mark(bool met) => met ? "yes" : "**no**";

    /// <summary>
    /// One path's transfers; <c>CpuPerMib</c>: CPU ms per MiB, PUT in this process, PUT in the gateway process, GET
    /// here, GET there; then the gateway process's run-queue wait per MiB, PUT and GET.
    /// </summary>
    private sealed record TransferResult(string Board, string Path, int Bytes, Stats Put, Stats Get, double[] CpuPerMib, bool GatewayProcess);

    private static (TimeSpan Own, TimeSpan Other, TimeSpan OtherWaited) CpuNow(Func<(TimeSpan Cpu, TimeSpan Waited)>? other)
    {
        using var self = Process.GetCurrentProcess();
        var (cpu, waited) = other?.Invoke() ?? default;
        return (self.TotalProcessorTime, cpu, waited);
    }

    private sealed record HostStats(long Rss, long Hwm, long Heap, int Sessions);

    private sealed record SessionsResult(int Count, HostStats Before, HostStats Held, double LoginSeconds);

    /// <summary>A browser's stand-in: <see cref="ClientWebSocket"/> (delayed ACKs, UTF-8 checked) with an Origin header.</summary>
    private sealed class BrowserBenchClient : IBenchClient
    {
        private readonly ClientWebSocket _socket;
        private readonly byte[] _buffer = new byte[64 * 1024];
        private readonly byte[] _key = new byte[1];

        private BrowserBenchClient(ClientWebSocket socket) => _socket = socket;

        public static async Task<IBenchClient> ConnectAsync(string url, string? origin, CancellationToken cancellationToken)
        {
            var socket = new ClientWebSocket();
            socket.Options.KeepAliveInterval = TimeSpan.Zero;
            if (origin is not null)
            {
                socket.Options.SetRequestHeader("Origin", origin);
            }

            var client = new BrowserBenchClient(socket);
            await socket.ConnectAsync(new Uri(url), cancellationToken);
            await client.ReadUntilAsync("Password: ", cancellationToken);
            await socket.SendAsync(Encoding.ASCII.GetBytes(Password + "\r"), WebSocketMessageType.Text, true, cancellationToken);
            await client.ReadUntilAsync(">>> ", cancellationToken);
            return client;
        }

        public async Task EchoAsync(byte key, CancellationToken cancellationToken)
        {
            _key[0] = key;
            await _socket.SendAsync(_key, WebSocketMessageType.Text, true, cancellationToken);
            await ReadUntilAsync(((char)key).ToString(), cancellationToken);
        }

        public Task PutAsync(ReadOnlyMemory<byte> data, string remotePath, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<byte[]> GetAsync(string remotePath, int expectedLength, Action? onChunk, CancellationToken cancellationToken) => throw new NotSupportedException();

        public async ValueTask DisposeAsync()
        {
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            try
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", quick.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
            }

            _socket.Dispose();
        }

        private async Task ReadUntilAsync(string marker, CancellationToken cancellationToken)
        {
            var seen = new StringBuilder();
            while (!seen.ToString().EndsWith(marker, StringComparison.Ordinal))
            {
                var result = await _socket.ReceiveAsync(_buffer.AsMemory(), cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    throw new InvalidOperationException($"Closed before '{marker}'.");
                }

                seen.Append(Encoding.UTF8.GetString(_buffer, 0, result.Count));
            }
        }
    }
}
