using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using WebRepl.Board;
using WebRepl.Mip;

namespace WebRepl.Bench;

/// <summary>
/// The mip suite: <c>webrepl mip install app</c> as the command does it (connect, log in, board facts, resolve and
/// download, hashes on the board, prepare, PUT under temporary names, verify, rename, close) against the virtual
/// board, at 0 and 10 ms round trip (a <see cref="LatencyRelay"/> between client and board; the index is on
/// loopback, undelayed: the figures are the board's side). The package is aioble-sized: <c>app</c> (4 files) with a
/// dependency <c>util</c> (2 files), .mpy for version 6. Rows: a first install into an empty folder, and the same
/// install again (every file identical: nothing written).
/// </summary>
internal static class MipSuite
{
    private const string Password = "bench";
    private static readonly int[] OneWayMs = [0, 5];
    private static readonly (string Package, string Path, int Size)[] Files =
    [
        ("app", "app/__init__.mpy", 1800), ("app", "app/core.mpy", 6200), ("app", "app/client.mpy", 4100), ("app", "app/server.mpy", 3900),
        ("util", "util/__init__.mpy", 900), ("util", "util/buffers.mpy", 2500),
    ];

    public static async Task<int> RunAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        string root = Directory.CreateTempSubdirectory("webrepl-bench-mip-").FullName;
        var total = Stopwatch.StartNew();
        var first = new Dictionary<int, List<double>>();
        var again = new Dictionary<int, List<double>>();
        try
        {
            await using var index = await IndexServer.StartAsync(cancellationToken);
            Log.Progress("[mip] starting the virtual board");
            await using var board = await VirtualBoard.StartAsync(
                new VirtualBoardOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), Password = Password, Root = root }, cancellationToken);
            int reps = settings.Quick ? 1 : 11;
            int folder = 0;
            foreach (int oneWay in OneWayMs)
            {
                LatencyRelay? relay = oneWay == 0 ? null : new LatencyRelay(board.EndPoint, TimeSpan.FromMilliseconds(oneWay));
                try
                {
                    string target = $"127.0.0.1:{(relay?.EndPoint ?? board.EndPoint).Port}";
                    Log.Progress($"[mip] {oneWay * 2} ms round trip");
                    first[oneWay] = [];
                    again[oneWay] = [];
                    for (int i = -1; i < reps; i++)
                    {
                        var options = new MipOptions { Index = new Uri(index.Url), Target = $"/t{folder++}" };
                        double fresh = await InstallAsync(target, options, expectWrites: Files.Length, cancellationToken);
                        double same = await InstallAsync(target, options, expectWrites: 0, cancellationToken);
                        if (i >= 0)
                        {
                            // The first round is a warm-up (JIT, the board's first imports).
                            first[oneWay].Add(fresh);
                            again[oneWay].Add(same);
                        }
                    }
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
        }

        PrintReport(first, again, total.Elapsed, settings.Quick);
        return 0;
    }

    /// <summary>One whole install, connect to close; checks it wrote what was expected.</summary>
    private static async Task<double> InstallAsync(string target, MipOptions options, int expectWrites, CancellationToken cancellationToken)
    {
        long t0 = Stopwatch.GetTimestamp();
        MipPlan plan;
        await using (var client = await WebReplClient.ConnectAndLoginAsync(target, Password, cancellationToken: cancellationToken))
        {
            plan = await MipInstaller.InstallAsync(client, ["app"], options, cancellationToken: cancellationToken);
        }

        double ms = Fmt.Milliseconds(t0, Stopwatch.GetTimestamp());
        if (plan.ToWrite.Count != expectWrites || plan.Files.Count != Files.Length)
        {
            throw new InvalidOperationException($"the install wrote {plan.ToWrite.Count} of {plan.Files.Count} files, expected {expectWrites} of {Files.Length}");
        }

        await Task.Delay(20, cancellationToken); // the board ends a session a moment after its client leaves
        return ms;
    }

    private static void PrintReport(Dictionary<int, List<double>> first, Dictionary<int, List<double>> again, TimeSpan elapsed, bool quick)
    {
        int bytes = Files.Sum(f => f.Size);
        Console.WriteLine("## mip install of a package with a dependency (virtual board, whole command, median [min–max])");
        Console.WriteLine();
        Console.WriteLine("| Install | 0 ms | 10 ms | round trips |");
        Console.WriteLine("|---|---:|---:|---:|");
        Row($"first: `app` + `util`, {Files.Length} files, {Fmt.Size(bytes)}", first);
        Row("again: all identical, nothing written", again);
        Console.WriteLine();
        Console.WriteLine($"Round trips: (fastest at 10 ms − fastest at 0 ms) / 10 ms. Whole run {Fmt.Seconds(elapsed)}{(quick ? ", --quick: single samples" : string.Empty)}; load average at the end {Program.LoadAverage()}.");

        static void Row(string what, Dictionary<int, List<double>> samples)
        {
            var near = new Stats(samples[0]);
            var far = new Stats(samples[5]);
            // From the fastest runs: on a shared machine the medians carry the load's noise, the minimums much less.
            string trips = ((far.Min - near.Min) / 10).ToString("0.0", CultureInfo.InvariantCulture);
            Console.WriteLine($"| {what} | {Cell(near)} | {Cell(far)} | {trips} |");
        }

        static string Cell(Stats s) => $"{Fmt.Ms(s.Median)} ms [{Fmt.Ms(s.Min)}–{Fmt.Ms(s.Max)}]";
    }

    /// <summary>An index in micropython-lib's v2 layout on Kestrel at 127.0.0.1: <c>app</c> depends on <c>util</c>; random file contents.</summary>
    private sealed class IndexServer : IAsyncDisposable
    {
        private readonly Dictionary<string, byte[]> _files = new(StringComparer.Ordinal);
        private WebApplication? _app;

        public string Url { get; private set; } = string.Empty;

        public static async Task<IndexServer> StartAsync(CancellationToken cancellationToken)
        {
            var server = new IndexServer();
            var random = new Random(15);
            foreach (var package in Files.GroupBy(f => f.Package))
            {
                var hashes = new JsonArray();
                foreach (var (_, path, size) in package)
                {
                    byte[] content = new byte[size];
                    random.NextBytes(content);
                    string hash = Convert.ToHexStringLower(SHA256.HashData(content))[..8];
                    server._files[$"/file/{hash[..2]}/{hash}"] = content;
                    hashes.Add(new JsonArray(path, hash));
                }

                var deps = package.Key == "app" ? new JsonArray(new JsonArray("util", "latest")) : [];
                server._files[$"/package/6/{package.Key}/latest.json"] = System.Text.Encoding.UTF8.GetBytes(
                    new JsonObject { ["hashes"] = hashes, ["deps"] = deps, ["version"] = "1.0" }.ToJsonString());
            }

            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            app.Run(async context =>
            {
                if (!server._files.TryGetValue(context.Request.Path.Value ?? string.Empty, out byte[]? content))
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return;
                }

                context.Response.ContentLength = content.Length;
                await context.Response.Body.WriteAsync(content, context.RequestAborted);
            });
            await app.StartAsync(cancellationToken);
            server._app = app;
            server.Url = app.Urls.Single().TrimEnd('/');
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.StopAsync();
                await _app.DisposeAsync();
            }
        }
    }
}
