using System.Net;
using System.Text;
using System.Text.Json;
using WebRepl.Device;
using WebRepl.Repl;
using WebRepl.Tests.Support;

namespace WebRepl.Tests.Vectors;

/// <summary>
/// The client's raw REPL against a real <see cref="WebReplServer"/> whose console plays
/// <c>tests/vectors/raw-paste.json</c>: raw-paste's flow control and end (an early one too), the refusals, the plain
/// raw REPL. The pages' unit tests play the same transcripts.
/// </summary>
public sealed class RawPasteVectorTests
{
    private static readonly JsonElement Vectors = VectorFile.Load("raw-paste.json");

    public static TheoryData<string> Transcripts => VectorFile.Items("raw-paste.json", "transcripts");

    public static TheoryData<string> Refusals => VectorFile.Items("raw-paste.json", "refused");

    private static int Window => Vectors.GetProperty("window").GetInt32();

    [Theory]
    [MemberData(nameof(Transcripts))]
    public async Task ExecAsync_Transcript_SendsTheCodeWithinTheWindows_ReturnsTheOutput(string json)
    {
        using var cts = TestTimeout.Start();
        var transcript = VectorFile.Parse(json);
        string code = transcript.GetProperty("code").GetString()!;
        string stderr = transcript.GetProperty("stderr").GetString()!;
        var console = new TranscriptConsole(Window, transcript);
        await using var board = new Board(console);
        await using var client = await board.ConnectAsync(cts.Token);

        string? stdout = null;
        string traceback = string.Empty;
        try
        {
            stdout = await client.ExecAsync(code, cts.Token);
        }
        catch (WebReplExecutionException ex)
        {
            traceback = ex.Traceback;
            stdout = ex.Output;
        }

        Assert.Empty(console.Errors);
        Assert.Equal(transcript.GetProperty("stdout").GetString(), stdout);
        Assert.Equal(stderr, traceback);
        Assert.Equal([(code, true)], console.Programs);
    }

    [Fact]
    public async Task ExecAsync_SecondRunThatFitsTheWindow_GoesInOneWriteAndKeepsTheTranscript()
    {
        // After one raw-paste the client sends the request, the code and its end at once when they fit the window:
        // the board reads them in order all the same.
        using var cts = TestTimeout.Start();
        var transcript = Vectors.GetProperty("transcripts")[0];
        string code = transcript.GetProperty("code").GetString()!;
        var console = new TranscriptConsole(Window, transcript);
        await using var board = new Board(console);
        await using var client = await board.ConnectAsync(cts.Token);

        await client.ExecAsync(code, cts.Token);
        string second = await client.ExecAsync(code, cts.Token);

        Assert.Empty(console.Errors);
        Assert.Equal(transcript.GetProperty("stdout").GetString(), second);
        Assert.Equal([(code, true), (code, true)], console.Programs);
    }

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task ExecAsync_RawPasteRefused_RunsTheCodeThroughThePlainRawRepl(string json)
    {
        using var cts = TestTimeout.Start();
        var refusal = VectorFile.Parse(json);
        var plain = Vectors.GetProperty("plain");
        string code = plain.GetProperty("code").GetString()!;
        var console = new TranscriptConsole(Window, refusal: refusal.GetProperty("answer").Bytes(), plain: c => c == code ? plain.GetProperty("reply").Bytes()[2..] : null);
        await using var board = new Board(console);
        await using var client = await board.ConnectAsync(cts.Token);

        string stdout = await client.ExecAsync(code, cts.Token);

        Assert.Empty(console.Errors);
        Assert.Equal(plain.GetProperty("stdout").GetString(), stdout);
        Assert.Equal([(code, false)], console.Programs);
    }

    [Fact]
    public void Vectors_AreThere()
    {
        Assert.NotEqual(0, Vectors.GetProperty("transcripts").GetArrayLength());
        Assert.NotEqual(0, Vectors.GetProperty("refused").GetArrayLength());
        Assert.Equal("raw REPL; CTRL-B to exit\r\n>", Encoding.ASCII.GetString(Vectors.GetProperty("rawBanner").Bytes()));
    }

    /// <summary>A real <see cref="WebReplServer"/> on 127.0.0.1 with the transcript console.</summary>
    private sealed class Board : IAsyncDisposable
    {
        private readonly string _root = Directory.CreateTempSubdirectory("webrepl-vectors-").FullName;
        private readonly WebReplServer _server;

        public Board(TranscriptConsole console)
        {
            _server = new WebReplServer(
                new WebReplServerOptions { Password = LoopbackServer.Password, EndPoint = new IPEndPoint(IPAddress.Loopback, 0) },
                console,
                new DirectoryFileStore(_root));
            _server.Start();
        }

        public Task<WebReplClient> ConnectAsync(CancellationToken cancellationToken) =>
            WebReplClient.ConnectAndLoginAsync($"127.0.0.1:{_server.LocalEndPoint.Port}", LoopbackServer.Password, cancellationToken: cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await _server.DisposeAsync();
            Directory.Delete(_root, recursive: true);
        }
    }
}
