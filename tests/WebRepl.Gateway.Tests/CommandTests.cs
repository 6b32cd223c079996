using System.Diagnostics;
using System.Net.Http;
using System.Runtime.InteropServices;
using System.Text;
using WebRepl.Gateway.Tests.Support;

namespace WebRepl.Gateway.Tests;

/// <summary><c>webrepl gateway</c> as a user runs it: a separate process, its banner, forwarding, and a clean stop on a signal.</summary>
public sealed class CommandTests
{
    [Fact]
    public async Task WebreplGateway_PrintsBanner_Forwards_StopsCleanlyOnSigterm()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Signals are sent with kill(2) on Linux.");
        using var cts = TestTimeout.Start(60);
        await using var board = TestBoard.Start();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in new[] { FindCli(), "gateway", "--port", "0", "--board", $"lab={board.Url}", "--allow-origin", "https://edrys-labs.github.io" })
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

            string text = banner.ToString();
            Assert.Contains("WebREPL gateway ready", text, StringComparison.Ordinal);
            Assert.Contains($"/boards/lab  ->  {board.Url}/", text, StringComparison.Ordinal);
            Assert.Contains("https://edrys-labs.github.io", text, StringComparison.Ordinal);
            string url = text.Split('\n').First(l => l.TrimStart().StartsWith("listening", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1].TrimEnd('/');

            await using (var client = await WebReplClient.ConnectAndLoginAsync($"{url}/boards/lab", TestBoard.Password, cancellationToken: cts.Token))
            {
                Assert.Equal(new Protocol.WebReplVersion(1, 24, 1), await client.GetVersionAsync(cts.Token));
                using var http = new HttpClient();
                Assert.Contains("\"sessions\":1", await http.GetStringAsync(new Uri(url.Replace("ws://", "http://", StringComparison.Ordinal) + "/healthz"), cts.Token), StringComparison.Ordinal);

                Assert.Equal(0, Kill(process.Id, 15));
                await process.WaitForExitAsync(cts.Token);
                Assert.Equal(0, process.ExitCode);
                // The session was closed with a reason before the process ended.
                await client.Completion.WaitAsync(cts.Token);
                Assert.Contains("the gateway is stopping", client.CloseDescription, StringComparison.Ordinal);
            }

            Assert.Contains("Stopping the gateway", stderr.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>The command's build output beside this test's (the project reference builds it).</summary>
    private static string FindCli()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory); // tests/WebRepl.Gateway.Tests/bin/CONFIG/net10.0/
        string configuration = here.Parent!.Name;
        string repo = here.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
        string cli = Path.Combine(repo, "src", "WebRepl.Cli", "bin", configuration, here.Name, "WebRepl.Cli.dll");
        Assert.True(File.Exists(cli), $"{cli} is missing: build src/WebRepl.Cli.");
        return cli;
    }
}
