using System.Net;
using System.Net.Sockets;

namespace WebRepl.Tests.Support;

/// <summary>
/// A tiny fake board on 127.0.0.1:0 that runs a script per connection with a <see cref="RawPeer"/>: for the
/// behaviours a well-made server never shows (silence, drops in the middle of a frame, odd handshakes).
/// </summary>
internal sealed class ScriptedBoard : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private readonly List<Task> _scripts = [];

    public ScriptedBoard(Func<RawPeer, CancellationToken, Task> script)
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(8);
        _acceptLoop = AcceptLoopAsync(script);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    public string Target => $"127.0.0.1:{Port}";

    /// <summary>The first failure of a script, when one failed (asserted by the tests that care).</summary>
    public Exception? ScriptError { get; private set; }

    /// <summary>Completes when every script started so far has ended.</summary>
    public Task ScriptsCompleted
    {
        get
        {
            lock (_scripts)
            {
                return Task.WhenAll([.. _scripts]);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _acceptLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await ScriptsCompleted.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync(Func<RawPeer, CancellationToken, Task> script)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            lock (_scripts)
            {
                _scripts.Add(RunAsync(socket, script));
            }
        }
    }

    private async Task RunAsync(Socket socket, Func<RawPeer, CancellationToken, Task> script)
    {
        await using var peer = new RawPeer(socket, isClient: false);
        try
        {
            await script(peer, _stop.Token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ScriptError ??= ex;
        }
        catch (OperationCanceledException)
        {
        }
    }
}
