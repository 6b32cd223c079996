using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using WebRepl.Device;
using WebRepl.Protocol;

namespace WebRepl.Tests.Vectors;

/// <summary>
/// Just enough of MicroPython's REPL for the client's raw REPL (the friendly prompt, Ctrl-A, Ctrl-B, Ctrl-C, code at
/// Ctrl-D), with raw-paste played from a transcript of <c>tests/vectors/raw-paste.json</c>: the board's output at
/// each position of the client's bytes, and a check of every byte the client sends (the code, in order, never more
/// than the windows granted). Mirrors <c>web/test/support/raw-board.ts</c>, which plays the same transcripts to the
/// pages. Input is taken in order, a frame at a time, as a board's REPL reads it.
/// </summary>
internal sealed partial class TranscriptConsole : IWebReplConsole
{
    private const string Banner = "raw REPL; CTRL-B to exit\r\n>";

    private readonly ConsoleOutputSlot _output = new();
    private readonly Lock _gate = new();
    private readonly List<string> _errors = [];
    private readonly List<(string Code, bool Pasted)> _programs = [];
    private readonly JsonElement? _transcript;
    private readonly byte[]? _refusal;
    private readonly Func<string, byte[]?>? _plain;
    private readonly int _window;
    private readonly List<byte> _line = [];
    private bool _raw;
    private Paste? _paste;

    /// <summary>A board that plays <paramref name="transcript"/> for raw-paste, or answers it with <paramref name="refusal"/>.</summary>
    public TranscriptConsole(int window, JsonElement? transcript = null, byte[]? refusal = null, Func<string, byte[]?>? plain = null)
    {
        _window = window;
        _transcript = transcript;
        _refusal = refusal;
        _plain = plain;
    }

    public WebReplVersion Version { get; } = new(1, 27, 0);

    /// <summary>What went wrong in the client's bytes; a test asserts it is empty.</summary>
    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_gate)
            {
                return [.. _errors];
            }
        }
    }

    /// <summary>The code run, in order, and whether it came through raw-paste.</summary>
    public IReadOnlyList<(string Code, bool Pasted)> Programs
    {
        get
        {
            lock (_gate)
            {
                return [.. _programs];
            }
        }
    }

    public async ValueTask WriteInputAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken)
    {
        foreach (byte b in input.ToArray())
        {
            await TakeAsync(b, cancellationToken);
        }
    }

    public IDisposable AttachOutput(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> output) => _output.Attach(output);

    public void PrintNotice(string text)
    {
    }

    private async ValueTask TakeAsync(byte b, CancellationToken cancellationToken)
    {
        if (_paste is { } paste)
        {
            if (await paste.TakeAsync(b, cancellationToken))
            {
                Record(paste.Code, pasted: true);
                _paste = null;
            }

            return;
        }

        if (!_raw)
        {
            if (b == 0x01)
            {
                _raw = true;
                _line.Clear();
                await PrintAsync("\r\n" + Banner, cancellationToken);
            }

            return; // Ctrl-C and Enter at an idle prompt print a prompt, which the client drops with the rest
        }

        switch (b)
        {
            case 0x01 when _line is [0x05, (byte)'A']:
                _line.Clear();
                await StartPasteAsync(cancellationToken);
                break;
            case 0x01:
                _line.Clear();
                await PrintAsync(Banner, cancellationToken);
                break;
            case 0x02:
                _raw = false;
                _line.Clear();
                await PrintAsync("\r\nMicroPython v1.27.0 on a scripted board\r\nType \"help()\" for more information.\r\n>>> ", cancellationToken);
                break;
            case 0x03:
                _line.Clear();
                break;
            case 0x04:
                await RunPlainAsync(cancellationToken);
                break;
            default:
                _line.Add(b);
                break;
        }
    }

    private async ValueTask StartPasteAsync(CancellationToken cancellationToken)
    {
        if (_refusal is not null)
        {
            await _output.PrintAsync(_refusal, cancellationToken);
            return;
        }

        if (_transcript is not { } transcript)
        {
            Fail("raw-paste asked for with no transcript");
            return;
        }

        _paste = new Paste(this, transcript, _window);
        await _paste.StartAsync(cancellationToken);
    }

    private async ValueTask RunPlainAsync(CancellationToken cancellationToken)
    {
        string code = Encoding.UTF8.GetString([.. _line]);
        _line.Clear();
        Record(code, pasted: false);
        var sync = SyncLine().Match(code);
        byte[]? output = sync.Success ? Encoding.ASCII.GetBytes($"{sync.Groups[1].Value}\u0004\u0004>") : _plain?.Invoke(code);
        await PrintAsync("OK", cancellationToken);
        await _output.PrintAsync(output ?? "\u0004Traceback (most recent call last):\r\nNameError: name isn't defined\r\n\u0004>"u8.ToArray(), cancellationToken);
    }

    private void Record(string code, bool pasted)
    {
        lock (_gate)
        {
            _programs.Add((code, pasted));
        }
    }

    private void Fail(string error)
    {
        lock (_gate)
        {
            _errors.Add(error);
        }
    }

    private ValueTask PrintAsync(string text, CancellationToken cancellationToken) =>
        _output.PrintAsync(Encoding.Latin1.GetBytes(text), cancellationToken);

    [GeneratedRegex(@"^print\('(webrepl-sync-[0-9a-f]{8})', end=''\)$")]
    private static partial Regex SyncLine();

    /// <summary>One raw-paste exchange: positions count the client's bytes from the start of <c>05 41 01</c>.</summary>
    private sealed class Paste(TranscriptConsole console, JsonElement transcript, int window)
    {
        private readonly byte[] _code = Encoding.UTF8.GetBytes(transcript.GetProperty("code").GetString()!);
        private readonly JsonElement[] _events = [.. transcript.GetProperty("events").EnumerateArray()];
        private readonly string _name = transcript.GetProperty("name").GetString()!;
        private readonly bool _early = transcript.TryGetProperty("early", out _);
        private int _position = 3;
        private int _taken;
        private long _credit;
        private int _next;

        public string Code => Encoding.UTF8.GetString(_code);

        public ValueTask StartAsync(CancellationToken cancellationToken) => EmitDueAsync(cancellationToken);

        /// <summary>Takes a client byte; true when the exchange is over.</summary>
        public async ValueTask<bool> TakeAsync(byte b, CancellationToken cancellationToken)
        {
            _position++;
            if (b == 0x04)
            {
                if (!_early && _taken != _code.Length)
                {
                    console.Fail($"{_name}: the code ended after {_taken} of {_code.Length} bytes");
                }

                for (; _next < _events.Length; _next++)
                {
                    if (!_events[_next].TryGetProperty("afterEnd", out _))
                    {
                        console.Fail($"{_name}: the code ended before the board printed {_events[_next].GetProperty("shows").GetString()}");
                    }

                    await EmitAsync(_events[_next], cancellationToken);
                }

                return true;
            }

            if (_taken >= _code.Length || b != _code[_taken])
            {
                console.Fail($"{_name}: byte {_taken} of the code is 0x{b:x2}, not the code's");
                return false;
            }

            if (++_taken > _credit)
            {
                console.Fail($"{_name}: {_taken} bytes of code sent with {_credit} granted");
            }

            await EmitDueAsync(cancellationToken);
            return false;
        }

        private async ValueTask EmitDueAsync(CancellationToken cancellationToken)
        {
            while (_next < _events.Length && _events[_next].TryGetProperty("at", out var at) && at.GetInt32() <= _position)
            {
                await EmitAsync(_events[_next++], cancellationToken);
            }
        }

        private ValueTask EmitAsync(JsonElement item, CancellationToken cancellationToken)
        {
            byte[] bytes = item.Bytes();
            // Credit: the window size says one window is free, and each 01 the board prints frees one more.
            bool offer = bytes is [(byte)'R', 0x01, _, _, ..];
            if (offer)
            {
                Assert.Equal(window, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(2)));
            }

            if (!item.TryGetProperty("afterEnd", out _))
            {
                _credit += (offer ? window : 0) + (window * bytes.AsSpan(offer ? 4 : 0).Count((byte)0x01));
            }

            return console._output.PrintAsync(bytes, cancellationToken);
        }
    }
}
