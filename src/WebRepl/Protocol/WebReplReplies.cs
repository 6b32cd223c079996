using System.Buffers.Binary;

namespace WebRepl.Protocol;

/// <summary>A MicroPython version, as the board reports it in reply to GET_VER.</summary>
/// <param name="Major">Major version.</param>
/// <param name="Minor">Minor version.</param>
/// <param name="Micro">Micro (patch) version.</param>
public readonly record struct WebReplVersion(byte Major, byte Minor, byte Micro)
{
    /// <summary>The reply's length in bytes.</summary>
    public const int Length = 3;

    /// <summary>Reads the 3-byte reply.</summary>
    public static WebReplVersion Read(ReadOnlySpan<byte> source) =>
        source.Length < Length
            ? throw new ArgumentException("A version reply has 3 bytes.", nameof(source))
            : new WebReplVersion(source[0], source[1], source[2]);

    /// <summary>Writes the 3-byte reply.</summary>
    public void Write(Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, Length, nameof(destination));
        destination[0] = Major;
        destination[1] = Minor;
        destination[2] = Micro;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Major}.{Minor}.{Micro}";
}

/// <summary>The 4-byte status reply: <c>WB</c> and a little-endian u16 code (the firmware only sends 0).</summary>
public static class WebReplStatus
{
    /// <summary>The reply's length in bytes.</summary>
    public const int Length = 4;

    /// <summary>Writes a status reply.</summary>
    public static void Write(Span<byte> destination, ushort code)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, Length, nameof(destination));
        destination[0] = (byte)'W';
        destination[1] = (byte)'B';
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], code);
    }

    /// <summary>Reads a status reply; false when the signature is not <c>WB</c>.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out ushort code)
    {
        code = 0;
        if (source.Length < Length || source[0] != (byte)'W' || source[1] != (byte)'B')
        {
            return false;
        }

        code = BinaryPrimitives.ReadUInt16LittleEndian(source[2..]);
        return true;
    }
}

/// <summary>
/// A GET data chunk: u16 little-endian length, then that many bytes (at most 256); length 0 ends the file.
/// </summary>
public static class WebReplChunk
{
    /// <summary>The most data bytes a board puts in one chunk.</summary>
    public const int MaxData = 256;

    /// <summary>The length prefix's size.</summary>
    public const int HeaderLength = 2;

    /// <summary>Writes the chunk header for <paramref name="dataLength"/> bytes.</summary>
    public static void WriteHeader(Span<byte> destination, int dataLength) =>
        BinaryPrimitives.WriteUInt16LittleEndian(destination, checked((ushort)dataLength));

    /// <summary>Reads the chunk header.</summary>
    public static int ReadHeader(ReadOnlySpan<byte> source) => BinaryPrimitives.ReadUInt16LittleEndian(source);
}
