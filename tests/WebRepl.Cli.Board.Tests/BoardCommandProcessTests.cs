using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace WebRepl.Cli.Board.Tests;

/// <summary>
/// <c>webrepl board</c> as a script or CI runs it: a separate process with no terminal, stopped by a signal sent
/// to it alone (not to a process group, as a terminal's Ctrl-C is), which must stop the board cleanly.
/// </summary>
public sealed class BoardCommandProcessTests
{
    private const string Password = "pyth0n";

    [Theory]
    [InlineData(2)] // SIGINT
    [InlineData(15)] // SIGTERM
    public async Task Signal_WithoutATerminal_StopsCleanly_NodeChildEnded_PortReleased(int signal)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Signals are sent with kill(2) and children found in /proc on Linux.");
        // A process started in the background by a shell ignores SIGINT, and its children inherit that (so would the command's).
        Assert.SkipWhen(signal == 2 && IsIgnored(Environment.ProcessId, signal), "SIGINT is ignored by this test run (started in the background by a shell).");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        string root = Directory.CreateTempSubdirectory("webrepl-board-process-").FullName;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { Path.Combine(AppContext.BaseDirectory, "WebRepl.Cli.dll"), "board", "--port", "0", "--root", root, "-p", Password })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        try
        {
            var banner = new StringBuilder();
            string? line;
            while ((line = await process.StandardOutput.ReadLineAsync(cts.Token)) is not null && !line.StartsWith("Ctrl-C", StringComparison.Ordinal))
            {
                banner.AppendLine(line);
            }

            Assert.True(line is not null, $"No banner:\n{banner}\n{stderr}");
            string url = banner.ToString().Split('\n').First(l => l.TrimStart().StartsWith("WebREPL", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            int port = new Uri(url).Port;
            int[] node = Children(process.Id);
            Assert.NotEmpty(node);

            // A client is logged in when the signal comes: the board is in use, not idle.
            await using var client = await WebReplClient.ConnectAndLoginAsync($"127.0.0.1:{port}", Password, cancellationToken: cts.Token);
            Assert.Equal(0, Kill(process.Id, signal));
            var stopwatch = Stopwatch.StartNew();
            using (var exit = CancellationTokenSource.CreateLinkedTokenSource(cts.Token))
            {
                exit.CancelAfter(TimeSpan.FromSeconds(10));
                await process.WaitForExitAsync(exit.Token);
            }

            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"Stopped after {stopwatch.Elapsed}.");
            Assert.Equal(0, process.ExitCode);
            lock (stderr)
            {
                Assert.Contains("Stopping the board.", stderr.ToString(), StringComparison.Ordinal);
            }

            Assert.All(node, pid => Assert.False(IsRunning(pid), $"The Node.js child {pid} is still running."));
            await client.Completion.WaitAsync(cts.Token);
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            var refused = await Assert.ThrowsAsync<SocketException>(async () => await probe.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token));
            Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task PortInUse_OneLine_ExitCode8_NoNodeLeft()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        string root = Directory.CreateTempSubdirectory("webrepl-board-process-").FullName;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in new[] { Path.Combine(AppContext.BaseDirectory, "WebRepl.Cli.dll"), "board", "--port", port.ToString(CultureInfo.InvariantCulture), "--root", root, "-p", Password })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
            string stderr = await process.StandardError.ReadToEndAsync(cts.Token);
            await process.WaitForExitAsync(cts.Token);

            // docs/cli.md: 8, the port to listen on is in use; one line that says what to do, nothing else.
            Assert.Equal(8, process.ExitCode);
            Assert.Equal(
                $"webrepl: Port {port} on 127.0.0.1 is in use (another board?). Choose another with --port, or 0 for any free port.",
                Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
            Assert.Empty(await stdout);
            Assert.Empty(ProcessesNaming(root)); // the Node.js host, started with --root ROOT, was ended
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            Directory.Delete(root, recursive: true);
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>The processes whose parent is <paramref name="parent"/> (from /proc).</summary>
    private static int[] Children(int parent) =>
        [.. Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : 0)
            .Where(pid => pid > 0 && Stat(pid) is { } stat && stat.Parent == parent)];

    /// <summary>Running processes whose command line holds <paramref name="text"/> (from /proc).</summary>
    private static int[] ProcessesNaming(string text) =>
        [.. Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) ? pid : 0)
            .Where(pid => pid > 0 && IsRunning(pid) && CommandLine(pid).Contains(text, StringComparison.Ordinal))];

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    /// <summary>Alive and not a zombie.</summary>
    private static bool IsRunning(int pid) => Stat(pid) is { } stat && stat.State != 'Z' && stat.State != 'X';

    private static (char State, int Parent)? Stat(int pid)
    {
        try
        {
            // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
            string text = File.ReadAllText($"/proc/{pid}/stat");
            string[] fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            return (fields[0][0], int.Parse(fields[1], CultureInfo.InvariantCulture));
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static bool IsIgnored(int pid, int signal)
    {
        string mask = File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal))[7..].Trim();
        return (ulong.Parse(mask, NumberStyles.HexNumber, CultureInfo.InvariantCulture) & (1UL << (signal - 1))) != 0;
    }
}
