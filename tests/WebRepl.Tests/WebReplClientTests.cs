using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using WebRepl.Device;
using WebRepl.Protocol;
using WebRepl.Tests.Support;

namespace WebRepl.Tests;

/// <summary>The client against a real <see cref="WebReplServer"/> (or a scripted board) over loopback sockets.</summary>
public sealed class WebReplClientTests
{
    private static readonly WebReplClientOptions FastReplies = new() { ReplyTimeout = TimeSpan.FromMilliseconds(500) };

    // ---- Login ----

    [Fact]
    public async Task ConnectAndLoginAsync_RightPassword_LeavesReplPromptInOutput()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();

        await using var client = await server.ConnectAndLoginAsync(cts.Token);

        Assert.Equal(">>> ", await ReadOutputAsync(client, 4, cts.Token));
        Assert.True(server.Server.HasSession);
    }

    [Fact]
    public async Task ConnectAndLoginAsync_WrongPassword_ThrowsAuthenticationSayingPasswordRefused()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();

        var ex = await Assert.ThrowsAsync<WebReplAuthenticationException>(
            () => WebReplClient.ConnectAndLoginAsync(server.Target, "wrong", cancellationToken: cts.Token));

        Assert.Contains("refused the password", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoginAsync_WrongPassword_FreesTheBoardForTheNextClient()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using (var first = await WebReplClient.ConnectAsync(server.Target, cancellationToken: cts.Token))
        {
            await Assert.ThrowsAsync<WebReplAuthenticationException>(() => first.LoginAsync("wrong", cts.Token));
            await first.Completion.WaitAsync(cts.Token);
        }

        await using var second = await server.ConnectAndLoginAsync(cts.Token);
        Assert.Equal(">>> ", await ReadOutputAsync(second, 4, cts.Token));
    }

    [Fact]
    public async Task LoginAsync_PasswordLongerThan64Bytes_ThrowsBeforeSendingAnything()
    {
        using var cts = TestTimeout.Start();
        var logs = new CapturingLoggerProvider();
        await using var server = LoopbackServer.Start(configure: o => o with { LoggerFactory = logs });
        await using var client = await WebReplClient.ConnectAsync(server.Target, cancellationToken: cts.Token);

        var ex = await Assert.ThrowsAsync<WebReplAuthenticationException>(() => client.LoginAsync(new string('p', 65), cts.Token));

        Assert.Contains("at most 9 characters on a board (the virtual board too), and the client sends at most 64 bytes", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Not sent", ex.Message, StringComparison.Ordinal);
        // Had the long password reached the board, it would have refused it and dropped the connection;
        // instead the same connection still takes the right password.
        await client.LoginAsync(LoopbackServer.Password, cts.Token);
        Assert.Equal(">>> ", await ReadOutputAsync(client, 4, cts.Token));
        Assert.DoesNotContain(logs.Entries, e => e.EventId.Id == 105 || e.Message.Contains("wrong password", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ConnectAndLoginAsync_PasswordLongerThan64Bytes_ThrowsWithoutConnecting()
    {
        using var cts = TestTimeout.Start();
        int connections = 0;
        await using var board = new ScriptedBoard((_, _) =>
        {
            Interlocked.Increment(ref connections);
            return Task.CompletedTask;
        });

        await Assert.ThrowsAsync<WebReplAuthenticationException>(
            () => WebReplClient.ConnectAndLoginAsync(board.Target, new string('p', 65), cancellationToken: cts.Token));

        // A connection that was made would be accepted by now: prove the board is reachable, then count.
        await using (var probe = await RawPeer.ConnectAsync(new IPEndPoint(IPAddress.Loopback, board.Port), cts.Token))
        {
            await probe.ReadToEndAsync(cts.Token);
        }

        Assert.Equal(1, Volatile.Read(ref connections));
    }

    [Fact]
    public async Task ConnectAndLoginAsync_HostName_ResolvesAndConnects()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();

        await using var client = await WebReplClient.ConnectAndLoginAsync($"localhost:{server.EndPoint.Port}", LoopbackServer.Password, cancellationToken: cts.Token);

        Assert.Equal(">>> ", await ReadOutputAsync(client, 4, cts.Token));
    }

    [Fact]
    public async Task ConnectAndLoginAsync_IPv6Loopback_Works()
    {
        Assert.SkipUnless(Socket.OSSupportsIPv6, "IPv6 is not available here.");
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start(configure: o => o with { EndPoint = new IPEndPoint(IPAddress.IPv6Loopback, 0) });

        await using var client = await WebReplClient.ConnectAndLoginAsync($"[::1]:{server.EndPoint.Port}", LoopbackServer.Password, cancellationToken: cts.Token);

        Assert.Equal(">>> ", await ReadOutputAsync(client, 4, cts.Token));
        Assert.Equal(new WebReplVersion(1, 24, 1), await client.GetVersionAsync(cts.Token));
    }

    [Fact]
    public async Task LoginAsync_NineCharacterPassword_Succeeds()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start(configure: o => o with { Password = "123456789" });

        await using var client = await WebReplClient.ConnectAndLoginAsync(server.Target, "123456789", cancellationToken: cts.Token);

        Assert.Equal(">>> ", await ReadOutputAsync(client, 4, cts.Token));
    }

    [Theory]
    [InlineData("pass\rword")]
    [InlineData("pass\n")]
    public async Task LoginAsync_PasswordWithLineEnd_ThrowsBeforeSending(string password)
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var client = await WebReplClient.ConnectAsync(server.Target, cancellationToken: cts.Token);

        await Assert.ThrowsAsync<WebReplAuthenticationException>(() => client.LoginAsync(password, cts.Token));

        await client.LoginAsync(LoopbackServer.Password, cts.Token);
    }

    [Fact]
    public async Task LoginAsync_PromptsSplitAcrossFrames_SendsPasswordWithCarriageReturnAndSucceeds()
    {
        using var cts = TestTimeout.Start();
        var sent = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            await peer.SendTextAsync("Pass", token);
            await peer.SendTextAsync("word: ", token);
            var frame = await peer.ReadFrameAsync(token);
            sent.TrySetResult([.. frame.Header[..1], .. frame.Payload]);
            await peer.SendTextAsync("\r\nWebREPL con", token);
            await peer.SendTextAsync("nected\r\n>", token);
            await peer.SendTextAsync(">> ", token);
            await peer.ReadToEndAsync(token);
        });
        await using var client = await WebReplClient.ConnectAsync(board.Target, cancellationToken: cts.Token);

        await client.LoginAsync("pw", cts.Token);

        Assert.Equal(Hex.Parse("81").Concat("pw\r"u8.ToArray()), await sent.Task.WaitAsync(cts.Token));
        Assert.Equal(">>> ", await ReadOutputAsync(client, 4, cts.Token));
    }

    [Fact]
    public async Task LoginAsync_TraceLoggingOnBothSides_NeverLogsPasswordsOrInput()
    {
        using var cts = TestTimeout.Start();
        const string Right = "Kx7rightQ";
        const string Wrong = "Zq9wrongP";
        const string TooLong = "Yw3TooLongPw";
        const string Typed = "Typed-4242";
        var logs = new CapturingLoggerProvider();
        var options = new WebReplClientOptions { LoggerFactory = logs };
        await using (var server = LoopbackServer.Start(configure: o => o with { Password = Right, LoggerFactory = logs }))
        {
            await Assert.ThrowsAsync<WebReplAuthenticationException>(
                () => WebReplClient.ConnectAndLoginAsync(server.Target, Wrong, options, cts.Token));
            await Assert.ThrowsAsync<WebReplAuthenticationException>(
                () => WebReplClient.ConnectAndLoginAsync(server.Target, TooLong, options, cts.Token));
            await using var client = await WebReplClient.ConnectAndLoginAsync(server.Target, Right, options, cts.Token);
            await client.SendInputAsync(Typed, cts.Token);
            Assert.EndsWith(Typed, await ReadOutputAsync(client, 4 + Typed.Length, cts.Token), StringComparison.Ordinal);
            await client.PutFileAsync(new MemoryStream([1, 2, 3]), "a.bin", cancellationToken: cts.Token);
        }

        var entries = logs.Entries;
        // The capture works: both sides logged the login, and the server the refused password.
        Assert.Contains(entries, e => e.Category.EndsWith("WebReplClient", StringComparison.Ordinal) && e.Message.Contains("Logged in", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Category.EndsWith("WebReplServer", StringComparison.Ordinal) && e.EventId.Id == 105);
        foreach (string secret in new[] { Right, Wrong, TooLong, Typed })
        {
            Assert.DoesNotContain(entries, e => e.AllText.Contains(secret, StringComparison.Ordinal));
        }
    }

    // ---- Terminal ----

    [Fact]
    public async Task SendInputAsync_Text_IsEchoedByteExact()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
        await ReadOutputAsync(client, 4, cts.Token);

        byte[] input = Encoding.UTF8.GetBytes("print('é')\r\x03");

        await client.SendInputAsync(input, cts.Token);

        Assert.Equal(input, await ReadOutputBytesAsync(client, input.Length, cts.Token));
    }

    [Fact]
    public async Task Output_BytesThatAreNotUtf8_ArriveByteExactAndConnectionSurvives()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
        await ReadOutputAsync(client, 4, cts.Token);

        await server.Console.PrintAsync(new byte[] { 0xff, 0xfe, 0x00, 0x80 }, cts.Token);

        Assert.Equal(new byte[] { 0xff, 0xfe, 0x00, 0x80 }, await ReadOutputBytesAsync(client, 4, cts.Token));
        await client.SendInputAsync("still here", cts.Token);
        Assert.Equal("still here", await ReadOutputAsync(client, 10, cts.Token));
        Assert.False(client.Completion.IsCompleted);
    }

    [Fact]
    public async Task Output_MultiByteCharacterSplitAcrossFrames_ArrivesByteExact()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
        await ReadOutputAsync(client, 4, cts.Token);

        // "A€B": € is e2 82 ac; each frame alone is invalid UTF-8.
        await server.Console.PrintAsync(new byte[] { 0x41, 0xe2 }, cts.Token);
        await server.Console.PrintAsync(new byte[] { 0x82 }, cts.Token);
        await server.Console.PrintAsync(new byte[] { 0xac, 0x42 }, cts.Token);

        byte[] output = await ReadOutputBytesAsync(client, 5, cts.Token);
        Assert.Equal(Hex.Parse("41 e282ac 42"), output);
        Assert.Equal("A€B", Encoding.UTF8.GetString(output));
        await client.SendInputAsync("ok", cts.Token);
        Assert.Equal("ok", await ReadOutputAsync(client, 2, cts.Token));
    }

    [Fact]
    public async Task Output_PrintedAsSoonAsLoginReturns_IsNotLost()
    {
        using var cts = TestTimeout.Start(30);
        await using var server = LoopbackServer.Start();
        for (int i = 0; i < 50; i++)
        {
            await using var client = await server.ConnectAndLoginAsync(cts.Token);

            // A board forwards everything printed once it has sent "WebREPL connected".
            await server.Console.PrintAsync(Encoding.ASCII.GetBytes($"[{i}]"), cts.Token);

            using var read = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
            read.CancelAfter(TimeSpan.FromSeconds(5)); // a lost print shows as a read that never completes
            Assert.Equal($">>> [{i}]", await ReadOutputAsync(client, 4 + $"[{i}]".Length, read.Token));
            await client.DisposeAsync();
            await WaitUntilAsync(() => !server.Server.HasSession, cts.Token);
        }
    }

    [Fact]
    public async Task Output_PrintLargerThanOneBoardFrame_ArrivesWhole()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
        await ReadOutputAsync(client, 4, cts.Token);
        byte[] big = new byte[150_000];
        new Random(7).NextBytes(big);

        await server.Console.PrintAsync(big, cts.Token);

        Assert.Equal(big, await ReadOutputBytesAsync(client, big.Length, cts.Token));
    }

    [Fact]
    public async Task Output_BoardStops_ReadAsyncThrowsConnectionExceptionAndCompletionEnds()
    {
        using var cts = TestTimeout.Start();
        var server = LoopbackServer.Start();
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
        await ReadOutputAsync(client, 4, cts.Token);

        await server.DisposeAsync();

        await client.Completion.WaitAsync(cts.Token);
        await Assert.ThrowsAsync<WebReplConnectionException>(async () => await client.Output.ReadAsync(cts.Token));
        Assert.Contains("closed", client.CloseDescription, StringComparison.Ordinal);
        var ex = await Assert.ThrowsAsync<WebReplConnectionException>(() => client.GetVersionAsync(cts.Token));
        Assert.Contains("Connect again", ex.Message, StringComparison.Ordinal);
    }

    // ---- File transfer ----

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(512)]
    [InlineData(1024 + 1)]
    [InlineData(65_536)]
    [InlineData(1024 * 1024)]
    public async Task PutAndGet_RandomBinaryOfSize_RoundTripsByteExact(int size)
    {
        using var cts = TestTimeout.Start(30);
        await using var server = LoopbackServer.Start();
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
        byte[] data = new byte[size];
        new Random(size).NextBytes(data);

        await client.PutFileAsync(new MemoryStream(data), "data.bin", cancellationToken: cts.Token);

        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(server.Root, "data.bin"), cts.Token));
        var back = new MemoryStream();
        long received = await client.GetFileAsync("data.bin", back, cancellationToken: cts.Token);
        Assert.Equal(size, received);
        Assert.Equal(data, back.ToArray());
        Assert.Equal(["data.bin"], server.AllFiles().Select(Path.GetFileName));
    }

    [Fact]
    public async Task GetFileAsync_ToLocalPath_WritesFileAndReplacesExisting()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await File.WriteAllTextAsync(Path.Combine(server.Root, "main.py"), "print('board')\n", cts.Token);
        string local = Path.Combine(server.Outside, "main.py");
        await File.WriteAllTextAsync(local, "old local content that is longer than the new one", cts.Token);
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
        var progress = new SyncProgress();

        long length = await client.GetFileAsync("main.py", local, progress, cts.Token);

        Assert.Equal(15, length);
        Assert.Equal("print('board')\n", await File.ReadAllTextAsync(local, cts.Token));
        Assert.Equal(15, progress.Last);
        Assert.Equal([local], Directory.GetFiles(server.Outside));
    }

    [Fact]
    public async Task PutFileAsync_FromLocalPath_ReplacesBoardFileAndReportsProgress()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await File.WriteAllTextAsync(Path.Combine(server.Root, "boot.py"), "old", cts.Token);
        string local = Path.Combine(server.Outside, "boot.py");
        byte[] data = new byte[3000];
        new Random(3).NextBytes(data);
        await File.WriteAllBytesAsync(local, data, cts.Token);
        await using var client = await server.ConnectAndLoginAsync(cts.Token, new WebReplClientOptions { PutChunkSize = 1000 });
        var progress = new SyncProgress();

        await client.PutFileAsync(local, "/boot.py", progress, cts.Token);

        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(server.Root, "boot.py"), cts.Token));
        Assert.Equal([1000L, 2000L, 3000L], progress.Reports);
    }

    [Fact]
    public async Task PutFileAsync_NonSeekableStream_SendsWholeContent()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
        byte[] data = Encoding.ASCII.GetBytes("streamed content");

        await client.PutFileAsync(new NonSeekableStream(data), "s.txt", cancellationToken: cts.Token);

        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(server.Root, "s.txt"), cts.Token));
    }

    [Fact]
    public async Task PutAndGet_NameOf63Bytes_Works()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
        string name = new string('n', 60) + ".py";

        await client.PutFileAsync(new MemoryStream([42]), name, cancellationToken: cts.Token);
        var back = new MemoryStream();
        await client.GetFileAsync(name, back, cancellationToken: cts.Token);

        Assert.True(File.Exists(Path.Combine(server.Root, name)));
        Assert.Equal([42], back.ToArray());
    }

    [Fact]
    public async Task PutAndGet_NameOf64Bytes_ThrowBeforeSendingAndConnectionStaysUsable()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
        string name = new string('n', 61) + ".py";
        string local = Path.Combine(server.Outside, "kept.txt");
        await File.WriteAllTextAsync(local, "kept", cts.Token);

        var put = await Assert.ThrowsAsync<ArgumentException>(() => client.PutFileAsync(new MemoryStream([1]), name, cancellationToken: cts.Token));
        var get = await Assert.ThrowsAsync<ArgumentException>(() => client.GetFileAsync(name, new MemoryStream(), cancellationToken: cts.Token));
        await Assert.ThrowsAsync<ArgumentException>(() => client.GetFileAsync(name, local, cancellationToken: cts.Token));

        Assert.Contains("at most 63", put.Message, StringComparison.Ordinal);
        Assert.Contains("64 bytes", get.Message, StringComparison.Ordinal);
        // Nothing reached the board: the session goes on, nothing was created, nothing was overwritten.
        Assert.Equal(new WebReplVersion(1, 24, 1), await client.GetVersionAsync(cts.Token));
        Assert.Equal([local], server.AllFiles());
        Assert.Equal("kept", await File.ReadAllTextAsync(local, cts.Token));
    }

    [Fact]
    public async Task PutAndGet_NonAsciiNameInExistingFolder_Works()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        Directory.CreateDirectory(Path.Combine(server.Root, "données"));
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
        byte[] data = Encoding.UTF8.GetBytes("contenu: é à ü\n");

        await client.PutFileAsync(new MemoryStream(data), "données/é.txt", cancellationToken: cts.Token);
        var back = new MemoryStream();
        await client.GetFileAsync("/données/é.txt", back, cancellationToken: cts.Token);

        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(server.Root, "données", "é.txt"), cts.Token));
        Assert.Equal(data, back.ToArray());
    }

    [Fact]
    public async Task GetFileAsync_MissingFile_ThrowsRemoteExceptionNamingThePath()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
        string local = Path.Combine(server.Outside, "nope.py");

        var ex = await Assert.ThrowsAsync<WebReplRemoteException>(() => client.GetFileAsync("lib/nope.py", local, cancellationToken: cts.Token));

        Assert.Contains("'lib/nope.py'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
        Assert.Empty(server.AllFiles());
        Assert.Contains(server.Console.Notices, n => n.Contains("ENOENT", StringComparison.Ordinal));
        // The board dropped the connection, as the firmware does: later requests say so.
        await client.Completion.WaitAsync(cts.Token);
        await Assert.ThrowsAsync<WebReplConnectionException>(() => client.GetVersionAsync(cts.Token));
    }

    [Fact]
    public async Task GetFileAsync_Folder_ThrowsRemoteException()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        Directory.CreateDirectory(Path.Combine(server.Root, "lib"));
        await using var client = await server.ConnectAndLoginAsync(cts.Token);

        await Assert.ThrowsAsync<WebReplRemoteException>(() => client.GetFileAsync("lib", new MemoryStream(), cancellationToken: cts.Token));
    }

    [Fact]
    public async Task PutFileAsync_MissingFolder_ThrowsAndCreatesNothing()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var client = await server.ConnectAndLoginAsync(cts.Token);

        var ex = await Assert.ThrowsAsync<WebReplRemoteException>(
            () => client.PutFileAsync(new MemoryStream([1, 2, 3]), "nolib/x.py", cancellationToken: cts.Token));

        Assert.Contains("'nolib/x.py'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("folder probably does not exist", ex.Message, StringComparison.Ordinal);
        Assert.Empty(server.AllFiles());
    }

    [Fact]
    public async Task GetFileAsync_ServerFailsInTheMiddle_ThrowsAndKeepsExistingLocalFile()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start(files: root => new FaultyFileStore(root, failAfterBytes: 1000));
        byte[] data = new byte[10_000];
        new Random(1).NextBytes(data);
        await File.WriteAllBytesAsync(Path.Combine(server.Root, "big.bin"), data, cts.Token);
        string local = Path.Combine(server.Outside, "big.bin");
        await File.WriteAllTextAsync(local, "previous version", cts.Token);
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
        var progress = new SyncProgress();

        var ex = await Assert.ThrowsAnyAsync<WebReplException>(() => client.GetFileAsync("big.bin", local, progress, cts.Token));

        Assert.IsType<WebReplConnectionException>(ex);
        Assert.InRange(progress.Last, 1, 999);
        Assert.Equal("previous version", await File.ReadAllTextAsync(local, cts.Token));
        Assert.Equal([local], Directory.GetFiles(server.Outside));
    }

    [Fact]
    public async Task GetFileAsync_ServerFailsInTheMiddleWithoutLocalFile_LeavesNoPartialFile()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start(files: root => new FaultyFileStore(root, failAfterBytes: 600));
        await File.WriteAllBytesAsync(Path.Combine(server.Root, "big.bin"), new byte[5000], cts.Token);
        string local = Path.Combine(server.Outside, "big.bin");
        await using var client = await server.ConnectAndLoginAsync(cts.Token);

        await Assert.ThrowsAnyAsync<WebReplException>(() => client.GetFileAsync("big.bin", local, cancellationToken: cts.Token));

        Assert.Empty(Directory.GetFiles(server.Outside));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task GetFileAsync_BoardDropsInTheMiddleOfAFrame_ThrowsConnectionExceptionAndLeavesNoFile(bool reset)
    {
        using var cts = TestTimeout.Start();
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            await peer.AcceptLoginAsync(token);
            await peer.ReadBytesAsync(WebReplRequest.Length, 0x2, token);
            await peer.SendBinaryAsync(Hex.Parse("57420000"), token);
            await peer.ReadBytesAsync(1, 0x2, token);
            await peer.SendBinaryAsync(Hex.Parse("0001").Concat(new byte[256]).ToArray(), token);
            await peer.ReadBytesAsync(1, 0x2, token);
            byte[] frame = RawPeer.BuildFrame(0x2, Hex.Parse("0001").Concat(new byte[256]).ToArray(), fin: true, mask: false);
            await peer.WriteAsync(frame.AsMemory(0, 100), token);
            if (reset)
            {
                peer.Socket.LingerState = new LingerOption(true, 0);
            }

            peer.Socket.Shutdown(SocketShutdown.Both);
            peer.Socket.Close();
        });
        string folder = Directory.CreateTempSubdirectory("webrepl-tests-").FullName;
        try
        {
            await using var client = await WebReplClient.ConnectAndLoginAsync(board.Target, "any", cancellationToken: cts.Token);
            var progress = new SyncProgress();

            await Assert.ThrowsAsync<WebReplConnectionException>(
                () => client.GetFileAsync("f.bin", Path.Combine(folder, "f.bin"), progress, cts.Token));

            Assert.Equal(256, progress.Last);
            Assert.Empty(Directory.GetFiles(folder));
            Assert.Null(board.ScriptError);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task GetFileAsync_StatusWithErrorCode_ThrowsRemoteExceptionWithTheCode()
    {
        using var cts = TestTimeout.Start();
        await using var board = BoardAnsweringRequestWith(Hex.Parse("57420200"));
        await using var client = await WebReplClient.ConnectAndLoginAsync(board.Target, "pw", cancellationToken: cts.Token);

        var ex = await Assert.ThrowsAsync<WebReplRemoteException>(() => client.GetFileAsync("x", new MemoryStream(), cancellationToken: cts.Token));

        Assert.Contains("error code 2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetFileAsync_MalformedStatus_ThrowsProtocolException()
    {
        using var cts = TestTimeout.Start();
        await using var board = BoardAnsweringRequestWith(Hex.Parse("58580000"));
        await using var client = await WebReplClient.ConnectAndLoginAsync(board.Target, "pw", cancellationToken: cts.Token);

        var ex = await Assert.ThrowsAsync<WebReplProtocolException>(() => client.GetFileAsync("x", new MemoryStream(), cancellationToken: cts.Token));

        Assert.Contains("58580000", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetFileAsync_TwoAtOnce_AreSerialisedAndBothSucceed()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        byte[] a = new byte[20_000];
        byte[] b = new byte[30_000];
        new Random(10).NextBytes(a);
        new Random(11).NextBytes(b);
        await File.WriteAllBytesAsync(Path.Combine(server.Root, "a"), a, cts.Token);
        await File.WriteAllBytesAsync(Path.Combine(server.Root, "b"), b, cts.Token);
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
        var backA = new MemoryStream();
        var backB = new MemoryStream();

        await Task.WhenAll(
            client.GetFileAsync("a", backA, cancellationToken: cts.Token),
            client.GetFileAsync("b", backB, cancellationToken: cts.Token),
            client.GetVersionAsync(cts.Token));

        Assert.Equal(a, backA.ToArray());
        Assert.Equal(b, backB.ToArray());
    }

    [Fact]
    public async Task SendInputAsync_DuringGet_EchoArrivesAndGetSucceeds()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        byte[] data = new byte[200_000];
        new Random(5).NextBytes(data);
        await File.WriteAllBytesAsync(Path.Combine(server.Root, "d"), data, cts.Token);
        await using var client = await server.ConnectAndLoginAsync(cts.Token);
        await ReadOutputAsync(client, 4, cts.Token);
        var back = new MemoryStream();

        var get = client.GetFileAsync("d", back, cancellationToken: cts.Token);
        await client.SendInputAsync("typing", cts.Token);

        Assert.Equal("typing", await ReadOutputAsync(client, 6, cts.Token));
        await get;
        Assert.Equal(data, back.ToArray());
    }

    // ---- Board control ----

    [Fact]
    public async Task GetVersionAsync_ReturnsTheConsolesVersion()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start(console: new EchoConsole(new WebReplVersion(1, 22, 3)));
        await using var client = await server.ConnectAndLoginAsync(cts.Token);

        Assert.Equal(new WebReplVersion(1, 22, 3), await client.GetVersionAsync(cts.Token));
        Assert.Equal(new WebReplVersion(1, 22, 3), await client.GetVersionAsync(cts.Token));
    }

    // ---- One connection at a time ----

    [Fact]
    public async Task LoginAsync_SecondConnection_ThrowsConnectionExceptionAndBoardPrintsRejection()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var first = await server.ConnectAndLoginAsync(cts.Token);
        Assert.Equal(">>> ", await ReadOutputAsync(first, 4, cts.Token));
        await using var second = await WebReplClient.ConnectAsync(server.Target, cancellationToken: cts.Token);

        var ex = await Assert.ThrowsAsync<WebReplConnectionException>(() => second.LoginAsync(LoopbackServer.Password, cts.Token));

        Assert.Contains("Another WebREPL client", ex.Message, StringComparison.Ordinal);
        string notice = Assert.Single(server.Console.Notices);
        Assert.Matches(@"Concurrent WebREPL connection from \('127\.0\.0\.1', \d+\) rejected", notice);
        // A board prints the notice on its console, which the first client sees; and the first session goes on.
        string seen = await ReadOutputUntilAsync(first, "rejected\r\n", cts.Token);
        Assert.Contains("Concurrent WebREPL connection", seen, StringComparison.Ordinal);
        await first.SendInputAsync("x", cts.Token);
        Assert.Equal("x", await ReadOutputAsync(first, 1, cts.Token));
    }

    [Fact]
    public async Task ConnectAndLoginAsync_AfterFirstClientLeaves_Succeeds()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using (var first = await server.ConnectAndLoginAsync(cts.Token))
        {
            await Assert.ThrowsAsync<WebReplConnectionException>(() => server.ConnectAndLoginAsync(cts.Token));
        }

        await WaitUntilAsync(() => !server.Server.HasSession, cts.Token);
        await using var next = await server.ConnectAndLoginAsync(cts.Token);
        Assert.Equal(">>> ", await ReadOutputAsync(next, 4, cts.Token));
    }

    [Fact]
    public async Task ConnectAndLoginAsync_BoardStillTakenForAMoment_TriesAgainAndLogsIn()
    {
        // `webrepl reset` then `webrepl exec` at once: the board ends the first session a moment after its client
        // left, and turns the next one away meanwhile. Here the first client leaves 150 ms after the second began.
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        var first = await server.ConnectAndLoginAsync(cts.Token);
        var leave = Task.Run(async () =>
        {
            await Task.Delay(150, cts.Token);
            await first.DisposeAsync();
        }, cts.Token);

        await using var next = await server.ConnectAndLoginAsync(cts.Token);
        await leave;
        Assert.NotEmpty(server.Console.Notices); // it was turned away at least once
        await next.SendInputAsync("y", cts.Token);
        Assert.EndsWith("y", await ReadOutputUntilAsync(next, "y", cts.Token), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectAndLoginAsync_BoardTakenThroughout_GivesUpAfterTheRetryWindow_FirstSessionGoesOn()
    {
        using var cts = TestTimeout.Start();
        await using var server = LoopbackServer.Start();
        await using var first = await server.ConnectAndLoginAsync(cts.Token);
        var started = System.Diagnostics.Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<WebReplConnectionException>(() =>
            server.ConnectAndLoginAsync(cts.Token, new WebReplClientOptions { BusyRetryWindow = TimeSpan.FromMilliseconds(400) }));

        Assert.Contains("Another WebREPL client", ex.Message, StringComparison.Ordinal);
        Assert.InRange(started.Elapsed, TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(5)); // 50 + 100 ms of waits at least
        Assert.InRange(server.Console.Notices.Count, 2, 4); // tried again, not forever
        await first.SendInputAsync("x", cts.Token);
        Assert.EndsWith("x", await ReadOutputUntilAsync(first, "x", cts.Token), StringComparison.Ordinal);
    }

    // ---- Timeouts ----

    [Fact]
    public async Task LoginAsync_BoardNeverPrompts_ThrowsTimeoutWithinReplyTimeout()
    {
        using var cts = TestTimeout.Start();
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            await peer.ReadToEndAsync(token);
        });
        await using var client = await WebReplClient.ConnectAsync(board.Target, FastReplies, cts.Token);
        var clock = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<WebReplTimeoutException>(() => client.LoginAsync("pw", cts.Token));

        AssertTookAboutReplyTimeout(clock);
        Assert.Contains("password", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetVersionAsync_BoardNeverAnswers_ThrowsTimeoutWithinReplyTimeout()
    {
        using var cts = TestTimeout.Start();
        await using var board = SilentBoardAfterLogin();
        await using var client = await WebReplClient.ConnectAndLoginAsync(board.Target, "pw", FastReplies, cts.Token);
        var clock = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<WebReplTimeoutException>(() => client.GetVersionAsync(cts.Token));

        AssertTookAboutReplyTimeout(clock);
        Assert.Contains("0.5 s", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PutFileAsync_BoardNeverAnswers_ThrowsRemoteExceptionWithinReplyTimeout()
    {
        using var cts = TestTimeout.Start();
        await using var board = SilentBoardAfterLogin();
        await using var client = await WebReplClient.ConnectAndLoginAsync(board.Target, "pw", FastReplies, cts.Token);
        var clock = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<WebReplRemoteException>(() => client.PutFileAsync(new MemoryStream([1]), "x", cancellationToken: cts.Token));

        AssertTookAboutReplyTimeout(clock);
        Assert.IsType<WebReplTimeoutException>(ex.InnerException);
    }

    [Fact]
    public async Task PutFileAsync_BoardNeverConfirmsData_ThrowsTimeoutWithinReplyTimeout()
    {
        using var cts = TestTimeout.Start();
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            await peer.AcceptLoginAsync(token);
            await peer.ReadBytesAsync(WebReplRequest.Length, 0x2, token);
            await peer.SendBinaryAsync(Hex.Parse("57420000"), token);
            await peer.ReadToEndAsync(token);
        });
        await using var client = await WebReplClient.ConnectAndLoginAsync(board.Target, "pw", FastReplies, cts.Token);
        var clock = Stopwatch.StartNew();

        await Assert.ThrowsAsync<WebReplTimeoutException>(() => client.PutFileAsync(new MemoryStream([1, 2]), "x", cancellationToken: cts.Token));

        AssertTookAboutReplyTimeout(clock);
    }

    [Fact]
    public async Task GetFileAsync_BoardNeverAnswers_ThrowsRemoteExceptionWithinReplyTimeout()
    {
        using var cts = TestTimeout.Start();
        await using var board = SilentBoardAfterLogin();
        await using var client = await WebReplClient.ConnectAndLoginAsync(board.Target, "pw", FastReplies, cts.Token);
        var clock = Stopwatch.StartNew();

        // A board sends nothing when it cannot open the file, so silence reads as a missing file.
        var ex = await Assert.ThrowsAsync<WebReplRemoteException>(() => client.GetFileAsync("x", new MemoryStream(), cancellationToken: cts.Token));

        AssertTookAboutReplyTimeout(clock);
        Assert.IsType<WebReplTimeoutException>(ex.InnerException);
        Assert.Contains("no reply within 0.5 s", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetFileAsync_BoardStopsBetweenChunks_ThrowsTimeoutWithinReplyTimeout()
    {
        using var cts = TestTimeout.Start();
        await using var board = new ScriptedBoard(async (peer, token) =>
        {
            await peer.AcceptWebSocketAsync(token);
            await peer.AcceptLoginAsync(token);
            await peer.ReadBytesAsync(WebReplRequest.Length, 0x2, token);
            await peer.SendBinaryAsync(Hex.Parse("57420000"), token);
            await peer.ReadToEndAsync(token);
        });
        await using var client = await WebReplClient.ConnectAndLoginAsync(board.Target, "pw", FastReplies, cts.Token);
        var clock = Stopwatch.StartNew();

        await Assert.ThrowsAsync<WebReplTimeoutException>(() => client.GetFileAsync("x", new MemoryStream(), cancellationToken: cts.Token));

        AssertTookAboutReplyTimeout(clock);
    }

    [Fact]
    public async Task GetVersionAsync_CallerCancels_ThrowsOperationCanceledNotTimeout()
    {
        using var cts = TestTimeout.Start();
        await using var board = SilentBoardAfterLogin();
        await using var client = await WebReplClient.ConnectAndLoginAsync(board.Target, "pw", new WebReplClientOptions { ReplyTimeout = TimeSpan.FromSeconds(30) }, cts.Token);
        using var caller = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        caller.CancelAfter(TimeSpan.FromMilliseconds(200));
        var clock = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetVersionAsync(caller.Token));

        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
    }

    // ---- Helpers ----

    private static ScriptedBoard SilentBoardAfterLogin() => new(async (peer, token) =>
    {
        await peer.AcceptWebSocketAsync(token);
        await peer.AcceptLoginAsync(token);
        await peer.ReadToEndAsync(token);
    });

    private static ScriptedBoard BoardAnsweringRequestWith(byte[] reply) => new(async (peer, token) =>
    {
        await peer.AcceptWebSocketAsync(token);
        await peer.AcceptLoginAsync(token);
        await peer.ReadBytesAsync(WebReplRequest.Length, 0x2, token);
        await peer.SendBinaryAsync(reply, token);
        await peer.ReadToEndAsync(token);
    });

    private static void AssertTookAboutReplyTimeout(Stopwatch clock)
    {
        // The reply timeout is 0.5 s: not much sooner (it waited), not much later (it did not hang).
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(3));
    }

    internal static async Task<byte[]> ReadOutputBytesAsync(WebReplClient client, int count, CancellationToken cancellationToken)
    {
        var bytes = new List<byte>();
        while (bytes.Count < count)
        {
            bytes.AddRange((await client.Output.ReadAsync(cancellationToken)).Span);
        }

        Assert.Equal(count, bytes.Count);
        return [.. bytes];
    }

    internal static async Task<string> ReadOutputAsync(WebReplClient client, int count, CancellationToken cancellationToken) =>
        Encoding.UTF8.GetString(await ReadOutputBytesAsync(client, count, cancellationToken));

    private static async Task<string> ReadOutputUntilAsync(WebReplClient client, string end, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        while (!text.ToString().EndsWith(end, StringComparison.Ordinal))
        {
            text.Append(Encoding.UTF8.GetString((await client.Output.ReadAsync(cancellationToken)).Span));
        }

        return text.ToString();
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(10, cancellationToken);
        }
    }

    /// <summary>Records reports as they are made (<see cref="Progress{T}"/> would post them later).</summary>
    private sealed class SyncProgress : IProgress<long>
    {
        public List<long> Reports { get; } = [];

        public long Last => Reports.Count == 0 ? 0 : Reports[^1];

        public void Report(long value) => Reports.Add(value);
    }

    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
