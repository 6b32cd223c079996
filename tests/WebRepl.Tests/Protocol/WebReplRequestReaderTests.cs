using WebRepl.Protocol;

namespace WebRepl.Tests.Protocol;

/// <summary>
/// The client's request stream read as the firmware reads it (extmod/modwebrepl.c), whatever the frames: records, a
/// PUT's file bytes, a GET's chunk requests; the op is byte 2 and the signature is never checked.
/// </summary>
public sealed class WebReplRequestReaderTests
{
    private static List<(WebReplRequestPart Part, int Bytes, WebReplRecord Record)> ReadAll(WebReplRequestReader reader, ReadOnlySpan<byte> data)
    {
        var parts = new List<(WebReplRequestPart, int, WebReplRecord)>();
        while (!data.IsEmpty)
        {
            int used = reader.Read(data, out var part, out var record);
            Assert.True(used > 0);
            parts.Add((part, used, record));
            data = data[used..];
        }

        return parts;
    }

    [Fact]
    public void Put_RecordSplitAcrossFrames_ThenItsFile_ThenRecordsAgain()
    {
        var reader = new WebReplRequestReader();
        byte[] record = new WebReplRequest(WebReplOperation.PutFile, 5, "a.py").ToArray();
        var first = ReadAll(reader, record.AsSpan(0, 30));
        Assert.Equal(WebReplRequestPart.Incomplete, Assert.Single(first).Part);
        Assert.True(reader.InsideRecord);

        // The rest of the record and the file's first bytes in one frame.
        var second = ReadAll(reader, [.. record.AsSpan(30), 1, 2, 3]);
        Assert.Equal(2, second.Count);
        Assert.Equal(WebReplRequestPart.Record, second[0].Part);
        Assert.Equal(new WebReplRequest(WebReplOperation.PutFile, 5, "a.py"), second[0].Record.Request);
        Assert.Equal((WebReplRequestPart.PutData, 3), (second[1].Part, second[1].Bytes));
        Assert.Equal(WebReplRequestStage.PutData, reader.Stage);
        Assert.Equal(2, reader.PutRemaining);

        // The file's end, then the next record's first byte: the file takes only what is left of it.
        var third = ReadAll(reader, [4, 5, (byte)'W']);
        Assert.Equal((WebReplRequestPart.PutData, 2), (third[0].Part, third[0].Bytes));
        Assert.Equal(WebReplRequestPart.Incomplete, third[1].Part);
        Assert.Equal(WebReplRequestStage.Record, reader.Stage);
        Assert.True(reader.InsideRecord);
    }

    [Fact]
    public void Get_EveryByteAChunkRequest_UntilTheFileEnds()
    {
        var reader = new WebReplRequestReader();
        var parts = ReadAll(reader, [.. new WebReplRequest(WebReplOperation.GetFile, 0, "b.txt").ToArray(), 0, 0]);
        Assert.Equal([WebReplRequestPart.Record, WebReplRequestPart.ChunkRequest, WebReplRequestPart.ChunkRequest], parts.Select(p => p.Part));
        Assert.Equal(WebReplRequestStage.GetData, reader.Stage);

        // The board's file ended: what follows (a surplus request) is the first byte of the next record.
        reader.EndGet();
        Assert.Equal(WebReplRequestPart.Incomplete, Assert.Single(ReadAll(reader, [0])).Part);
        Assert.True(reader.InsideRecord);
    }

    [Fact]
    public void AsTheFirmware_SignatureNotChecked_VersionReadsNothingElse_OtherOpsOpenTheName()
    {
        var reader = new WebReplRequestReader();
        byte[] version = new byte[WebReplRequest.Length];
        version[2] = (byte)WebReplOperation.GetVersion;
        var read = Assert.Single(ReadAll(reader, version));
        Assert.True(read.Record.IsKnown);
        Assert.Equal(WebReplOperation.GetVersion, read.Record.Request!.Value.Operation);
        Assert.Equal(WebReplRequestStage.Record, reader.Stage);

        byte[] get = new WebReplRequest(WebReplOperation.GetFile, 0, "c").ToArray();
        get[0] = (byte)'X'; // a wrong signature: read all the same
        Assert.Equal("c", Assert.Single(ReadAll(reader, get)).Record.Request!.Value.FileName);
        Assert.Equal(WebReplRequestStage.GetData, reader.Stage);
        reader.EndGet();

        byte[] other = new WebReplRequest(WebReplOperation.GetFile, 0, "d").ToArray();
        other[2] = 9;
        var odd = Assert.Single(ReadAll(reader, other)).Record;
        Assert.False(odd.IsKnown);
        Assert.Equal(9, odd.Op);
        Assert.Equal(new WebReplRequest(WebReplOperation.GetFile, 0, "d"), odd.Request);
        Assert.Equal(WebReplRequestStage.Record, reader.Stage); // what follows is the reader's caller's to judge
    }

    [Fact]
    public void NameRunningPastItsField_NoRequest_StreamStaysOnRecords()
    {
        var reader = new WebReplRequestReader();
        byte[] record = new WebReplRequest(WebReplOperation.PutFile, 10, "e").ToArray();
        record.AsSpan(18).Fill((byte)'x'); // no NUL within the name field
        var read = Assert.Single(ReadAll(reader, record)).Record;
        Assert.Null(read.Request);
        Assert.Equal(WebReplRequestStage.Record, reader.Stage);
        Assert.Equal(0, reader.PutRemaining);
    }

    [Fact]
    public void EmptyPut_NoFileBytes_Reset_ForgetsAPartialRecord()
    {
        var reader = new WebReplRequestReader();
        ReadAll(reader, new WebReplRequest(WebReplOperation.PutFile, 0, "f").ToArray());
        Assert.Equal(WebReplRequestStage.Record, reader.Stage);
        Assert.Equal(0, reader.Read([], out var part, out _));
        Assert.Equal(WebReplRequestPart.Incomplete, part);
        ReadAll(reader, [1, 2, 3]);
        Assert.True(reader.InsideRecord);
        reader.Reset();
        Assert.False(reader.InsideRecord);
    }
}
