using System.Diagnostics;
using System.Runtime.InteropServices;

namespace WebRepl.Bench;

/// <summary>
/// <c>dotnet run -c Release --project bench/WebRepl.Bench -- [SUITE] [--quick]</c>. Each suite prints a markdown
/// report to standard output; progress goes to standard error. Suites are registered in <see cref="Suites"/>:
/// a later suite (gateway, board, exec) adds one line there.
/// </summary>
internal static class Program
{
    /// <summary>The suites by command name; the first one is the default.</summary>
    private static readonly (string Name, string Description, Func<BenchSettings, CancellationToken, Task<int>> Run)[] Suites =
    [
        ("core", "client echo latency and file transfer against WebReplServer on loopback", CoreSuite.RunAsync),
        ("board", "virtual board: start to ready, memory (.NET + Node.js), REPL exec round trip", BoardSuite.RunAsync),
        ("gateway", "direct vs through webrepl gateway: echo, PUT/GET, memory of 1,000 idle sessions", GatewaySuite.RunAsync),
        ("exec", "virtual board: connect + login + exec round trip, exec on an open connection, sync of 200 files (all new, no change)", ExecSuite.RunAsync),
        ("distance", "whole commands at 0, 10 and 50 ms round trip through a delaying relay: GET/PUT 1 MiB, exec, ls, sync", DistanceSuite.RunAsync),
        ("mount", "webrepl mount at 0 and 10 ms round trip: mounting, first import of a 20-module package, one open().read()", MountSuite.RunAsync),
        ("mip", "virtual board: mip install of a package with a dependency (first, and again) at 0 and 10 ms round trip", MipSuite.RunAsync),
    ];

    private static async Task<int> Main(string[] args)
    {
        if (GatewaySuite.IsHost)
        {
            // The gateway process of the gateway suite, tuned as `webrepl gateway` tunes its process (before anything
            // uses the thread pool or a socket).
            WebRepl.Gateway.WebReplGateway.TuneProcessForRelay();
        }

        bool quick = false;
        string? suiteName = null;
        foreach (string arg in args)
        {
            switch (arg)
            {
                case "--quick":
                    quick = true;
                    break;
                case "-h" or "--help":
                    PrintUsage(Console.Out);
                    return 0;
                default:
                    if (arg.StartsWith('-') || suiteName is not null)
                    {
                        Log.Progress($"Unknown argument '{arg}'.");
                        PrintUsage(Console.Error);
                        return 2;
                    }

                    suiteName = arg;
                    break;
            }
        }

        suiteName ??= Suites[0].Name;
        var suite = Array.Find(Suites, s => s.Name == suiteName);
        if (suite.Run is null)
        {
            Log.Progress($"Unknown suite '{suiteName}'.");
            PrintUsage(Console.Error);
            return 2;
        }

#if DEBUG
        Log.Progress("warning: a Debug build; figures are only meaningful with -c Release.");
#endif
        // A hard bound on the whole run, whatever happens inside.
        using var cts = new CancellationTokenSource(quick ? TimeSpan.FromMinutes(2) : TimeSpan.FromMinutes(10));
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };

        var settings = new BenchSettings(quick);
        Console.WriteLine($"# WebRepl.Bench: {suite.Name}{(quick ? " (--quick)" : string.Empty)}");
        Console.WriteLine();
        Console.WriteLine(MachineDescription());
        Console.WriteLine();
        try
        {
            return await suite.Run(settings, cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Log.Progress("The run was stopped (time bound or Ctrl-C).");
            return 1;
        }
    }

    private static void PrintUsage(TextWriter writer)
    {
        writer.WriteLine("usage: dotnet run -c Release --project bench/WebRepl.Bench -- [SUITE] [--quick]");
        writer.WriteLine();
        writer.WriteLine("suites:");
        foreach (var (name, description, _) in Suites)
        {
            writer.WriteLine($"  {name,-10} {description}");
        }

        writer.WriteLine();
        writer.WriteLine("  --quick    few samples: a smoke run of a few seconds, figures not to be quoted");
    }

    private static string MachineDescription()
    {
        string kernel = OperatingSystem.IsLinux() && File.Exists("/proc/sys/kernel/osrelease")
            ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim()
            : Environment.OSVersion.VersionString;
        string cpu = "unknown CPU";
        if (File.Exists("/proc/cpuinfo"))
        {
            string? model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (model is not null)
            {
                cpu = model[(model.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
            }
        }

        string build = IsOptimized() ? "Release" : "Debug";
        return $"Machine: {Environment.ProcessorCount} logical CPUs ({cpu}), {RuntimeInformation.OSDescription.Trim()} (kernel {kernel}), " +
            $"{RuntimeInformation.FrameworkDescription} {RuntimeInformation.ProcessArchitecture}, {build} build, " +
            $"{(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC. Load average at start: {LoadAverage()}.";
    }

    /// <summary>The 1-minute load average (other work on the machine shows in the tails), or "unknown".</summary>
    internal static string LoadAverage()
    {
        try
        {
            return File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    internal static bool IsOptimized()
    {
        var attribute = (DebuggableAttribute?)Attribute.GetCustomAttribute(typeof(Program).Assembly, typeof(DebuggableAttribute));
        return attribute is null || !attribute.IsJITOptimizerDisabled;
    }
}

/// <summary>What the command line chose.</summary>
/// <param name="Quick">A smoke run: few samples.</param>
internal sealed record BenchSettings(bool Quick);

/// <summary>Progress and diagnostics, on standard error so that standard output stays the report.</summary>
internal static class Log
{
    public static void Progress(string line) => Console.Error.WriteLine(line);
}
