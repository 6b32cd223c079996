using System.Text;
using WebRepl.Tests.Support;
using WebRepl.Transport;

namespace WebRepl.Tests.Transport;

/// <summary>The frame codec on its own, against RFC 6455's reference bytes (5.7) and its rules for lengths and masks.</summary>
public sealed class WebSocketFrameCodecTests
{
    // RFC 6455 5.7's masking key, as it is on the wire (37 fa 21 3d), read as the codec keeps it.
    private const uint RfcKey = 0x3d21fa37;

    public static TheoryData<string, byte, bool, string, bool> Rfc6455Examples => new()
    {
        // name, opcode, fin, payload, masked: the frame's bytes are in ExpectedBytes
        { "unmasked text", WebSocketFrameCodec.Text, true, "Hello", false },
        { "masked text", WebSocketFrameCodec.Text, true, "Hello", true },
        { "first fragment", WebSocketFrameCodec.Text, false, "Hel", false },
        { "last fragment", WebSocketFrameCodec.Continuation, true, "lo", false },
        { "unmasked ping", WebSocketFrameCodec.Ping, true, "Hello", false },
        { "masked pong", WebSocketFrameCodec.Pong, true, "Hello", true },
    };

    [Theory]
    [MemberData(nameof(Rfc6455Examples))]
    public void EncodeFrame_Rfc6455Examples_ExactBytes(string name, byte opcode, bool fin, string payload, bool masked)
    {
        byte[] frame = WebSocketFrameCodec.EncodeFrame(opcode, fin, Encoding.ASCII.GetBytes(payload), masked ? RfcKey : null);

        Assert.Equal(ExpectedBytes(name), frame);
    }

    [Theory]
    [MemberData(nameof(Rfc6455Examples))]
    public void TryReadHeader_Rfc6455Examples_DecodesThemAndUnmasks(string name, byte opcode, bool fin, string payload, bool masked)
    {
        byte[] frame = ExpectedBytes(name);

        Assert.True(WebSocketFrameCodec.TryReadHeader(frame, out var header));
        Assert.Equal((fin, opcode, masked, payload.Length), (header.Fin, header.Opcode, header.Masked, (int)header.PayloadLength));
        Assert.Equal(masked ? 6 : 2, header.HeaderLength);
        byte[] body = frame[header.HeaderLength..];
        if (header.Masked)
        {
            Assert.Equal(RfcKey, header.MaskKey);
            WebSocketFrameCodec.ApplyMask(body, header.MaskKey);
        }

        Assert.Equal(payload, Encoding.ASCII.GetString(body));
        Assert.Equal(opcode >= WebSocketFrameCodec.Close, header.IsControl);
    }

    [Fact]
    public void EncodeFrame_256Bytes_Uses16BitLength_AsRfc6455Example()
    {
        byte[] frame = WebSocketFrameCodec.EncodeFrame(WebSocketFrameCodec.Binary, true, new byte[256]);

        Assert.Equal(Hex.Parse("82 7E 0100"), frame[..4]);
        Assert.Equal(4 + 256, frame.Length);
        Assert.True(WebSocketFrameCodec.TryReadHeader(frame, out var header));
        Assert.Equal((256L, 4), (header.PayloadLength, header.HeaderLength));
    }

    [Fact]
    public void EncodeFrame_64KiB_Uses64BitLength_AsRfc6455Example()
    {
        byte[] frame = WebSocketFrameCodec.EncodeFrame(WebSocketFrameCodec.Binary, true, new byte[65536]);

        Assert.Equal(Hex.Parse("82 7F 0000000000010000"), frame[..10]);
        Assert.Equal(10 + 65536, frame.Length);
        Assert.True(WebSocketFrameCodec.TryReadHeader(frame, out var header));
        Assert.Equal((65536L, 10), (header.PayloadLength, header.HeaderLength));
        Assert.True(WebSocketFrameCodec.HasLongLength(frame[1]));
    }

    [Theory]
    [InlineData(0, 2)]
    [InlineData(125, 2)]
    [InlineData(126, 4)]
    [InlineData(65535, 4)]
    [InlineData(65536, 10)]
    public void HeaderLength_ShortestFormAtEachBoundary_PlusFourWhenMasked(int payloadLength, int expected)
    {
        Assert.Equal(expected, WebSocketFrameCodec.HeaderLength(payloadLength, masked: false));
        Assert.Equal(expected + 4, WebSocketFrameCodec.HeaderLength(payloadLength, masked: true));
        Span<byte> header = stackalloc byte[WebSocketFrameCodec.MaxHeaderLength];
        Assert.Equal(expected + 4, WebSocketFrameCodec.WriteHeader(header, WebSocketFrameCodec.Binary, true, payloadLength, RfcKey));
        Assert.Equal(expected + 4, WebSocketFrameCodec.HeaderLength(header[1]));
        Assert.True(WebSocketFrameCodec.TryReadHeader(header[..(expected + 4)], out var read));
        Assert.Equal(payloadLength, read.PayloadLength);
    }

    [Fact]
    public void TryReadHeader_IncompleteHeader_AsksForMore()
    {
        byte[] frame = WebSocketFrameCodec.EncodeFrame(WebSocketFrameCodec.Text, true, new byte[300], RfcKey);

        for (int have = 0; have < 8; have++)
        {
            Assert.False(WebSocketFrameCodec.TryReadHeader(frame.AsSpan(0, have), out _), $"{have} bytes");
        }

        Assert.True(WebSocketFrameCodec.TryReadHeader(frame.AsSpan(0, 8), out _));
    }

    [Fact]
    public void TryReadHeader_64BitLengthWithTopBitSet_IsNegative_SoTheLimitRefusesIt()
    {
        Assert.True(WebSocketFrameCodec.TryReadHeader(Hex.Parse("82 7F 8000000000000000"), out var header));

        Assert.True(header.PayloadLength < 0);
    }

    [Fact]
    public void CloseBody_StatusAndReason_RoundTrip_ReasonCutToAControlFrame()
    {
        byte[] body = WebSocketFrameCodec.EncodeCloseBody(1008, "origin not allowed");

        Assert.Equal(Hex.Parse("03F0"), body[..2]);
        Assert.Equal(((int?)1008, "origin not allowed"), WebSocketFrameCodec.DecodeCloseBody(body));
        Assert.Equal(WebSocketFrameCodec.MaxControlPayload, WebSocketFrameCodec.EncodeCloseBody(1000, new string('x', 500)).Length);
        Assert.Equal(((int?)null, (string?)null), WebSocketFrameCodec.DecodeCloseBody([]));
        Assert.Equal(((int?)1000, (string?)null), WebSocketFrameCodec.DecodeCloseBody(Hex.Parse("03E8")));
    }

    [Fact]
    public void ApplyMask_EveryLengthAndStart_MatchesRfc6455ByteByByte()
    {
        // RFC 6455 5.3: octet i is XORed with octet i mod 4 of the key (the key as it is on the wire).
        var random = new Random(6455);
        byte[] key = [0x37, 0xfa, 0x21, 0x3d];
        uint wireKey = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(key);
        for (int start = 0; start < 9; start++)
        {
            for (int length = 0; length <= 130; length++)
            {
                byte[] data = new byte[start + length + 3];
                random.NextBytes(data);
                byte[] expected = (byte[])data.Clone();
                for (int i = 0; i < length; i++)
                {
                    expected[start + i] ^= key[i % 4];
                }

                WebSocketFrameCodec.ApplyMask(data.AsSpan(start, length), wireKey);

                Assert.True(expected.AsSpan().SequenceEqual(data), $"start {start}, length {length}");
            }
        }
    }

    private static byte[] ExpectedBytes(string name) => Hex.Parse(name switch
    {
        "unmasked text" => "81 05 48 65 6c 6c 6f",
        "masked text" => "81 85 37 fa 21 3d 7f 9f 4d 51 58",
        "first fragment" => "01 03 48 65 6c",
        "last fragment" => "80 02 6c 6f",
        "unmasked ping" => "89 05 48 65 6c 6c 6f",
        "masked pong" => "8a 85 37 fa 21 3d 7f 9f 4d 51 58",
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    });
}
