using System.Text;
using WebRepl.Mip;

namespace WebRepl.Tests.Mip;

/// <summary>Package arguments and URL mapping as mip reads them, and package.json as untrusted input.</summary>
public sealed class MipSpecTests
{
    private static readonly MipOptions Options = new() { GitHubBase = new Uri("http://127.0.0.1:9/gh"), GitLabBase = new Uri("http://127.0.0.1:9/gl/") };

    [Theory]
    [InlineData("aioble", "Index", "aioble", null)]
    [InlineData("aioble@0.3.0", "Index", "aioble", "0.3.0")]
    [InlineData("github:org/repo", "PackageUrl", "github:org/repo/package.json", null)]
    [InlineData("github:org/repo/sub@v1.2", "PackageUrl", "github:org/repo/sub/package.json", "v1.2")]
    [InlineData("github:org/repo/drv.py@main", "FileUrl", "github:org/repo/drv.py", "main")]
    [InlineData("gitlab:org/repo/x.json", "PackageUrl", "gitlab:org/repo/x.json", null)]
    [InlineData("https://user@host/pkg/", "PackageUrl", "https://user@host/pkg/package.json", null)]
    [InlineData("https://host/pkg@v2", "PackageUrl", "https://host/pkg/package.json", "v2")]
    [InlineData("./pkg", "Local", "./pkg", null)]
    [InlineData("package.json", "Local", "package.json", null)]
    public void Parse_KnownForms(string argument, string kind, string location, string? version)
    {
        Assert.Equal(new MipSpec(Enum.Parse<MipSpecKind>(kind), location, version), MipSpec.Parse(argument));
    }

    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("a b")]
    [InlineData("name@..")]
    [InlineData("github:org/repo@-x")]
    [InlineData("name?x=1")]
    [InlineData("bad\u001b[2J")]
    public void Parse_NotAPackage_Refused(string argument)
    {
        Assert.Throws<MipPackageException>(() => MipSpec.Parse(argument));
    }

    [Theory]
    [InlineData("github:org/repo/package.json", null, "http://127.0.0.1:9/gh/org/repo/HEAD/package.json")]
    [InlineData("github:org/repo/a/b.py", "feature/x", "http://127.0.0.1:9/gh/org/repo/feature/x/a/b.py")]
    [InlineData("gitlab:org/repo/b.py", "v1", "http://127.0.0.1:9/gl/org/repo/-/raw/v1/b.py")]
    [InlineData("github:org/repo/a b#?.py", null, "http://127.0.0.1:9/gh/org/repo/HEAD/a%20b%23%3F.py")]
    public void Rewrite_MapsOntoTheBase(string location, string? version, string expected)
    {
        Assert.Equal(expected, MipSpec.Rewrite(location, version, Options).AbsoluteUri);
    }

    [Theory]
    [InlineData("github:org/../x.py", null)]
    [InlineData("github:org/repo", null)]
    [InlineData("github:org/repo/x.py", "../../other")]
    [InlineData("ftp://host/x.py", null)]
    [InlineData("file:///etc/passwd", null)]
    public void Rewrite_NotAFetchableUrl_Refused(string location, string? version)
    {
        Assert.Throws<MipPackageException>(() => MipSpec.Rewrite(location, version, Options));
    }

    [Fact]
    public void Resolve_RelativeUrl_AfterThePackagesFolder_BeforeMapping()
    {
        Assert.Equal("github:org/repo/sub/lib/x.py", MipSpec.Resolve("github:org/repo/sub/package.json", "lib/x.py"));
        Assert.Equal("https://other/x.py", MipSpec.Resolve("github:org/repo/package.json", "https://other/x.py"));
        Assert.Throws<MipPackageException>(() => MipSpec.Resolve("https://h/p/package.json", "../x.py"));
        Assert.Throws<MipPackageException>(() => MipSpec.Resolve("https://h/p/package.json", "/x.py"));
    }

    [Fact]
    public void IndexUrls_V2Layout()
    {
        var index = new Uri("http://127.0.0.1:9/pi/v2");
        Assert.Equal("http://127.0.0.1:9/pi/v2/package/6/aioble/latest.json", MipSpec.IndexPackage(index, "6", "aioble", null).AbsoluteUri);
        Assert.Equal("http://127.0.0.1:9/pi/v2/file/ab/abcdef12", MipSpec.IndexFile(index, "abcdef12").AbsoluteUri);
    }

    [Fact]
    public void Manifest_Parse_HashesUrlsDepsVersion()
    {
        var manifest = PackageManifest.Parse(Encoding.UTF8.GetBytes("""
            {"hashes": [["a/b.mpy", "ABCDEF12"]], "urls": [["c.py", "github:o/r/c.py"]], "deps": [["x", "latest"], ["y"], ["z", null]], "version": "1.0", "other": 1}
            """), "test");

        Assert.Equal([("a/b.mpy", "abcdef12")], manifest.Hashes);
        Assert.Equal([("c.py", "github:o/r/c.py")], manifest.Urls);
        Assert.Equal([("x", "latest"), ("y", null), ("z", null)], manifest.Deps);
        Assert.Equal("1.0", manifest.Version);
    }

    [Theory]
    [InlineData("""{"hashes": [["../x.py", "abcdef12"]]}""")]
    [InlineData("""{"hashes": [["/x.py", "abcdef12"]]}""")]
    [InlineData("""{"hashes": [["a//x.py", "abcdef12"]]}""")]
    [InlineData("""{"hashes": [["a/./x.py", "abcdef12"]]}""")]
    [InlineData("""{"urls": [["a\\..\\x.py", "x.py"]]}""")]
    [InlineData("""{"urls": [["a\u0000.py", "x.py"]]}""")]
    [InlineData("""{"hashes": [["x.py", "abc"]]}""")]
    [InlineData("""{"hashes": [["x.py", "abcdef1/"]]}""")]
    [InlineData("""{"hashes": [["x.py", 5]]}""")]
    [InlineData("""{"hashes": "x"}""")]
    [InlineData("""[1, 2]""")]
    [InlineData("""{"hashes": [""")]
    public void Manifest_Parse_Refused(string json)
    {
        Assert.Throws<MipPackageException>(() => PackageManifest.Parse(Encoding.UTF8.GetBytes(json), "test"));
    }
}
