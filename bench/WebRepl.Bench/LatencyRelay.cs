using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace WebRepl.Bench;

/// <summary>
/// A TCP relay on 127.0.0.1 that delivers every byte a fixed time after it arrived, each direction on its own:
/// a board at a distance (one-way delay d: round trip 2d) without touching the machine's network settings.
/// Bandwidth is not limited and order is kept. The relay acknowledges at once (TCP_QUICKACK) and sends without
/// Nagle, so that it adds the delay and nothing else; the board's own write pattern reaches the client as sent.
/// </summary>
internal sealed class LatencyRelay : IAsyncDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly IPEndPoint _target;
    private readonly TimeSpan _oneWay;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accept;

    public LatencyRelay(IPEndPoint target, TimeSpan oneWay)
    {
        if (!IPAddress.IsLoopback(target.Address))
        {
            throw new ArgumentException("The relay forwards to loopback only.", nameof(target));
        }

        _target = target;
        _oneWay = oneWay;
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(16);
        _accept = Task.Run(AcceptLoopAsync);
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accept.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Task[] running;
        lock (_connections)
        {
            running = [.. _connections];
        }

        await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var task = RelayAsync(client);
            lock (_connections)
            {
                _connections.RemoveAll(t => t.IsCompleted);
                _connections.Add(task);
            }
        }
    }

    private async Task RelayAsync(Socket client)
    {
        using (client)
        using (var board = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            client.NoDelay = true;
            board.NoDelay = true;
            try
            {
                await board.ConnectAsync(_target, _stop.Token);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                return;
            }

            using var both = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            var up = PumpAsync(client, board, both.Token);
            var down = PumpAsync(board, client, both.Token);
            await Task.WhenAny(up, down);
            // One side closed: let the other direction deliver what it holds, then end both.
            await Task.WhenAll(up, down).WaitAsync(TimeSpan.FromSeconds(2) + (_oneWay * 2)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await both.CancelAsync();
        }
    }

    /// <summary>One direction: a reader stamps what it reads, a writer sends it when its time has come.</summary>
    private async Task PumpAsync(Socket from, Socket to, CancellationToken cancellationToken)
    {
        var queue = Channel.CreateUnbounded<(byte[] Data, long Due)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        long delayTicks = (long)(_oneWay.TotalSeconds * Stopwatch.Frequency);
        var writer = Task.Run(async () =>
        {
            try
            {
                await foreach (var (data, due) in queue.Reader.ReadAllAsync(cancellationToken))
                {
                    var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, cancellationToken);
                    }

                    await to.SendAsync(data, SocketFlags.None, cancellationToken);
                }

                to.Shutdown(SocketShutdown.Send);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }, cancellationToken);

        byte[] buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                if (OperatingSystem.IsLinux())
                {
                    from.SetRawSocketOption(6, 12, BitConverter.GetBytes(1)); // IPPROTO_TCP, TCP_QUICKACK: ack at once
                }

                int n = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                if (n == 0)
                {
                    break;
                }

                queue.Writer.TryWrite((buffer.AsSpan(0, n).ToArray(), Stopwatch.GetTimestamp() + delayTicks));
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            queue.Writer.TryComplete();
        }

        await writer;
    }
}
