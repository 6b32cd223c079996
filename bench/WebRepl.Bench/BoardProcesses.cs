using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace WebRepl.Bench;

/// <summary>
/// Memory of one process from <c>/proc/PID/status</c> and <c>/proc/PID/smaps_rollup</c> (Linux), in KiB as the
/// kernel reports it. RSS counts every resident page the process maps, shared ones included (the Node binary's
/// code pages are file-backed and shared by all Node processes); PSS divides shared pages among their users.
/// </summary>
internal readonly record struct ProcMemory(long RssKiB, long HwmKiB, long AnonKiB, long FileKiB, long ShmemKiB, long PssKiB)
{
    public static bool IsAvailable => File.Exists("/proc/self/status");

    /// <summary>The process's memory, or null when it has gone (or this is not Linux).</summary>
    public static ProcMemory? Read(int pid)
    {
        try
        {
            long rss = 0, hwm = 0, anon = 0, file = 0, shmem = 0, pss = -1;
            foreach (string line in File.ReadLines($"/proc/{pid}/status"))
            {
                switch (Field(line, out long kib))
                {
                    case "VmRSS": rss = kib; break;
                    case "VmHWM": hwm = kib; break;
                    case "RssAnon": anon = kib; break;
                    case "RssFile": file = kib; break;
                    case "RssShmem": shmem = kib; break;
                }
            }

            string rollup = $"/proc/{pid}/smaps_rollup";
            if (File.Exists(rollup))
            {
                foreach (string line in File.ReadLines(rollup))
                {
                    if (Field(line, out long kib) == "Pss")
                    {
                        pss = kib;
                    }
                }
            }

            return new ProcMemory(rss, hwm, anon, file, shmem, pss);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>"VmRSS:	   42696 kB" → ("VmRSS", 42696).</summary>
    private static string? Field(string line, out long kib)
    {
        kib = 0;
        int colon = line.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0 || !line.EndsWith(" kB", StringComparison.Ordinal))
        {
            return null;
        }

        return long.TryParse(line.AsSpan(colon + 1, line.Length - colon - 1 - 3).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out kib)
            ? line[..colon]
            : null;
    }

    /// <summary>The ids of <paramref name="parentPid"/>'s children, from each process's <c>/proc/PID/stat</c>.</summary>
    public static List<int> Children(int parentPid)
    {
        var children = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                continue;
            }

            try
            {
                // pid (comm) state ppid ...: comm may hold spaces and parentheses, so parse after the last ')'.
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(rest[1], CultureInfo.InvariantCulture) == parentPid)
                {
                    children.Add(pid);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                // gone meanwhile
            }
        }

        return children;
    }

    /// <summary>A process's command line, arguments separated by spaces (empty when it has gone).</summary>
    public static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }
}

/// <summary>
/// <c>webrepl board</c> as its own process (<c>dotnet WebRepl.Cli.dll board --port 0 ...</c>), as a user runs it:
/// the .NET process with the WebREPL server, and its Node.js child with the interpreter.
/// </summary>
internal sealed class CliBoard : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr;

    /// <summary>
    /// The CLI's assembly: <c>WEBREPL_BENCH_CLI</c>, else the one built beside the bench (a project reference
    /// without the assembly) in the same configuration; null when there is none.
    /// </summary>
    public static string? FindCli()
    {
        string? given = Environment.GetEnvironmentVariable("WEBREPL_BENCH_CLI");
        if (!string.IsNullOrEmpty(given))
        {
            return given;
        }

        string configuration = Program.IsOptimized() ? "Release" : "Debug";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "src", "WebRepl.Cli", "bin", configuration, "net10.0", "WebRepl.Cli.dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private CliBoard(Process process, StringBuilder stderr, int port, double readyMs, int nodePid)
    {
        _process = process;
        _stderr = stderr;
        Port = port;
        ReadyMs = readyMs;
        NodePid = nodePid;
    }

    /// <summary>The .NET process (the board: WebREPL server, files, watchdog).</summary>
    public int Pid => _process.Id;

    /// <summary>The Node.js process that runs MicroPython.</summary>
    public int NodePid { get; }

    public int Port { get; }

    /// <summary>From starting the process until it printed its "ready" banner with the port.</summary>
    public double ReadyMs { get; }

    /// <summary>What the board logged on standard error so far (for error messages).</summary>
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

    /// <summary>Starts the board; returns once it has printed its WebREPL URL.</summary>
    public static async Task<CliBoard> StartAsync(string cliDll, string root, string password, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { cliDll, "board", "--port", "0", "--bind", "127.0.0.1", "--root", root, "-p", password })
        {
            start.ArgumentList.Add(arg);
        }

        long t0 = Stopwatch.GetTimestamp();
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet.");
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            int port = -1;
            while (port < 0)
            {
                string? line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                    ?? throw new InvalidOperationException($"webrepl board ended before it was ready: {stderr}");
                // "  WebREPL   ws://127.0.0.1:PORT/"
                int at = line.IndexOf("ws://127.0.0.1:", StringComparison.Ordinal);
                if (at >= 0)
                {
                    port = int.Parse(line.AsSpan(at + "ws://127.0.0.1:".Length).TrimEnd('/'), CultureInfo.InvariantCulture);
                }
            }

            double readyMs = Fmt.Milliseconds(t0, Stopwatch.GetTimestamp());
            // Drain the rest of standard output in the background (the board prints nothing more until it stops).
            _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
            int nodePid = ProcMemory.Children(process.Id).FirstOrDefault(pid => ProcMemory.CommandLine(pid).Contains("host.mjs", StringComparison.Ordinal));
            return new CliBoard(process, stderr, port, readyMs, nodePid);
        }
        catch
        {
            await StopAsync(process, 0);
            process.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(_process, NodePid);
        _process.Dispose();
    }

    /// <summary>Stops the board as Ctrl-C would (SIGTERM: it closes the Node host and exits), by force if it lingers.</summary>
    private static async Task StopAsync(Process process, int nodePid)
    {
        if (!process.HasExited)
        {
            try
            {
                using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false });
                if (kill is not null)
                {
                    await kill.WaitForExitAsync();
                }

                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await process.WaitForExitAsync(grace.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                Log.Progress($"[board]   webrepl board (pid {process.Id}) did not stop on SIGTERM; killing it.");
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        // The Node host exits when its standard input closes; make sure it has.
        for (int i = 0; i < 30 && nodePid > 0 && Directory.Exists($"/proc/{nodePid}"); i++)
        {
            await Task.Delay(100);
        }

        if (nodePid > 0 && Directory.Exists($"/proc/{nodePid}"))
        {
            Log.Progress($"[board]   warning: the Node.js host (pid {nodePid}) is still running 3 s after webrepl board ended.");
        }
    }
}

/// <summary>
/// The Node.js host alone (<c>node host.mjs --root DIR</c>), without .NET in between: spawn until its READY frame
/// (Node's start, the interpreter thread, the WebAssembly module, MicroPython's start).
/// </summary>
internal static class HostProbe
{
    private const byte Ready = 0x80;

    public static async Task<(double ReadyMs, ProcMemory? Memory)> StartToReadyAsync(string hostScript, string root, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(hostScript)!,
        };
        start.ArgumentList.Add(hostScript);
        start.ArgumentList.Add("--root");
        start.ArgumentList.Add(root);
        long t0 = Stopwatch.GetTimestamp();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node.");
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            var stdout = process.StandardOutput.BaseStream;
            byte[] header = new byte[5];
            while (true)
            {
                await stdout.ReadExactlyAsync(header, timeout.Token);
                byte[] payload = new byte[BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(1))];
                await stdout.ReadExactlyAsync(payload, timeout.Token);
                if (header[0] == Ready)
                {
                    return (Fmt.Milliseconds(t0, Stopwatch.GetTimestamp()), ProcMemory.Read(process.Id));
                }
            }
        }
        finally
        {
            // End of input ends the host.
            process.StandardInput.Close();
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>The wall time of a short command (<c>node -e 0</c>, <c>node --version</c>): start to exit.</summary>
    public static async Task<double> RunAsync(string file, string[] args, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        long t0 = Stopwatch.GetTimestamp();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        await Task.WhenAll(output, error);
        return Fmt.Milliseconds(t0, Stopwatch.GetTimestamp());
    }
}
