using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace WebRepl.Gateway.Tests.Support;

/// <summary><c>webrepl gateway ARGS</c> as a separate process, as a user runs it: started, its banner read, killed at the end if still running.</summary>
internal sealed class GatewayProcess : IAsyncDisposable
{
    private readonly StringBuilder _stderr = new();

    private GatewayProcess(Process process) => Process = process;

    public Process Process { get; }

    /// <summary>The banner, up to its last line ("Ctrl-C stops the gateway.").</summary>
    public string Banner { get; private set; } = string.Empty;

    /// <summary>The first listening address, e.g. ws://127.0.0.1:12345 (no trailing slash).</summary>
    public string Url { get; private set; } = string.Empty;

    /// <summary>What the process wrote to stderr so far (its log lines).</summary>
    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Starts the gateway and reads its banner.</summary>
    public static async Task<GatewayProcess> StartAsync(IEnumerable<string> args, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = StartInfo(args);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var gateway = new GatewayProcess(Process.Start(start)!);
        gateway.Process.ErrorDataReceived += (_, e) =>
        {
            lock (gateway._stderr)
            {
                gateway._stderr.AppendLine(e.Data);
            }
        };
        gateway.Process.BeginErrorReadLine();
        try
        {
            var banner = new StringBuilder();
            string? line;
            while ((line = await gateway.Process.StandardOutput.ReadLineAsync(cancellationToken)) is not null)
            {
                banner.AppendLine(line);
                if (line.StartsWith("Ctrl-C", StringComparison.Ordinal))
                {
                    break;
                }
            }

            gateway.Banner = banner.ToString();
            Assert.True(line is not null, $"The gateway ended before its banner:\n{gateway.Banner}\n{gateway.Stderr}");
            gateway.Url = gateway.Banner.Split('\n').First(l => l.TrimStart().StartsWith("listening", StringComparison.Ordinal))
                .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1].TrimEnd('/');
            return gateway;
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs the command to its end (one that fails before listening, for instance).</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunToEndAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        using var process = Process.Start(StartInfo(args))!;
        try
        {
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            return (process.ExitCode, await output, await error);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    /// <summary>Sends a signal with kill(2) (Linux).</summary>
    public int Signal(int signal) => Kill(Process.Id, signal);

    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited)
        {
            Process.Kill();
            await Process.WaitForExitAsync();
        }

        Process.Dispose();
    }

    private static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(FindCli());
        start.ArgumentList.Add("gateway");
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    /// <summary>The command's build output beside this test's (the project reference builds it).</summary>
    internal static string FindCli()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory); // tests/WebRepl.Gateway.Tests/bin/CONFIG/net10.0/
        string configuration = here.Parent!.Name;
        string repo = here.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
        string cli = Path.Combine(repo, "src", "WebRepl.Cli", "bin", configuration, here.Name, "WebRepl.Cli.dll");
        Assert.True(File.Exists(cli), $"{cli} is missing: build src/WebRepl.Cli.");
        return cli;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
