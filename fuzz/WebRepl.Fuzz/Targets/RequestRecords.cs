using System.Buffers.Binary;
using System.Text;
using WebRepl.Protocol;

namespace WebRepl.Fuzz.Targets;

/// <summary>
/// The 82-byte request record reader (<see cref="WebReplRequest.TryRead"/>), which the board's side and the
/// gateway's transfer tracking use. Invariants: a record is read only with the WA signature, a known operation
/// and a NUL-terminated UTF-8 name; the size and the name are the record's; a record read writes back to the same
/// signature, operation, size and name, and reads back equal; one a client could not send (an empty name for a
/// PUT or GET) is refused by the writer. Input: the record's bytes.
/// </summary>
public static class RequestRecords
{
    public static void Run(ReadOnlySpan<byte> input)
    {
        if (!WebReplRequest.TryRead(input, out var request))
        {
            bool shouldRead = input.Length >= WebReplRequest.Length && input[0] == 'W' && input[1] == 'A' && input[2] is 1 or 2 or 3 &&
                input.Slice(18, 64).IndexOf((byte)0) is int nul && nul >= 0 && Utf8.IsValid(input.Slice(18, nul));
            Check.That(!shouldRead, "a well-formed record was refused");
            return;
        }

        Check.That(input.Length >= WebReplRequest.Length && input[0] == 'W' && input[1] == 'A', "read a record without the WA signature");
        Check.That((byte)request.Operation == input[2] && input[2] is 1 or 2 or 3, "the operation is not the record's");
        Check.That(request.Size == BinaryPrimitives.ReadUInt32LittleEndian(input[12..]), "the size is not the record's");
        int end = input.Slice(18, 64).IndexOf((byte)0);
        Check.That(end >= 0 && Encoding.UTF8.GetBytes(request.FileName).AsSpan().SequenceEqual(input.Slice(18, end)), "the name is not the record's");

        byte[] written;
        try
        {
            written = request.ToArray();
        }
        catch (ArgumentException)
        {
            Check.That(request.FileName.Length == 0 && request.Operation != WebReplOperation.GetVersion, "the writer refused a record that was read");
            return;
        }

        Check.That(request.FileName.Length > 0 || request.Operation == WebReplOperation.GetVersion, "the writer took an empty name for a transfer");
        Check.That(written.AsSpan(0, 3).SequenceEqual(input[..3]) && written.AsSpan(12, 4).SequenceEqual(input.Slice(12, 4)), "the record written back differs in signature, operation or size");
        Check.That(BinaryPrimitives.ReadUInt16LittleEndian(written.AsSpan(16)) == end && written.AsSpan(18, end).SequenceEqual(input.Slice(18, end)), "the record written back differs in its name");
        Check.That(WebReplRequest.TryRead(written, out var again) && again == request, "the record written back does not read back equal");
    }

    private static class Utf8
    {
        public static bool IsValid(ReadOnlySpan<byte> bytes) => System.Text.Unicode.Utf8.IsValid(bytes);
    }
}
