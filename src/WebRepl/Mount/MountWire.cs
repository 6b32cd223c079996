using System.Globalization;
using System.Text;

namespace WebRepl.Mount;

/// <summary>
/// The mount protocol's bytes (docs/mount.md, "Protocol"), both ways, as a pure codec.
/// <code>
/// board -> computer (its stdout):  \x18 TOKEN OP FIELD,FIELD...;     OP one letter, fields [0-9a-z]
/// computer -> board (its stdin):   \x18 LLLL STATUS,FIELD...          LLLL = length of the rest, 4 hex digits
/// </code>
/// Paths and data travel as lowercase hex, numbers in decimal: nothing but printable ASCII besides the
/// <c>\x18</c> markers, so the bytes pass any terminal channel (a gateway, a line discipline) unchanged.
/// </summary>
public static class MountWire
{
    /// <summary>The byte that starts a request and a reply (CAN, Ctrl-X).</summary>
    public const byte Marker = 0x18;

    /// <summary>The byte that ends a request.</summary>
    public const byte RequestEnd = (byte)';';

    /// <summary>The length of a mount's token (hex digits), which follows the marker in every request.</summary>
    public const int TokenLength = 8;

    /// <summary>The longest request accepted (a rename's two paths, or a write of 4 KiB, with room to spare).</summary>
    public const int MaxRequestLength = 12 * 1024;

    /// <summary>The bytes of a reply before its payload: the marker and four hex digits of length.</summary>
    public const int ReplyHeaderLength = 5;

    /// <summary>A new random token for a mount.</summary>
    public static string NewToken() => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(TokenLength / 2));

    /// <summary>A reply: status 0 and <paramref name="fields"/>; the payload must be printable ASCII without <c>,</c> inside a field.</summary>
    public static byte[] Reply(int status, params ReadOnlySpan<string> fields)
    {
        var payload = new StringBuilder(status.ToString(CultureInfo.InvariantCulture));
        foreach (string field in fields)
        {
            payload.Append(',').Append(field);
        }

        if (payload.Length > 0xFFFF)
        {
            throw new ArgumentException("A reply's payload is at most 65535 bytes.", nameof(fields));
        }

        byte[] bytes = new byte[ReplyHeaderLength + payload.Length];
        bytes[0] = Marker;
        Encoding.ASCII.GetBytes(payload.Length.ToString("x4", CultureInfo.InvariantCulture), bytes.AsSpan(1));
        Encoding.ASCII.GetBytes(payload.ToString(), bytes.AsSpan(ReplyHeaderLength));
        return bytes;
    }

    /// <summary>A reply that makes the board raise <c>OSError(errno)</c>.</summary>
    public static byte[] Error(int errno) => Reply(errno);

    /// <summary>Lowercase hex of <paramref name="bytes"/>.</summary>
    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    /// <summary>Decodes a hex field; null if it is not an even number of hex digits.</summary>
    public static byte[]? FromHex(string field)
    {
        if (field.Length % 2 != 0)
        {
            return null;
        }

        try
        {
            return Convert.FromHexString(field);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>One request from the board: its operation letter and its fields (still encoded).</summary>
public sealed record MountRequest(char Operation, IReadOnlyList<string> Fields)
{
    /// <summary>Parses what came between the token and the <c>;</c>; null when it is not a request.</summary>
    public static MountRequest? Parse(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty || !char.IsAsciiLetterUpper((char)body[0]))
        {
            return null;
        }

        foreach (byte b in body[1..])
        {
            if (!(char.IsAsciiLetterOrDigit((char)b) || b == (byte)',' || b == (byte)'+'))
            {
                return null;
            }
        }

        string rest = Encoding.ASCII.GetString(body[1..]);
        return new MountRequest((char)body[0], rest.Length == 0 ? [] : rest.Split(','));
    }
}

/// <summary>What the board's output holds, in order: bytes for the user, or a request for the mount.</summary>
public readonly record struct MountOutputPart(ReadOnlyMemory<byte> UserBytes, MountRequest? Request, bool Malformed)
{
    /// <summary>True for a request (well formed or not), which wants a reply.</summary>
    public bool IsRequest => Request is not null || Malformed;
}

/// <summary>
/// Splits the board's terminal output into the user's bytes and mount requests. A request is the marker, the
/// mount's token, a body of <c>[A-Z][0-9a-z,+]*</c> and <c>;</c>; anything else (a program printing Ctrl-X,
/// a marker followed by other text) is the user's and passes unchanged, byte for byte. A request may arrive split
/// across pieces of output: a marker and what follows it are held until they are known to be a request or not.
/// Not thread-safe: one reader of the output calls it.
/// </summary>
public sealed class MountOutputFilter
{
    private readonly byte[] _token;
    private readonly List<byte> _held = [];

    /// <summary>A filter for the requests that carry <paramref name="token"/>.</summary>
    public MountOutputFilter(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (token.Length != MountWire.TokenLength || !token.All(char.IsAsciiHexDigitLower))
        {
            throw new ArgumentException($"A token is {MountWire.TokenLength} lowercase hex digits.", nameof(token));
        }

        _token = Encoding.ASCII.GetBytes(token);
    }

    /// <summary>True while a possible request's first bytes are held back.</summary>
    public bool IsHolding => _held.Count > 0;

    /// <summary>Takes the next piece of output; returns the parts it completes, in order.</summary>
    public IReadOnlyList<MountOutputPart> Feed(ReadOnlySpan<byte> chunk)
    {
        var parts = new List<MountOutputPart>();
        var user = new List<byte>();
        foreach (byte b in chunk)
        {
            if (StartOrPass(b, user))
            {
                continue;
            }

            _held.Add(b);
            Step(user, parts);
        }

        Flush(user, parts);
        return parts;
    }

    /// <summary>At the end of the output: whatever is held is the user's.</summary>
    public ReadOnlyMemory<byte> Drain()
    {
        byte[] held = [.. _held];
        _held.Clear();
        return held;
    }

    /// <summary>Looks at the held bytes after one more came: still possible, a request, or the user's after all.</summary>
    private void Step(List<byte> user, List<MountOutputPart> parts)
    {
        int at = _held.Count - 1;
        byte b = _held[at];
        if (at <= _token.Length)
        {
            if (b == _token[at - 1])
            {
                return;
            }

            ReleaseHeld(user);
            return;
        }

        if (b == MountWire.RequestEnd)
        {
            Flush(user, parts);
            var body = _held.GetRange(1 + _token.Length, _held.Count - 2 - _token.Length).ToArray();
            _held.Clear();
            var request = MountRequest.Parse(body);
            parts.Add(new MountOutputPart(default, request, request is null));
            return;
        }

        bool allowed = char.IsAsciiLetterOrDigit((char)b) || b == (byte)',' || b == (byte)'+';
        if (!allowed || _held.Count - 1 - _token.Length > MountWire.MaxRequestLength)
        {
            // It had the token, so it came from the mount's code (or something imitating it), which waits for an
            // answer: an error reply, and the bytes after the token go to the user (they are not a request).
            Flush(user, parts);
            var rest = _held.GetRange(1 + _token.Length, _held.Count - 1 - _token.Length).ToArray();
            _held.Clear();
            parts.Add(new MountOutputPart(default, null, true));
            user.AddRange(rest);
        }
    }

    /// <summary>The held marker was not a request's: it is the user's, and what followed it is looked at afresh.</summary>
    private void ReleaseHeld(List<byte> user)
    {
        byte[] held = [.. _held];
        _held.Clear();
        user.Add(held[0]);
        foreach (byte b in held.AsSpan(1))
        {
            if (StartOrPass(b, user))
            {
                continue;
            }

            _held.Add(b);
            if (_held[^1] != _token[_held.Count - 2])
            {
                ReleaseHeld(user);
            }
        }
    }

    /// <summary>With no marker held: a marker starts holding, any other byte is the user's (true). False while one is held.</summary>
    private bool StartOrPass(byte b, List<byte> user)
    {
        if (_held.Count > 0)
        {
            return false;
        }

        if (b == MountWire.Marker)
        {
            _held.Add(b);
        }
        else
        {
            user.Add(b);
        }

        return true;
    }

    private static void Flush(List<byte> user, List<MountOutputPart> parts)
    {
        if (user.Count > 0)
        {
            parts.Add(new MountOutputPart(user.ToArray(), null, false));
            user.Clear();
        }
    }
}
