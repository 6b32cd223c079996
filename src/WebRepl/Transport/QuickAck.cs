using System.Net.Sockets;

namespace WebRepl.Transport;

/// <summary>
/// Immediate ACKs on Linux. A board writes a frame's header and payload as two writes with Nagle on, so
/// its payload waits until the header is acknowledged; a peer that delays its ACKs (40 ms on Linux) then
/// waits that long for every frame. Setting TCP_QUICKACK acknowledges what has arrived at once, and the
/// kernel falls back to delayed ACKs by itself, so it is set again before every read.
/// </summary>
internal static class QuickAck
{
    private const int IpProtoTcp = 6;
    private const int TcpQuickAck = 12;
    private static readonly byte[] One = BitConverter.GetBytes(1);
    private static bool s_unsupported = !OperatingSystem.IsLinux();

    /// <summary>True where the option exists (Linux).</summary>
    public static bool IsSupported => !s_unsupported;

    public static void Arm(Socket socket)
    {
        if (s_unsupported)
        {
            return;
        }

        try
        {
            socket.SetRawSocketOption(IpProtoTcp, TcpQuickAck, One);
        }
        catch (SocketException)
        {
            // Not a TCP socket, or a kernel without the option: fall back to the platform's behaviour.
            s_unsupported = true;
        }
        catch (ObjectDisposedException)
        {
        }
    }
}

/// <summary>A network stream that arms <see cref="QuickAck"/> before each read.</summary>
internal sealed class QuickAckStream(Socket socket, bool enabled) : NetworkStream(socket, ownsSocket: true)
{
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (enabled)
        {
            QuickAck.Arm(Socket);
        }

        return base.ReadAsync(buffer, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(Span<byte> buffer)
    {
        if (enabled)
        {
            QuickAck.Arm(Socket);
        }

        return base.Read(buffer);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
}
