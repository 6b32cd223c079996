using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using WebRepl.Board;
using WebRepl.Mount;

namespace WebRepl.Bench;

/// <summary>
/// The mount suite: <c>webrepl mount</c>'s costs against the virtual board at 0 and 10 ms round trip (a
/// <see cref="LatencyRelay"/> on 127.0.0.1): mounting (the board's code through the raw REPL), the first import of
/// a package of 20 modules of about 1 KB each, and one <c>open().read()</c> of a 100-byte file. Import and open are
/// timed on the board (<c>time.ticks_ms</c>), so the figures are what a program there feels; the requests each
/// needed are counted on this side.
/// </summary>
internal static class MountSuite
{
    private const string Password = "bench";
    private const int Modules = 20;
    private const int Opens = 20;
    private static readonly int[] OneWayMs = [0, 5];

    private const string ImportCode = """
import sys, time
for k in list(sys.modules):
    if k.startswith('bpkg'):
        del sys.modules[k]
t = time.ticks_ms()
import bpkg
print(time.ticks_diff(time.ticks_ms(), t), bpkg.total())
""";

    private static readonly string OpenCode = string.Create(CultureInfo.InvariantCulture, $"""
import time
t = time.ticks_ms()
for i in range({Opens}):
    with open('small.txt') as f:
        n = len(f.read())
print(time.ticks_diff(time.ticks_ms(), t), n)
""");

    public static async Task<int> RunAsync(BenchSettings settings, CancellationToken cancellationToken)
    {
        string root = Directory.CreateTempSubdirectory("webrepl-bench-mount-").FullName;
        string local = Directory.CreateTempSubdirectory("webrepl-bench-mount-local-").FullName;
        var total = Stopwatch.StartNew();
        var report = new StringBuilder();
        report.AppendLine("| round trip | mount (ms) | first import, 20 modules (ms) | requests per import | `open().read()`, 100 B (ms each) | requests per open |");
        report.AppendLine("|---|---|---|---|---|---|");
        try
        {
            MakePackage(local);
            Log.Progress("[mount] starting the virtual board");
            await using var board = await VirtualBoard.StartAsync(
                new VirtualBoardOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), Password = Password, Root = root }, cancellationToken);
            foreach (int oneWay in OneWayMs)
            {
                LatencyRelay? relay = oneWay == 0 ? null : new LatencyRelay(board.EndPoint, TimeSpan.FromMilliseconds(oneWay));
                try
                {
                    Log.Progress($"[mount] {oneWay * 2} ms round trip");
                    string target = $"127.0.0.1:{(relay?.EndPoint ?? board.EndPoint).Port}";
                    report.AppendLine(await MeasureAsync(target, local, oneWay * 2, settings.Quick ? 1 : 5, cancellationToken));
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

        Console.WriteLine($"## Mount: a local folder served to the virtual board over WebREPL ({total.Elapsed.TotalSeconds:0} s)");
        Console.WriteLine();
        Console.WriteLine("Median of the runs; import and open timed on the board. Load average at the end: " + Program.LoadAverage() + ".");
        Console.WriteLine();
        Console.Write(report);
        return 0;
    }

    private static async Task<string> MeasureAsync(string target, string local, int roundTripMs, int reps, CancellationToken cancellationToken)
    {
        var mounts = new List<double>();
        var imports = new List<double>();
        var opens = new List<double>();
        long importRequests = 0, openRequests = 0;
        await using var client = await WebReplClient.ConnectAndLoginAsync(target, Password, cancellationToken: cancellationToken);
        for (int i = 0; i <= reps; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            var mount = await WebReplMount.MountAsync(client, local, cancellationToken: cancellationToken);
            double mountMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            long before = mount.Requests;
            string[] imported = (await ExecAsync(mount, ImportCode, cancellationToken)).Split(' ');
            long afterImport = mount.Requests;
            string[] opened = (await ExecAsync(mount, OpenCode, cancellationToken)).Split(' ');
            long afterOpen = mount.Requests;
            await mount.UnmountAsync(cancellationToken);
            if (imported[1] != "20" || opened[1] != "100")
            {
                throw new InvalidOperationException($"Unexpected results from the board: {string.Join(' ', imported)} / {string.Join(' ', opened)}");
            }

            if (i == 0)
            {
                continue; // warm-up
            }

            mounts.Add(mountMs);
            imports.Add(double.Parse(imported[0], CultureInfo.InvariantCulture));
            opens.Add(double.Parse(opened[0], CultureInfo.InvariantCulture) / Opens);
            importRequests = afterImport - before;
            openRequests = (afterOpen - afterImport) / Opens;
        }

        return string.Create(CultureInfo.InvariantCulture,
            $"| {roundTripMs} ms | {Median(mounts):0} | {Median(imports):0} | {importRequests} | {Median(opens):0.0} | {openRequests} |");
    }

    private static async Task<string> ExecAsync(WebReplMount mount, string code, CancellationToken cancellationToken)
    {
        var output = new StringBuilder();
        await mount.ExecAsync(code, (bytes, _) =>
        {
            output.Append(Encoding.UTF8.GetString(bytes.Span));
            return ValueTask.CompletedTask;
        }, cancellationToken);
        return output.ToString().Trim();
    }

    /// <summary>bpkg: an __init__ that imports 20 modules of about 1 KB each; and small.txt of 100 bytes.</summary>
    private static void MakePackage(string local)
    {
        string package = Path.Combine(local, "bpkg");
        Directory.CreateDirectory(package);
        var init = new StringBuilder();
        for (int i = 0; i < Modules; i++)
        {
            var module = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"VALUE = 1\n"));
            while (module.Length < 1000)
            {
                module.Append(CultureInfo.InvariantCulture, $"def f{module.Length}(x):\n    return x + {module.Length}  # padding for a realistic size\n");
            }

            File.WriteAllText(Path.Combine(package, $"mod{i:D2}.py"), module.ToString());
            init.Append(CultureInfo.InvariantCulture, $"from . import mod{i:D2}\n");
        }

        init.Append("def total():\n    return " + string.Join(" + ", Enumerable.Range(0, Modules).Select(i => $"mod{i:D2}.VALUE")) + "\n");
        File.WriteAllText(Path.Combine(package, "__init__.py"), init.ToString());
        File.WriteAllText(Path.Combine(local, "small.txt"), new string('s', 99) + "\n");
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[sorted.Count / 2];
    }
}
