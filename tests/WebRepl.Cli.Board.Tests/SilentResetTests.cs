using System.Diagnostics;
using System.Net;
using System.Text;
using WebRepl.Device;
using WebRepl.Protocol;

namespace WebRepl.Cli.Board.Tests;

/// <summary>
/// <c>webrepl reset --hard</c> against a board that resets as real hardware does: it answers <c>OK</c> to
/// <c>machine.reset()</c>, then says nothing more and does not close the connection (it restarts without closing
/// its sockets); it accepts connections again once it is back. (The virtual board closes the connection instead.)
/// </summary>
public sealed class SilentResetTests : IAsyncLifetime
{
    private const string Password = "silent";

    private readonly CancellationTokenSource _timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
    private readonly string _root = Directory.CreateTempSubdirectory("webrepl-silent-").FullName;
    private SilentResetConsole _console = null!;
    private WebReplServer _server = null!;

    private CancellationToken Token => _timeout.Token;

    public ValueTask InitializeAsync()
    {
        _timeout.CancelAfter(TimeSpan.FromSeconds(60));
        // Back later than the command's reply timeout (3 s below): the command must not wait for a reply that never comes.
        _console = new SilentResetConsole(TimeSpan.FromSeconds(4));
        _server = new WebReplServer(new WebReplServerOptions { Password = Password, EndPoint = new IPEndPoint(IPAddress.Loopback, 0) }, _console, new DirectoryFileStore(_root));
        _console.Server = _server;
        _server.Start();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_root, recursive: true);
        _timeout.Dispose();
    }

    [Fact]
    public async Task ResetHard_BoardGoesSilent_CountsAsRestarting()
    {
        var watch = Stopwatch.StartNew();

        var run = await RunAsync("reset", "--hard");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Hard reset sent; the board is restarting.", run.Out, StringComparison.Ordinal);
        Assert.Equal(1, _console.Resets);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2.5), $"took {watch.Elapsed}: it waited for the reply timeout");
    }

    [Fact]
    public async Task ResetHardWait_BoardGoesSilentThenComesBack_LogsInAgain()
    {
        var run = await RunAsync("reset", "--hard", "--wait");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Hard reset done; the board is back and accepts logins.", run.Out, StringComparison.Ordinal);
        Assert.Equal(1, _console.Resets);
        Assert.Equal(2, _console.Logins);
    }

    [Fact]
    public async Task ResetHard_BoardWithoutMachineModule_ReportsTheTraceback()
    {
        _console.Fail = true;

        var run = await RunAsync("reset", "--hard");

        Assert.True(run.ExitCode == 7, run.ToString());
        Assert.Contains("ImportError: no module named 'machine'", run.Error, StringComparison.Ordinal);
    }

    private Task<CliRun> RunAsync(params string[] args) =>
        Cli.RunAsync(
            [.. args, "--timeout", "3"],
            new Dictionary<string, string> { [WebReplCli.TargetVariable] = $"127.0.0.1:{_server.LocalEndPoint.Port}", [WebReplCli.PasswordVariable] = Password },
            null,
            Token);

    /// <summary>
    /// Just enough of a board for a hard reset: Ctrl-A prints the raw REPL banner; code ending in Ctrl-D gets
    /// <c>OK</c>; for <c>machine.reset()</c> nothing follows until the board "is back" (then the old connection is
    /// dropped, as the client's next packet would find it gone).
    /// </summary>
    private sealed class SilentResetConsole(TimeSpan restart) : IWebReplConsole
    {
        private readonly Lock _gate = new();
        private readonly StringBuilder _code = new();
        private Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask>? _output;
        private bool _silent;
        private int _resets;
        private int _logins;

        public WebReplServer? Server { get; set; }

        public bool Fail { get; set; }

        public int Resets => Volatile.Read(ref _resets);

        public int Logins => Volatile.Read(ref _logins);

        public WebReplVersion Version { get; } = new(1, 24, 1);

        public async ValueTask WriteInputAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken)
        {
            foreach (byte b in input.ToArray())
            {
                string? reply = null;
                lock (_gate)
                {
                    if (_silent)
                    {
                        continue;
                    }

                    switch (b)
                    {
                        case 0x01:
                            _code.Clear();
                            reply = "raw REPL; CTRL-B to exit\r\n>";
                            break;
                        case 0x02:
                            reply = "\r\nMicroPython v1.24.1 on a silent board\r\n>>> ";
                            break;
                        case 0x03:
                            _code.Clear();
                            break;
                        case 0x04:
                            bool reset = _code.ToString().Contains("machine.reset()", StringComparison.Ordinal);
                            _code.Clear();
                            if (reset && Fail)
                            {
                                reply = "OK\u0004Traceback (most recent call last):\r\n  File \"<stdin>\", line 1, in <module>\r\nImportError: no module named 'machine'\r\n\u0004>";
                            }
                            else if (reset)
                            {
                                reply = "OK";
                                _silent = true;
                                _resets++;
                                _ = ComeBackAsync();
                            }
                            else
                            {
                                reply = "OK\u0004\u0004>";
                            }

                            break;
                        default:
                            _code.Append((char)b);
                            break;
                    }
                }

                if (reply is not null)
                {
                    await PrintAsync(reply, cancellationToken);
                }
            }
        }

        public IDisposable AttachOutput(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> output)
        {
            lock (_gate)
            {
                _output = output;
                _logins++;
            }

            return new Detach(this, output);
        }

        public void PrintNotice(string text)
        {
        }

        private async Task ComeBackAsync()
        {
            await Task.Delay(restart);
            lock (_gate)
            {
                _silent = false;
            }

            Server?.DisconnectSession();
        }

        private ValueTask PrintAsync(string text, CancellationToken cancellationToken)
        {
            Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask>? output;
            lock (_gate)
            {
                output = _output;
            }

            return output is null ? ValueTask.CompletedTask : output(Encoding.UTF8.GetBytes(text), cancellationToken);
        }

        private sealed class Detach(SilentResetConsole console, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> output) : IDisposable
        {
            public void Dispose()
            {
                lock (console._gate)
                {
                    if (console._output == output)
                    {
                        console._output = null;
                    }
                }
            }
        }
    }
}
