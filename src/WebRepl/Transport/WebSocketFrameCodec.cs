using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace WebRepl.Transport;

/// <summary>A decoded frame header (RFC 6455 5.2).</summary>
/// <param name="Fin">The FIN bit: the last frame of its message.</param>
/// <param name="Opcode">The opcode (0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong).</param>
/// <param name="Masked">True when a masking key follows the length.</param>
/// <param name="MaskKey">The masking key as it is on the wire, read little-endian (see <see cref="WebSocketFrameCodec.ApplyMask"/>).</param>
/// <param name="PayloadLength">The payload length; negative when a 64-bit length has its top bit set.</param>
/// <param name="HeaderLength">The header's length in bytes: 2 to 14.</param>
internal readonly record struct FrameHeader(bool Fin, byte Opcode, bool Masked, uint MaskKey, long PayloadLength, int HeaderLength)
{
    /// <summary>True for close, ping and pong.</summary>
    public bool IsControl => Opcode >= WebSocketFrameCodec.Close;
}

/// <summary>
/// RFC 6455 framing as bytes, with no I/O: frame headers (7-, 16- and 64-bit lengths, the mask bit and key),
/// masking, and the close frame's body. The connection reads and writes through it.
/// </summary>
internal static class WebSocketFrameCodec
{
    public const byte Continuation = 0x0;
    public const byte Text = 0x1;
    public const byte Binary = 0x2;
    public const byte Close = 0x8;
    public const byte Ping = 0x9;
    public const byte Pong = 0xA;

    /// <summary>The longest header: 2 bytes, a 64-bit length, a masking key.</summary>
    public const int MaxHeaderLength = 14;

    /// <summary>The largest payload of a control frame (RFC 6455 5.5).</summary>
    public const int MaxControlPayload = 125;

    /// <summary>A header's length, from its second byte: 2, the extended length (2 or 8), the mask (4).</summary>
    public static int HeaderLength(byte second) =>
        2 + ((second & 0x80) != 0 ? 4 : 0) + (second & 0x7f) switch
        {
            126 => 2,
            127 => 8,
            _ => 0,
        };

    /// <summary>The length of the header that <see cref="WriteHeader"/> writes for a payload of <paramref name="payloadLength"/>.</summary>
    public static int HeaderLength(long payloadLength, bool masked) =>
        2 + (payloadLength < 126 ? 0 : payloadLength <= 0xffff ? 2 : 8) + (masked ? 4 : 0);

    /// <summary>True when the second header byte announces a 64-bit length (which the firmware never sends nor takes).</summary>
    public static bool HasLongLength(byte second) => (second & 0x7f) == 127;

    /// <summary>Decodes a header at the start of <paramref name="buffered"/>; false when more bytes are needed.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> buffered, out FrameHeader header)
    {
        header = default;
        if (buffered.Length < 2)
        {
            return false;
        }

        int headerLength = HeaderLength(buffered[1]);
        if (buffered.Length < headerLength)
        {
            return false;
        }

        bool masked = (buffered[1] & 0x80) != 0;
        long length = (buffered[1] & 0x7f) switch
        {
            126 => BinaryPrimitives.ReadUInt16BigEndian(buffered[2..]),
            127 => (long)BinaryPrimitives.ReadUInt64BigEndian(buffered[2..]),
            int small => small,
        };
        uint key = masked ? BinaryPrimitives.ReadUInt32LittleEndian(buffered[(headerLength - 4)..]) : 0;
        header = new FrameHeader((buffered[0] & 0x80) != 0, (byte)(buffered[0] & 0x0f), masked, key, length, headerLength);
        return true;
    }

    /// <summary>
    /// Writes a header for a payload of <paramref name="payloadLength"/> bytes, with the shortest length form, and
    /// the masking key when there is one.
    /// </summary>
    /// <returns>The header's length.</returns>
    public static int WriteHeader(Span<byte> destination, byte opcode, bool fin, long payloadLength, uint? maskKey)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(payloadLength);
        int headerLength = HeaderLength(payloadLength, maskKey is not null);
        destination[0] = (byte)((fin ? 0x80 : 0) | opcode);
        byte maskBit = maskKey is null ? (byte)0 : (byte)0x80;
        if (payloadLength < 126)
        {
            destination[1] = (byte)(maskBit | payloadLength);
        }
        else if (payloadLength <= 0xffff)
        {
            destination[1] = (byte)(maskBit | 126);
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payloadLength);
        }
        else
        {
            destination[1] = (byte)(maskBit | 127);
            BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)payloadLength);
        }

        if (maskKey is uint key)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination[(headerLength - 4)..], key);
        }

        return headerLength;
    }

    /// <summary>Writes a whole frame (header, then the payload, masked when a key is given).</summary>
    /// <returns>The frame's length.</returns>
    public static int WriteFrame(Span<byte> destination, byte opcode, bool fin, ReadOnlySpan<byte> payload, uint? maskKey)
    {
        int headerLength = WriteHeader(destination, opcode, fin, payload.Length, maskKey);
        var body = destination.Slice(headerLength, payload.Length);
        payload.CopyTo(body);
        if (maskKey is uint key)
        {
            ApplyMask(body, key);
        }

        return headerLength + payload.Length;
    }

    /// <summary>A whole frame as a new array (for tests and one-off frames).</summary>
    public static byte[] EncodeFrame(byte opcode, bool fin, ReadOnlySpan<byte> payload, uint? maskKey = null)
    {
        byte[] frame = new byte[HeaderLength(payload.Length, maskKey is not null) + payload.Length];
        WriteFrame(frame, opcode, fin, payload, maskKey);
        return frame;
    }

    /// <summary>A close frame's body: the status code, then the reason as UTF-8, cut to fit a control frame.</summary>
    public static byte[] EncodeCloseBody(int status, string? reason)
    {
        byte[] text = Encoding.UTF8.GetBytes(reason ?? string.Empty);
        byte[] body = new byte[2 + Math.Min(text.Length, MaxControlPayload - 2)];
        BinaryPrimitives.WriteUInt16BigEndian(body, (ushort)status);
        text.AsSpan(0, body.Length - 2).CopyTo(body.AsSpan(2));
        return body;
    }

    /// <summary>Reads a close frame's body: the status when there is one, the reason when there is one.</summary>
    public static (int? Status, string? Reason) DecodeCloseBody(ReadOnlySpan<byte> body) =>
        (body.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(body) : null,
         body.Length > 2 ? Encoding.UTF8.GetString(body[2..]) : null);

    /// <summary>A fresh masking key (RFC 6455 5.3: unpredictable per frame; no secret rests on it here).</summary>
    public static uint NewMaskKey() => (uint)Random.Shared.Next() ^ ((uint)Random.Shared.Next() << 1);

    /// <summary>XORs with the 4-byte masking key (in the frame's byte order): whole vectors, then words, then bytes.</summary>
    /// <remarks>Compiled optimised at once: every frame of a relay passes through it twice, and vector code before tier-up is slow.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ApplyMask(Span<byte> data, uint key)
    {
        int i = 0;
        if (BitConverter.IsLittleEndian)
        {
            // The key repeats every 4 bytes, so a vector or a word of repeated keys lines up at every multiple of 8.
            ulong key64 = key | ((ulong)key << 32);
            if (Vector.IsHardwareAccelerated && data.Length >= Vector<byte>.Count)
            {
                var keys = Vector.AsVectorByte(new Vector<ulong>(key64));
                for (; i <= data.Length - Vector<byte>.Count; i += Vector<byte>.Count)
                {
                    var block = data.Slice(i, Vector<byte>.Count);
                    (new Vector<byte>(block) ^ keys).CopyTo(block);
                }
            }

            for (; i <= data.Length - sizeof(ulong); i += sizeof(ulong))
            {
                var word = data.Slice(i, sizeof(ulong));
                MemoryMarshal.Write(word, MemoryMarshal.Read<ulong>(word) ^ key64);
            }
        }

        for (; i < data.Length; i++)
        {
            data[i] ^= (byte)(key >> (8 * (i & 3)));
        }
    }
}
