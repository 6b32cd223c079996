using System.Text;
using WebRepl.Mount;

namespace WebRepl.Tests.Mount;

public sealed class MountedFolderTests : IDisposable
{
    private readonly DirectoryInfo _base = Directory.CreateTempSubdirectory("webrepl-mount-");

    private string Root => Path.Combine(_base.FullName, "served");

    public MountedFolderTests() => Directory.CreateDirectory(Root);

    public void Dispose() => _base.Delete(recursive: true);

    private static string H(string path) => MountWire.Hex(Encoding.UTF8.GetBytes(path));

    private static MountRequest Request(char op, params string[] fields) => new(op, fields);

    /// <summary>The reply's status and fields, checked against its length header.</summary>
    private static string[] Parse(byte[] reply)
    {
        Assert.Equal(MountWire.Marker, reply[0]);
        int length = Convert.ToInt32(Encoding.ASCII.GetString(reply, 1, 4), 16);
        Assert.Equal(reply.Length - MountWire.ReplyHeaderLength, length);
        return Encoding.ASCII.GetString(reply, MountWire.ReplyHeaderLength, length).Split(',');
    }

    [Fact]
    public void Stat_File_SizeAndFileMode()
    {
        File.WriteAllText(Path.Combine(Root, "a.py"), "x = 1\n");
        var folder = new MountedFolder(Root);

        var reply = Parse(folder.Handle(Request('S', H("/a.py"))));

        Assert.Equal(["0", "32768", "6"], reply[..3]);
    }

    [Fact]
    public void Stat_Missing_ENOENT()
    {
        Assert.Equal(["2"], Parse(new MountedFolder(Root).Handle(Request('S', H("/nope.py")))));
    }

    [Theory]
    [InlineData("/../outside.txt")]
    [InlineData("/sub/../../outside.txt")]
    [InlineData("//outside.txt")]
    [InlineData("outside.txt")]
    [InlineData("/./a")]
    [InlineData("/a\\..\\..\\outside.txt")]
    public void AnyRequest_PathNotPlainBelowTheFolder_EACCES(string path)
    {
        File.WriteAllText(Path.Combine(_base.FullName, "outside.txt"), "secret");
        var refused = new List<string>();
        var folder = new MountedFolder(Root) { Refused = refused.Add };

        Assert.Equal(["13"], Parse(folder.Handle(Request('O', H(path), "r"))));
        Assert.Equal(["13"], Parse(folder.Handle(Request('S', H(path)))));
        Assert.NotEmpty(refused);
    }

    [Fact]
    public void Open_LinkLeadingOutside_RefusedUnlessUnsafeLinks()
    {
        string outside = Path.Combine(_base.FullName, "elsewhere");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Combine(outside, "secret.txt"), "secret");
        Directory.CreateSymbolicLink(Path.Combine(Root, "link"), outside);
        // A link to a link inside, which leads out: refused too.
        Directory.CreateSymbolicLink(Path.Combine(Root, "link2"), "link");

        Assert.Equal(["13"], Parse(new MountedFolder(Root).Handle(Request('O', H("/link/secret.txt"), "r"))));
        Assert.Equal(["13"], Parse(new MountedFolder(Root).Handle(Request('O', H("/link2/secret.txt"), "r"))));
        var reply = Parse(new MountedFolder(Root, new WebReplMountOptions { UnsafeLinks = true }).Handle(Request('O', H("/link/secret.txt"), "r")));
        Assert.Equal(["0", "6", H("secret")], reply);
    }

    [Fact]
    public void Open_LinkInsideTheFolder_Followed()
    {
        Directory.CreateDirectory(Path.Combine(Root, "real"));
        File.WriteAllText(Path.Combine(Root, "real", "m.py"), "y = 2\n");
        Directory.CreateSymbolicLink(Path.Combine(Root, "alias"), "real");

        var reply = Parse(new MountedFolder(Root).Handle(Request('O', H("/alias/m.py"), "r")));

        Assert.Equal("0", reply[0]);
        Assert.Equal(H("y = 2\n"), reply[2]);
    }

    [Fact]
    public void OpenThenRead_LargeFile_EveryReplyWithinTheWindowAndAllBytesInOrder()
    {
        byte[] content = new byte[5000];
        new Random(5).NextBytes(content);
        File.WriteAllBytes(Path.Combine(Root, "big.bin"), content);
        var options = new WebReplMountOptions { ReplyWindow = 100 };
        var folder = new MountedFolder(Root, options);

        byte[] open = folder.Handle(Request('O', H("/big.bin"), "r"));
        Assert.True(open.Length <= 100);
        var fields = Parse(open);
        Assert.Equal("5000", fields[1]);
        var received = new List<byte>(Convert.FromHexString(fields[2]));
        while (true)
        {
            byte[] reply = folder.Handle(Request('R', H("/big.bin"), received.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.True(reply.Length <= 100);
            byte[] data = Convert.FromHexString(Parse(reply)[1]);
            if (data.Length == 0)
            {
                break;
            }

            received.AddRange(data);
        }

        Assert.Equal(content, received);
    }

    [Fact]
    public void OpenWriteThenWrite_CreatesTheFileWithTheBytes()
    {
        var folder = new MountedFolder(Root);

        Assert.Equal(["0", "0"], Parse(folder.Handle(Request('O', H("/out.txt"), "w"))));
        Assert.Equal(["0"], Parse(folder.Handle(Request('W', H("/out.txt"), "0", H("hello ")))));
        Assert.Equal(["0"], Parse(folder.Handle(Request('W', H("/out.txt"), "6", H("world")))));

        Assert.Equal("hello world", File.ReadAllText(Path.Combine(Root, "out.txt")));
    }

    [Fact]
    public void Write_PastTheSizeLimit_EFBIGAndFileUnchanged()
    {
        File.WriteAllText(Path.Combine(Root, "f.txt"), "abc");
        var folder = new MountedFolder(Root, new WebReplMountOptions { MaxFileSize = 10 });

        Assert.Equal(["27"], Parse(folder.Handle(Request('W', H("/f.txt"), "8", H("xyz")))));
        Assert.Equal("abc", File.ReadAllText(Path.Combine(Root, "f.txt")));
    }

    [Fact]
    public void Open_ModeNotAPythonFileMode_EINVAL()
    {
        Assert.Equal(["22"], Parse(new MountedFolder(Root).Handle(Request('O', H("/a"), "rw"))));
    }

    [Fact]
    public void List_ManyEntriesSmallWindow_PagesCoverEveryNameOnce()
    {
        for (int i = 0; i < 30; i++)
        {
            File.WriteAllText(Path.Combine(Root, $"module_{i:D2}.py"), new string('x', i));
        }

        var folder = new MountedFolder(Root, new WebReplMountOptions { ReplyWindow = 120 });
        var names = new List<string>();
        while (true)
        {
            byte[] reply = folder.Handle(Request('L', H("/"), names.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            Assert.True(reply.Length <= 120);
            var fields = Parse(reply);
            Assert.Equal("0", fields[0]);
            foreach (string entry in fields[2..])
            {
                string[] parts = entry.Split(':');
                names.Add(Encoding.UTF8.GetString(Convert.FromHexString(parts[0])));
            }

            if (fields[1] == "0")
            {
                break;
            }
        }

        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"module_{i:D2}.py"), names);
    }

    [Fact]
    public void MakeRenameRemove_OnTheDisk()
    {
        var folder = new MountedFolder(Root);
        File.WriteAllText(Path.Combine(Root, "a.txt"), "a");

        Assert.Equal(["0"], Parse(folder.Handle(Request('M', H("/d")))));
        Assert.Equal(["17"], Parse(folder.Handle(Request('M', H("/d")))));
        Assert.Equal(["0"], Parse(folder.Handle(Request('N', H("/a.txt"), H("/d/b.txt")))));
        Assert.Equal(["39"], Parse(folder.Handle(Request('X', H("/d")))));
        Assert.Equal(["0"], Parse(folder.Handle(Request('D', H("/d/b.txt")))));
        Assert.Equal(["0"], Parse(folder.Handle(Request('X', H("/d")))));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Root));
    }

    [Fact]
    public void Handle_MalformedOrUnknown_EINVAL()
    {
        var folder = new MountedFolder(Root);

        Assert.Equal(["22"], Parse(folder.Handle(null)));
        Assert.Equal(["22"], Parse(folder.Handle(Request('Q', H("/")))));
        Assert.Equal(["22"], Parse(folder.Handle(Request('S', "2f6"))));
        Assert.Equal(["22"], Parse(folder.Handle(Request('R', H("/a"), "-1"))));
    }
}
