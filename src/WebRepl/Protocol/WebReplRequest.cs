using System.Buffers.Binary;
using System.Text;

namespace WebRepl.Protocol;

/// <summary>The operation of a WebREPL request record.</summary>
public enum WebReplOperation : byte
{
    /// <summary>Send a file to the board.</summary>
    PutFile = 1,

    /// <summary>Fetch a file from the board.</summary>
    GetFile = 2,

    /// <summary>Ask the board for its MicroPython version.</summary>
    GetVersion = 3,
}

/// <summary>
/// The 82-byte request record a client sends in binary frames (<c>&lt;2sBBQLH64s</c>, little-endian):
/// signature <c>WA</c>, op, flags, offset, size, name length, name (NUL-padded).
/// </summary>
/// <param name="Operation">What the board is asked to do.</param>
/// <param name="Size">The file's length for a put, else 0.</param>
/// <param name="FileName">The board path; at most 63 bytes of UTF-8.</param>
public readonly record struct WebReplRequest(WebReplOperation Operation, uint Size, string FileName)
{
    /// <summary>The record's length in bytes.</summary>
    public const int Length = 82;

    /// <summary>The largest name, in bytes of UTF-8: the firmware reads the 64-byte field as a NUL-terminated string.</summary>
    public const int MaxFileNameBytes = 63;

    private const int NameOffset = 18;
    private const int NameField = 64;

    /// <summary>Writes the record into <paramref name="destination"/> (at least <see cref="Length"/> bytes).</summary>
    /// <exception cref="ArgumentException">The name is empty, contains NUL, or is longer than 63 bytes of UTF-8.</exception>
    public void Write(Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, Length, nameof(destination));
        ValidateFileName(FileName, allowEmpty: Operation == WebReplOperation.GetVersion);
        Span<byte> record = destination[..Length];
        record.Clear();
        record[0] = (byte)'W';
        record[1] = (byte)'A';
        record[2] = (byte)Operation;
        record[3] = 0; // flags
        BinaryPrimitives.WriteUInt64LittleEndian(record[4..], 0); // offset: unused by the firmware
        BinaryPrimitives.WriteUInt32LittleEndian(record[12..], Size);
        int nameLength = Encoding.UTF8.GetBytes(FileName, record.Slice(NameOffset, NameField));
        BinaryPrimitives.WriteUInt16LittleEndian(record[16..], (ushort)nameLength);
    }

    /// <summary>Returns the record as a new array.</summary>
    public byte[] ToArray()
    {
        var bytes = new byte[Length];
        Write(bytes);
        return bytes;
    }

    /// <summary>
    /// Reads a record. Returns false for anything a well-behaved client would not send: a wrong
    /// signature, an unknown operation, a name that is not NUL-terminated within its field or not UTF-8.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out WebReplRequest request)
    {
        request = default;
        if (source.Length < Length || source[0] != (byte)'W' || source[1] != (byte)'A')
        {
            return false;
        }

        var op = (WebReplOperation)source[2];
        if (op is not (WebReplOperation.PutFile or WebReplOperation.GetFile or WebReplOperation.GetVersion))
        {
            return false;
        }

        uint size = BinaryPrimitives.ReadUInt32LittleEndian(source[12..]);
        ReadOnlySpan<byte> field = source.Slice(NameOffset, NameField);
        int nul = field.IndexOf((byte)0);
        if (nul < 0)
        {
            return false; // the firmware would read past the field
        }

        string name;
        try
        {
            name = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(field[..nul]);
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        request = new WebReplRequest(op, size, name);
        return true;
    }

    /// <summary>Checks a board file name against what the firmware can take.</summary>
    /// <exception cref="ArgumentException">With a message that says the limit.</exception>
    public static void ValidateFileName(string fileName, bool allowEmpty = false)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        if (fileName.Length == 0 && !allowEmpty)
        {
            throw new ArgumentException("The board file name is empty.", nameof(fileName));
        }

        if (fileName.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("The board file name contains a NUL character.", nameof(fileName));
        }

        int bytes = Encoding.UTF8.GetByteCount(fileName);
        if (bytes > MaxFileNameBytes)
        {
            throw new ArgumentException(
                $"The board file name '{fileName}' is {bytes} bytes of UTF-8; WebREPL allows at most {MaxFileNameBytes}. Use a shorter name or path.",
                nameof(fileName));
        }
    }
}
