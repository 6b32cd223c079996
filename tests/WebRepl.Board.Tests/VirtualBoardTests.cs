using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace WebRepl.Board.Tests;

/// <summary>The virtual board, against the real MicroPython interpreter, over real loopback sockets.</summary>
public sealed class VirtualBoardTests : IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(60));
    private readonly string _root = TestBoards.NewRoot();
    private VirtualBoard _board = null!;

    private CancellationToken Token => _timeout.Token;

    public async ValueTask InitializeAsync() => _board = await TestBoards.StartAsync(_root, cancellationToken: Token);

    public async ValueTask DisposeAsync()
    {
        await _board.DisposeAsync();
        Directory.Delete(_root, recursive: true);
        _timeout.Dispose();
    }

    [Fact]
    public async Task Login_RightPassword_PrintRunsOnMicroPython()
    {
        await using var repl = await TestBoards.ConnectAsync(_board, Token);

        Assert.Equal("42", await repl.RunLineAsync("print(6*7)", Token));
        Assert.Contains("MicroPython", await repl.RunLineAsync("import sys; print(sys.implementation.name, sys.version)", Token), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_WrongPassword_IsRefused()
    {
        await Assert.ThrowsAsync<WebReplAuthenticationException>(() =>
            WebReplClient.ConnectAndLoginAsync($"127.0.0.1:{_board.EndPoint.Port}", "wrong", cancellationToken: Token));
    }

    [Fact]
    public async Task GetVersion_ReportsTheInterpretersVersion()
    {
        await using var repl = await TestBoards.ConnectAsync(_board, Token);

        var version = await repl.Client.GetVersionAsync(Token);

        string printed = await repl.RunLineAsync("import sys; print('%d.%d.%d' % sys.implementation.version[:3])", Token);
        Assert.Equal(printed, version.ToString());
    }

    [Fact]
    public async Task Put_ThenExecOpen_RunsTheFile()
    {
        await using var repl = await TestBoards.ConnectAsync(_board, Token);
        await repl.Client.PutFileAsync(new MemoryStream("def hello(n):\n    return 'hello ' * n\nprint(hello(2))\n"u8.ToArray()), "main.py", cancellationToken: Token);

        Assert.Equal("hello hello ", await repl.RunLineAsync("exec(open('main.py').read())", Token));
        Assert.Contains("main.py", await repl.RunLineAsync("import os; print(os.listdir())", Token), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FileWrittenByCode_GetReturnsItsBytes()
    {
        await using var repl = await TestBoards.ConnectAsync(_board, Token);
        await repl.RunLineAsync("import os; os.mkdir('data')", Token);
        await repl.RunLineAsync("f = open('data/out.bin', 'wb'); f.write(bytes(range(256)) * 3); f.close()", Token);

        var fetched = new MemoryStream();
        await repl.Client.GetFileAsync("data/out.bin", fetched, cancellationToken: Token);

        byte[] expected = [.. Enumerable.Range(0, 256 * 3).Select(i => (byte)(i % 256))];
        Assert.Equal(expected, fetched.ToArray());
    }

    [Fact]
    public async Task OneMegabyteBinary_RoundTripsUnchanged_AndPythonSeesItsSize()
    {
        await using var repl = await TestBoards.ConnectAsync(_board, Token);
        byte[] data = new byte[1024 * 1024];
        Random.Shared.NextBytes(data);

        await repl.Client.PutFileAsync(new MemoryStream(data), "big.bin", cancellationToken: Token);
        var fetched = new MemoryStream();
        await repl.Client.GetFileAsync("big.bin", fetched, cancellationToken: Token);

        Assert.Equal(data, fetched.ToArray());
        Assert.Equal("1048576", await repl.RunLineAsync("import os; print(os.stat('big.bin')[6])", Token));
    }

    [Fact]
    public async Task RawRepl_OutputAndTraceback_ComeBackSeparated()
    {
        await using var repl = await TestBoards.ConnectAsync(_board, Token);
        await repl.Client.SendInputAsync("\r\u0001", Token);
        await repl.ReadUntilAsync("raw REPL; CTRL-B to exit\r\n>", Token);

        await repl.Client.SendInputAsync("print('out')\n1/0\u0004", Token);
        string reply = await repl.ReadUntilAsync("\u0004>", Token);

        string[] parts = reply.Split('\u0004');
        Assert.Equal("OKout\r\n", parts[0]);
        Assert.Contains("ZeroDivisionError", parts[1], StringComparison.Ordinal);
        Assert.StartsWith("Traceback", parts[1], StringComparison.Ordinal);

        await repl.Client.SendInputAsync("\u0002", Token);
        await repl.ReadUntilAsync(">>> ", Token);
        Assert.Equal("3", await repl.RunLineAsync("print(1+2)", Token));
    }

    [Fact]
    public async Task RawPaste_FollowsFlowControl_AndSeparatesOutputFromTraceback()
    {
        await using var repl = await TestBoards.ConnectAsync(_board, Token);
        await repl.Client.SendInputAsync("\r\u0001", Token);
        await repl.ReadUntilAsync("raw REPL; CTRL-B to exit\r\n>", Token);

        await repl.Client.SendInputAsync("\u0005A\u0001", Token);
        byte[] header = await repl.ReadBytesAsync(4, Token);
        Assert.Equal("R\u0001", Encoding.ASCII.GetString(header, 0, 2));
        int window = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(2));
        Assert.True(window > 0);

        // A program longer than several windows: send a window, then wait for the board's 0x01 before the next.
        string program = string.Concat(Enumerable.Range(0, 40).Select(i => $"x{i} = {i}\n")) + "print(sum([x0, x39]))\nraise ValueError('bad')\n";
        byte[] code = Encoding.ASCII.GetBytes(program);
        int credit = window;
        var pending = new Queue<byte>();
        for (int sent = 0; sent < code.Length;)
        {
            while (credit == 0)
            {
                foreach (byte b in await repl.ReadBytesAsync(1, Token))
                {
                    if (b == 1)
                    {
                        credit += window;
                    }
                }
            }

            int n = Math.Min(credit, code.Length - sent);
            await repl.Client.SendInputAsync(code.AsMemory(sent, n), Token);
            sent += n;
            credit -= n;
        }

        await repl.Client.SendInputAsync("\u0004", Token);
        string reply = await repl.ReadUntilAsync("\u0004>", Token);
        // Window grants may still precede the board's end-of-data 0x04.
        reply = reply.TrimStart('\u0001');

        string[] parts = reply.Split('\u0004');
        Assert.Equal(string.Empty, parts[0]);
        Assert.Equal("39\r\n", parts[1]);
        Assert.Contains("ValueError: bad", parts[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task CtrlC_StopsASleepingLoop()
    {
        await using var repl = await TestBoards.ConnectAsync(_board, Token);
        await repl.Client.SendInputAsync("import time\r", Token);
        await repl.ReadUntilAsync(">>> ", Token);
        await repl.Client.SendInputAsync("while True: time.sleep(0.1)\r\r", Token);
        await Task.Delay(500, Token);

        await repl.Client.SendInputAsync("\u0003", Token);

        Assert.Contains("KeyboardInterrupt", await repl.ReadUntilAsync(">>> ", Token), StringComparison.Ordinal);
        Assert.Equal("ok", await repl.RunLineAsync("print('ok')", Token));
    }

    [Fact]
    public async Task CtrlC_StopsABusyLoop()
    {
        await using var repl = await TestBoards.ConnectAsync(_board, Token);
        await repl.Client.SendInputAsync("n = 0\r", Token);
        await repl.ReadUntilAsync(">>> ", Token);
        await repl.Client.SendInputAsync("while True: n += 1\r\r", Token);
        await Task.Delay(500, Token);

        await repl.Client.SendInputAsync("\u0003", Token);

        Assert.Contains("KeyboardInterrupt", await repl.ReadUntilAsync(">>> ", Token), StringComparison.Ordinal);
        Assert.Equal("True", await repl.RunLineAsync("print(n > 0)", Token));
    }

    [Theory]
    [InlineData("")]
    [InlineData("n = 0\rwhile True: n += 1; n == 1 and print('run' + 'ning')\r\r")]
    [InlineData("import time\rn = 0\rwhile True: n += 1; n == 1 and print('run' + 'ning'); time.sleep(0.1)\r\r")]
    public async Task EnterSequence_InOneMessage_StopsWhatRunsAndEntersTheRawRepl(string program)
    {
        // The client's raw-REPL entry (RawRepl.EnterSequence): CR, Ctrl-C twice, CR, Ctrl-A, as one WebSocket message.
        await using var repl = await TestBoards.ConnectAsync(_board, Token);
        if (program.Length > 0)
        {
            await repl.Client.SendInputAsync(program, Token);
            await repl.ReadUntilAsync("running", Token); // the echo says 'run' + 'ning': this is the loop, running
        }

        await repl.Client.SendInputAsync("\r\u0003\u0003\r\u0001", Token);
        string before = await repl.ReadUntilAsync("raw REPL; CTRL-B to exit\r\n>", Token);
        await repl.Client.SendInputAsync("print('raw', 6*7)\u0004", Token);

        Assert.Equal("OKraw 42\r\n\u0004\u0004>", await repl.ReadUntilAsync("\u0004>", Token));
        Assert.Equal(program.Length > 0, before.Contains("KeyboardInterrupt", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SoftReset_ClearsState_KeepsFiles()
    {
        await using var repl = await TestBoards.ConnectAsync(_board, Token);
        await repl.RunLineAsync("kept = 1; open('keep.txt', 'w').write('still here')", Token);

        await repl.Client.SendInputAsync("\u0004", Token);
        string reboot = await repl.ReadUntilAsync(">>> ", Token);

        Assert.Contains("soft reboot", reboot, StringComparison.Ordinal);
        Assert.Contains("NameError", await repl.RunLineAsync("print(kept)", Token), StringComparison.Ordinal);
        Assert.Equal("still here", await repl.RunLineAsync("print(open('keep.txt').read())", Token));
    }

    [Fact]
    public async Task PasteMode_RunsAPastedBlock()
    {
        await using var repl = await TestBoards.ConnectAsync(_board, Token);
        await repl.Client.SendInputAsync("\u0005", Token);
        await repl.ReadUntilAsync("=== ", Token);

        await repl.Client.SendInputAsync("def f():\r    return 'pasted'\rprint(f())\r\u0004", Token);

        Assert.Contains("pasted\r\n>>> ", await repl.ReadUntilAsync(">>> ", Token), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Files_PersistAcrossARestartOfTheBoard()
    {
        byte[] data = Encoding.UTF8.GetBytes("persisted ✓");
        await using (var repl = await TestBoards.ConnectAsync(_board, Token))
        {
            await repl.Client.PutFileAsync(new MemoryStream(data), "p.txt", cancellationToken: Token);
        }

        await _board.DisposeAsync();
        _board = await TestBoards.StartAsync(_root, cancellationToken: Token);

        await using var again = await TestBoards.ConnectAsync(_board, Token);
        var fetched = new MemoryStream();
        await again.Client.GetFileAsync("p.txt", fetched, cancellationToken: Token);
        Assert.Equal(data, fetched.ToArray());
        Assert.Equal("persisted ✓", await again.RunLineAsync("print(open('p.txt').read())", Token));
    }

    [Fact]
    public async Task SessionsEndWhileOutputFlows_InterpreterKeepsServing_NothingRestarted()
    {
        // Each client starts a flood of output and leaves without waiting for its end (as `webrepl run` does when
        // stopped: it sends Ctrl-B and goes), so output is on its way to a session being torn down. That must
        // never stop the board's reading of the interpreter: it went deaf, the watchdog restarted it as
        // "crashed", and the next client's keys were lost (no raw REPL prompt for its whole timeout).
        int host = _board.HostProcessId;
        for (int i = 0; i < 30; i++)
        {
            while (_board.Server.HasSession)
            {
                await Task.Delay(5, Token);
            }

            await using var client = await WebReplClient.ConnectAndLoginAsync($"127.0.0.1:{_board.EndPoint.Port}", TestBoards.Password, cancellationToken: Token);
            await client.SendInputAsync("\u0003\u0003for i in range(100000): print('flood', i)\r\r", Token);
            using var served = CancellationTokenSource.CreateLinkedTokenSource(Token);
            served.CancelAfter(TimeSpan.FromSeconds(10));
            var seen = new StringBuilder();
            try
            {
                while (!seen.ToString().Contains("flood 100\r\n", StringComparison.Ordinal))
                {
                    seen.Append(Encoding.UTF8.GetString((await client.Output.ReadAsync(served.Token)).Span));
                }
            }
            catch (OperationCanceledException) when (!Token.IsCancellationRequested)
            {
                Assert.Fail($"Client {i} was not served (restarts: {_board.Restarts}); it saw: {seen}");
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(1.5), Token); // the watchdog looks every second
        Assert.Equal(0, _board.Restarts);
        Assert.Equal(host, _board.HostProcessId);
    }

    [Fact]
    public async Task InterpreterKilled_WatchdogRestartsIt_TellsTheClient_KeepsFiles()
    {
        await using var repl = await TestBoards.ConnectAsync(_board, Token);
        await repl.RunLineAsync("open('w.txt', 'w').write('kept')", Token);

        Process.GetProcessById(_board.HostProcessId).Kill();

        string notice = await repl.ReadUntilAsync(">>> ", Token);
        Assert.Contains("[virtual board] MicroPython crashed; restarting it", notice, StringComparison.Ordinal);
        Assert.Equal(1, _board.Restarts);
        Assert.Equal("kept", await repl.RunLineAsync("print(open('w.txt').read())", Token));
    }

    [Fact]
    public async Task InterpreterKilled_KeysSentWhileItRestarts_AreLostButTheSessionLives()
    {
        await using var repl = await TestBoards.ConnectAsync(_board, Token);

        Process.GetProcessById(_board.HostProcessId).Kill();
        // Keys typed while the interpreter restarts are lost, as on a rebooting board; the connection is not.
        var restarted = ReadRestartAsync();
        while (!restarted.IsCompleted)
        {
            await repl.Client.SendInputAsync("\r", Token);
            await Task.WhenAny(restarted, Task.Delay(20, Token));
        }

        await restarted;
        Assert.Equal(1, _board.Restarts);
        await repl.Client.SendInputAsync("print(6*7)\r", Token);
        await repl.ReadUntilAsync("print(6*7)\r\n42\r\n>>> ", Token); // (after the prompts of the last carriage returns)

        async Task ReadRestartAsync()
        {
            await repl.ReadUntilAsync("[virtual board] MicroPython crashed; restarting it (files are kept).\r\n", Token);
            await repl.ReadUntilAsync("Type \"help()\" for more information.\r\n>>> ", Token); // the new interpreter
        }
    }

    [Fact]
    public async Task InterpreterKilled_BoardStoppedWhileItRestarts_StopsCleanly()
    {
        string root = TestBoards.NewRoot();
        try
        {
            await using var board = await TestBoards.StartAsync(root, cancellationToken: Token);
            await using var repl = await TestBoards.ConnectAsync(board, Token);
            Process.GetProcessById(board.HostProcessId).Kill();
            await repl.ReadUntilAsync("[virtual board] MicroPython crashed; restarting it (files are kept).\r\n", Token);

            // The watchdog has disposed the dead host and is starting the next: the board disposes the same host.
            await board.DisposeAsync();
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task InterpreterHung_WatchdogRestartsIt_TellsTheClient_KeepsFiles()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "stops the host with SIGSTOP");
        string root = TestBoards.NewRoot();
        var options = new VirtualBoardOptions { WatchdogInterval = TimeSpan.FromMilliseconds(200), WatchdogTimeout = TimeSpan.FromSeconds(1) };
        await using var board = await TestBoards.StartAsync(root, options, Token);
        await using var repl = await TestBoards.ConnectAsync(board, Token);
        await repl.RunLineAsync("open('h.txt', 'w').write('kept')", Token);
        int hung = board.HostProcessId;

        // A host that stops answering (here: stopped by a signal) is a hang, not a crash.
        using (var stop = Process.Start("kill", ["-STOP", hung.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await stop.WaitForExitAsync(Token);
        }

        string notice = await repl.ReadUntilAsync(">>> ", Token);
        Assert.Contains("[virtual board] MicroPython stopped responding", notice, StringComparison.Ordinal);
        Assert.NotEqual(hung, board.HostProcessId);
        Assert.Equal("kept", await repl.RunLineAsync("print(open('h.txt').read())", Token));
    }
}
