using System.Buffers;

namespace WebRepl.Gateway.Hosting;

/// <summary>
/// The relay transport's buffers: arrays from the shared array pool, counted, so that what the gateway's
/// connections hold can be seen (and tested) as bytes rather than guessed from the process's size.
/// </summary>
internal sealed class RelayMemoryPool : MemoryPool<byte>
{
    private long _held;
    private long _received;

    /// <summary>Bytes in buffers rented and not yet returned, over every connection.</summary>
    public long HeldBytes => Interlocked.Read(ref _held);

    /// <summary>Bytes received from clients, over every connection.</summary>
    public long ReceivedBytes => Interlocked.Read(ref _received);

    public override int MaxBufferSize => 1024 * 1024;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        var array = ArrayPool<byte>.Shared.Rent(minBufferSize <= 0 ? 4096 : minBufferSize);
        Interlocked.Add(ref _held, array.Length);
        return new Owner(this, array);
    }

    public void CountReceived(int bytes) => Interlocked.Add(ref _received, bytes);

    protected override void Dispose(bool disposing)
    {
    }

    private sealed class Owner(RelayMemoryPool pool, byte[] array) : IMemoryOwner<byte>
    {
        private byte[]? _array = array;

        public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(Owner));

        public void Dispose()
        {
            var array = Interlocked.Exchange(ref _array, null);
            if (array is not null)
            {
                Interlocked.Add(ref pool._held, -array.Length);
                ArrayPool<byte>.Shared.Return(array);
            }
        }
    }
}
