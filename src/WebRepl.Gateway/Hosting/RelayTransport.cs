using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace WebRepl.Gateway.Hosting;

/// <summary>
/// Kestrel's transport for the gateway's TCP listeners: Kestrel's own socket transport reads at most 4 KiB per
/// system call (its memory pool's block, not configurable), which for a relay means a read, a wake-up and an ACK
/// per 4 KiB of a file being sent. This one reads what the socket holds, up to <see cref="ReadSize"/>, and holds
/// no buffer while a connection is idle (it waits for data with a zero-byte read first).
/// </summary>
internal sealed class RelayTransportFactory(bool inline) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    /// <summary>The most one read takes from a socket.</summary>
    public const int ReadSize = 64 * 1024;

    /// <summary>The buffers of every connection of this factory's listeners, counted.</summary>
    public RelayMemoryPool Pool { get; } = new();

    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        if (endpoint is not IPEndPoint ip)
        {
            throw new NotSupportedException($"The gateway listens on IP addresses only, not on {endpoint}.");
        }

        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (ip.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.Bind(ip);
            socket.Listen(512);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            throw new AddressInUseException(e.Message, e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return ValueTask.FromResult<IConnectionListener>(new Listener(socket, inline, Pool));
    }

    private sealed class Listener(Socket socket, bool inline, RelayMemoryPool pool) : IConnectionListener
    {
        public EndPoint EndPoint { get; } = socket.LocalEndPoint!;

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            while (true)
            {
                Socket accepted;
                try
                {
                    accepted = await socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (ObjectDisposedException)
                {
                    return null; // unbound
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted)
                {
                    return null;
                }
                catch (SocketException)
                {
                    continue; // a connection reset before it was accepted: take the next
                }

                accepted.NoDelay = true;
                var connection = new RelayConnection(accepted, inline, pool);
                connection.Start();
                return connection;
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            socket.Dispose();
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            socket.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>One accepted TCP connection: a receive loop into Kestrel's input pipe and a send loop from its output pipe.</summary>
internal sealed class RelayConnection : ConnectionContext, IConnectionIdFeature, IConnectionItemsFeature, IConnectionTransportFeature,
    IConnectionLifetimeFeature, IConnectionEndPointFeature, IConnectionSocketFeature, IMemoryPoolFeature
{
    private static long s_lastId;

    private readonly Socket _socket;
    private readonly RelayMemoryPool _pool;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly CancellationTokenSource _closed = new();
    private readonly FeatureCollection _features = new();
    private Task _receiving = Task.CompletedTask;
    private Task _sending = Task.CompletedTask;
    private ConnectionAbortedException? _aborted;
    private int _disposed;

    public RelayConnection(Socket socket, bool inline, RelayMemoryPool pool)
    {
        _socket = socket;
        _pool = pool;
        var scheduler = inline ? PipeScheduler.Inline : PipeScheduler.ThreadPool;
        // Kestrel's own limits: 1 MiB in either pipe before the writer waits.
        _input = new Pipe(new PipeOptions(pool, readerScheduler: scheduler, writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false));
        _output = new Pipe(new PipeOptions(pool, readerScheduler: PipeScheduler.Inline, writerScheduler: scheduler,
            pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024, useSynchronizationContext: false));
        ConnectionId = "relay-" + Interlocked.Increment(ref s_lastId).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        Transport = new DuplexPipe(_input.Reader, _output.Writer);
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
        ConnectionClosed = _closed.Token;
        _features.Set<IConnectionIdFeature>(this);
        _features.Set<IConnectionItemsFeature>(this);
        _features.Set<IConnectionTransportFeature>(this);
        _features.Set<IConnectionLifetimeFeature>(this);
        _features.Set<IConnectionEndPointFeature>(this);
        _features.Set<IConnectionSocketFeature>(this);
        _features.Set<IMemoryPoolFeature>(this);
    }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features => _features;

    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();

    public override IDuplexPipe Transport { get; set; }

    public override CancellationToken ConnectionClosed { get; set; }

    public override EndPoint? LocalEndPoint { get; set; }

    public override EndPoint? RemoteEndPoint { get; set; }

    public Socket Socket => _socket;

    public MemoryPool<byte> MemoryPool => _pool;

    public void Start()
    {
        _receiving = ReceiveAsync();
        _sending = SendAsync();
    }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        Interlocked.CompareExchange(ref _aborted, abortReason, null);
        Close();
        _output.Reader.CancelPendingRead();
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            await base.DisposeAsync().ConfigureAwait(false);
            return;
        }

        // As Kestrel's own transport: what Kestrel wrote still goes out; the send loop then closes the socket,
        // which ends the receive loop.
        await _input.Reader.CompleteAsync().ConfigureAwait(false);
        await _output.Writer.CompleteAsync().ConfigureAwait(false);
        await Task.WhenAll(_receiving, _sending).ConfigureAwait(false);
        _closed.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private async Task ReceiveAsync()
    {
        await Task.Yield(); // not on Kestrel's accept loop
        var writer = _input.Writer;
        Exception? error = null;
        try
        {
            bool more = false;
            while (true)
            {
                if (!more)
                {
                    // Wait for data without a buffer: an idle connection holds none.
                    await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None).ConfigureAwait(false);
                }

                // Ask the pipe for what the socket holds, not for a full read: a pipe gives a new segment whenever the
                // current one has less room than asked, and Kestrel keeps every segment of a request whose headers are
                // incomplete. Asking for 64 KiB per read made a client that sends its headers a byte at a time cost
                // 64 KiB per byte; asking for what is there fills the current segment first (4 KiB ones for small
                // reads), so memory follows what is held.
                int available = _socket.Available;
                if (available == 0 && more)
                {
                    more = false; // the last read emptied the socket after all: wait without a buffer
                    continue;
                }

                var memory = writer.GetMemory(Math.Clamp(available, 1, RelayTransportFactory.ReadSize));
                int read = await _socket.ReceiveAsync(memory, SocketFlags.None).ConfigureAwait(false);
                if (read == 0)
                {
                    break; // the peer finished sending
                }

                more = read == memory.Length; // a full read: more is likely waiting, read again at once

                writer.Advance(read);
                _pool.CountReceived(read);
                var flushed = await writer.FlushAsync().ConfigureAwait(false);
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (SocketException e) when (_aborted is null && e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            error = new ConnectionResetException(e.Message, e);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Closed here: aborted (the reason goes to Kestrel below) or after the last send (a normal end).
        }
        finally
        {
            // Aborted: Kestrel gets the reason however the loop ended (the abort's shutdown may also have ended a
            // pending receive with 0 bytes, which is no end of the peer's data), as with Kestrel's own transport.
            await writer.CompleteAsync(Volatile.Read(ref _aborted) ?? error).ConfigureAwait(false);
            // Kestrel's callbacks on ConnectionClosed must not run on this loop.
            ThreadPool.UnsafeQueueUserWorkItem(static s => ((RelayConnection)s!).FireClosed(), this, preferLocal: false);
        }
    }

    private async Task SendAsync()
    {
        await Task.Yield();
        var reader = _output.Reader;
        Exception? error = null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    break; // aborted
                }

                var buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    await SendAllAsync(segment).ConfigureAwait(false);
                }

                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            error = _aborted ?? (Exception)new ConnectionAbortedException(e.Message, e);
        }
        finally
        {
            await reader.CompleteAsync(error).ConfigureAwait(false);
            Close();
            // A receive loop paused because Kestrel does not read its input (1 MiB waiting) ends now as well.
            _input.Writer.CancelPendingFlush();
        }
    }

    private async ValueTask SendAllAsync(ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            int sent = await _socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    /// <summary>Ends the TCP connection: what was sent goes out, then FIN; the receive loop stops.</summary>
    private void Close()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // already closed
        }

        _socket.Dispose();
    }

    private void FireClosed()
    {
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // disposed meanwhile
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
