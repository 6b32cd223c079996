using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace WebRepl.Cli.Testing;

/// <summary>
/// <c>webrepl</c> as a script, CI or a Makefile runs it: a process of its own with no terminal (its standard input
/// a pipe left open), given signals with kill(2) sent to it alone, not to a process group as a terminal's Ctrl-C is.
/// Shared by the CLI test projects (linked into WebRepl.Cli.Board.Tests).
/// </summary>
internal sealed class CliProcess : IDisposable
{
    public const int SigInt = 2;
    public const int SigTerm = 15;

    private readonly Process _process;
    private readonly StringBuilder _out = new();
    private readonly StringBuilder _error = new();

    private CliProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Append(_out, e.Data);
        _process.ErrorDataReceived += (_, e) => Append(_error, e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Standard output so far, lines ended with \n.</summary>
    public string Out => Read(_out);

    /// <summary>Standard error so far, lines ended with \n.</summary>
    public string Error => Read(_error);

    /// <summary>The standard input pipe (open until disposed).</summary>
    public StreamWriter Input => _process.StandardInput;

    /// <summary>Starts the built command with these arguments; the target and password come from the arguments or <paramref name="environment"/> only.</summary>
    public static CliProcess Start(IEnumerable<string> args, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "WebRepl.Cli.dll"));
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (string name in new[] { WebReplCli.TargetVariable, WebReplCli.PasswordVariable, WebReplCli.CertFingerprintVariable })
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return new CliProcess(Process.Start(start)!);
    }

    /// <summary>Sends <paramref name="signal"/> to this process alone.</summary>
    public void Signal(int signal) => Assert.True(Kill(_process.Id, signal) == 0, $"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");

    /// <summary>Waits for the exit, at most <paramref name="within"/>; fails the test with what the command printed otherwise.</summary>
    public async Task<TimeSpan> WaitForExitAsync(TimeSpan within, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(within);
        try
        {
            await _process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Assert.Fail($"Still running {within} later.\n{this}");
        }

        // The last lines of output arrive after the exit.
        await _process.WaitForExitAsync(cancellationToken);
        return watch.Elapsed;
    }

    /// <summary>Waits until <paramref name="text"/> is on standard output.</summary>
    public async Task WaitForOutputAsync(string text, CancellationToken cancellationToken)
    {
        while (!Out.Contains(text, StringComparison.Ordinal))
        {
            Assert.False(_process.HasExited && !Out.Contains(text, StringComparison.Ordinal), $"Exited before printing '{text}'.\n{this}");
            await Task.Delay(10, cancellationToken);
        }
    }

    /// <summary>Whether this test run ignores <paramref name="signal"/> (a shell started it in the background): the command would inherit that.</summary>
    public static bool IsIgnored(int signal)
    {
        string mask = File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal))[7..].Trim();
        return (ulong.Parse(mask, NumberStyles.HexNumber, CultureInfo.InvariantCulture) & (1UL << (signal - 1))) != 0;
    }

    public override string ToString() => $"exit {(_process.HasExited ? _process.ExitCode.ToString(CultureInfo.InvariantCulture) : "(running)")}\n--- stdout ---\n{Out}\n--- stderr ---\n{Error}";

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    private static void Append(StringBuilder text, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (text)
        {
            text.Append(line).Append('\n');
        }
    }

    private static string Read(StringBuilder text)
    {
        lock (text)
        {
            return text.ToString();
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
