using System.Security.Cryptography;

namespace WebRepl.Protocol;

/// <summary>
/// The password as a board reads it (modwebrepl.c): every byte up to the first CR or LF, whatever the frame
/// type, of which it keeps the first bytes and compares them as a C string. A board keeps 10; this keeps as many
/// as the longest password the client sends, and one more. For a board's password (at most 9 bytes) the outcome is the
/// board's: a line of 10 bytes or more never matches. Kept in memory only, never logged, and wiped when disposed. Used by the board's side
/// (<c>WebReplServer</c>) and by the gateway, which checks a joining client's line against the one the board accepted.
/// </summary>
public sealed class PasswordLine : IDisposable
{
    private const int Kept = WebReplClient.MaxServerPasswordLength + 1;
    private readonly byte[] _bytes = new byte[Kept];
    private int _length;

    /// <summary>True once the line end has been seen.</summary>
    public bool IsComplete { get; private set; }

    /// <summary>Reads bytes until the line end; returns how many bytes it took (the rest is terminal input).</summary>
    public int Feed(ReadOnlySpan<byte> data)
    {
        for (int i = 0; i < data.Length && !IsComplete; i++)
        {
            byte c = data[i];
            if (c is (byte)'\r' or (byte)'\n')
            {
                IsComplete = true;
                return i + 1;
            }

            if (_length < Kept)
            {
                _bytes[_length++] = c;
            }
        }

        return data.Length;
    }

    /// <summary>Compares two complete lines as the board would compare them with its password, in constant time for equal lengths.</summary>
    public bool Matches(PasswordLine other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return CryptographicOperations.FixedTimeEquals(AsCString(), other.AsCString());
    }

    /// <summary>A copy that outlives the client that typed it (the session keeps the accepted line).</summary>
    public PasswordLine Clone()
    {
        var copy = new PasswordLine { IsComplete = IsComplete, _length = _length };
        _bytes.CopyTo(copy._bytes, 0);
        return copy;
    }

    /// <summary>Wipes the line.</summary>
    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(_bytes);
        _length = 0;
    }

    private ReadOnlySpan<byte> AsCString()
    {
        var kept = _bytes.AsSpan(0, _length);
        int nul = kept.IndexOf((byte)0);
        return nul < 0 ? kept : kept[..nul];
    }
}
