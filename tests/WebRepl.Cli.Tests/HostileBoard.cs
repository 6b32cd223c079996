using System.Net;
using System.Text;
using WebRepl.Device;
using WebRepl.Protocol;

namespace WebRepl.Cli.Tests;

/// <summary>What a hostile board answers to one program the client runs in its raw REPL.</summary>
/// <param name="Output">What the program "prints".</param>
/// <param name="Endless">Print <paramref name="Output"/> over and over, never ending the reply.</param>
/// <param name="Silent">Say OK, then nothing at all.</param>
internal sealed record ReplAnswer(string Output, bool Endless = false, bool Silent = false);

/// <summary>
/// A board that lies: our WebReplServer, with a raw REPL whose programs' output the test chooses (a listing with
/// names that climb out of a folder, output that never ends, silence) and a file store that serves any name it
/// is asked for. For what a malicious board, or anyone in the middle of a plain ws:// connection, could send.
/// </summary>
internal sealed class HostileBoard : IAsyncDisposable
{
    public const string Password = "s3cret";

    private readonly WebReplServer _server;

    public HostileBoard(Func<string, ReplAnswer> answer)
    {
        Console = new ScriptedReplConsole(answer);
        _server = new WebReplServer(
            new WebReplServerOptions { Password = Password, EndPoint = new IPEndPoint(IPAddress.Loopback, 0) },
            Console,
            new AnyNameFileStore());
        _server.Start();
    }

    public ScriptedReplConsole Console { get; }

    public string Address => $"127.0.0.1:{_server.LocalEndPoint.Port}";

    /// <summary>The contents served for every GET.</summary>
    public static byte[] Payload => "payload from the board\n"u8.ToArray();

    /// <summary>A listing line as BoardFiles' program prints it.</summary>
    public static string Row(string path, bool folder = false, long size = 23) =>
        $"[{System.Text.Json.JsonSerializer.Serialize(path)}, {(folder ? 1 : 0)}, {(folder ? 0 : size)}]\r\n";

    public async ValueTask DisposeAsync()
    {
        await Console.DisposeAsync();
        await _server.DisposeAsync();
    }

    /// <summary>Serves <see cref="Payload"/> under any name; refuses writes.</summary>
    private sealed class AnyNameFileStore : IWebReplFileStore
    {
        public ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken) =>
            ValueTask.FromResult<Stream>(new MemoryStream(Payload, writable: false));

        public ValueTask<IWebReplFileUpload> CreateAsync(string path, CancellationToken cancellationToken) =>
            throw new IOException("read-only");
    }
}

/// <summary>
/// The plain raw REPL as the firmware speaks it (Ctrl-A: banner; Ctrl-D: <c>OK</c>, output, <c>\x04</c>, error,
/// <c>\x04&gt;</c>; Ctrl-B: the friendly prompt), refusing raw-paste (<c>R\x00</c> and the prompt, as pyexec.c does
/// for a mode it lacks), with each program's output chosen by the test.
/// </summary>
internal sealed class ScriptedReplConsole(Func<string, ReplAnswer> answer) : IWebReplConsole, IAsyncDisposable
{
    private const string Banner = "raw REPL; CTRL-B to exit\r\n>";

    private readonly ConsoleOutputSlot _output = new();
    private readonly List<byte> _line = [];
    private readonly CancellationTokenSource _stop = new();
    private bool _raw;
    private Task _endless = Task.CompletedTask;
    private long _printed;
    private bool _attached = true;

    public WebReplVersion Version { get; } = new(1, 24, 1);

    /// <summary>Bytes printed so far (how far an endless reply went).</summary>
    public long Printed => Interlocked.Read(ref _printed);

    public async ValueTask WriteInputAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken)
    {
        foreach (byte b in input.ToArray())
        {
            await TakeAsync(b, cancellationToken);
        }
    }

    public IDisposable AttachOutput(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> output)
    {
        var attached = _output.Attach(output);
        return new Detach(this, attached);
    }

    public void PrintNotice(string text)
    {
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _endless.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async ValueTask TakeAsync(byte b, CancellationToken cancellationToken)
    {
        if (!_raw)
        {
            if (b == 0x01)
            {
                _raw = true;
                _line.Clear();
                await PrintAsync("\r\n" + Banner, cancellationToken);
            }
            else if (b is 0x03 or (byte)'\r')
            {
                await PrintAsync("\r\n>>> ", cancellationToken);
            }

            return;
        }

        switch (b)
        {
            case 0x01 when _line.Count == 2 && _line[0] == 0x05 && _line[1] == (byte)'A':
                _line.Clear();
                await PrintAsync("R\u0000>", cancellationToken); // the refusal, then the raw prompt again (pyexec.c)
                break;
            case 0x01:
                _line.Clear();
                await PrintAsync(Banner, cancellationToken);
                break;
            case 0x02:
                _raw = false;
                _line.Clear();
                await PrintAsync("\r\nMicroPython v1.24.1 on a hostile board\r\n>>> ", cancellationToken);
                break;
            case 0x03:
                _line.Clear();
                break;
            case 0x04:
                string code = Encoding.UTF8.GetString([.. _line]);
                _line.Clear();
                var reply = answer(code);
                await PrintAsync("OK", cancellationToken);
                if (reply.Silent)
                {
                    break;
                }

                if (reply.Endless)
                {
                    // On its own task, as a program printing in a loop: input is still taken meanwhile.
                    _endless = PrintForeverAsync(reply.Output);
                    break;
                }

                await PrintAsync(reply.Output + "\u0004\u0004>", cancellationToken);
                break;
            default:
                _line.Add(b);
                break;
        }
    }

    private async Task PrintForeverAsync(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(text, Math.Max(1, 4096 / Math.Max(1, text.Length)))));
        while (!_stop.IsCancellationRequested && Volatile.Read(ref _attached))
        {
            await _output.PrintAsync(bytes, _stop.Token);
            Interlocked.Add(ref _printed, bytes.Length);
        }
    }

    private ValueTask PrintAsync(string text, CancellationToken cancellationToken)
    {
        Interlocked.Add(ref _printed, text.Length);
        return _output.PrintAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
    }

    private sealed class Detach(ScriptedReplConsole console, IDisposable attached) : IDisposable
    {
        public void Dispose()
        {
            Volatile.Write(ref console._attached, false);
            attached.Dispose();
        }
    }
}
