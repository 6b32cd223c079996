using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace WebRepl.Gateway.Sessions;

/// <summary>
/// Makes a board's text frames valid UTF-8 for a browser, which drops the connection on an invalid text
/// message. A character split across two board frames is joined (its first bytes wait for the next text frame);
/// a byte that cannot be part of UTF-8 becomes U+FFFD. One per client: the state is that client's stream.
/// </summary>
internal sealed class Utf8Sanitizer
{
    private static readonly byte[] Replacement = [0xEF, 0xBF, 0xBD];

    private readonly byte[] _carry = new byte[4];
    private int _carryLength;

    /// <summary>Bytes held back: the start of a character whose rest has not arrived.</summary>
    public int Pending => _carryLength;

    /// <summary>Returns valid UTF-8 for <paramref name="input"/>; an incomplete character at the end is kept for the next call.</summary>
    public ReadOnlyMemory<byte> Sanitize(ReadOnlyMemory<byte> input)
    {
        if (_carryLength == 0 && Utf8.IsValid(input.Span))
        {
            return input; // the usual case: nothing to copy
        }

        var source = new byte[_carryLength + input.Length];
        _carry.AsSpan(0, _carryLength).CopyTo(source);
        input.Span.CopyTo(source.AsSpan(_carryLength));
        _carryLength = 0;

        var output = new ArrayBufferWriter<byte>(source.Length + 8);
        ReadOnlySpan<byte> rest = source;
        while (!rest.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(rest, out _, out int consumed);
            switch (status)
            {
                case OperationStatus.Done:
                    output.Write(rest[..consumed]);
                    break;
                case OperationStatus.NeedMoreData:
                    // The rest is the valid start of a character: wait for its other bytes.
                    rest.CopyTo(_carry);
                    _carryLength = rest.Length;
                    return output.WrittenMemory;
                default:
                    output.Write(Replacement);
                    break;
            }

            rest = rest[consumed..];
        }

        return output.WrittenMemory;
    }
}
