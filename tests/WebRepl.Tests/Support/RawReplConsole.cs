using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using WebRepl.Device;
using WebRepl.Protocol;

namespace WebRepl.Tests.Support;

/// <summary>
/// Just enough of MicroPython's REPL for the client's raw REPL, byte for byte as the firmware answers: the friendly
/// prompt, Ctrl-A into the raw REPL (its banner, again for each Ctrl-A there), Ctrl-B out, Ctrl-C, code run at
/// Ctrl-D (<c>OK</c>, output, <c>\x04</c>, error, <c>\x04</c>, <c>&gt;</c>) or through raw-paste (<c>R\x01</c>, the
/// window, grants). The code it runs is lines of <c>print('text')</c> (with <c>end=''</c> or not); any other line
/// is a NameError. Input is taken in order, a frame at a time (the server awaits each), as a board's REPL reads
/// its input: a delay here holds back everything sent after. A test decides the fate of each Ctrl-A that enters or
/// resets the raw REPL: answered at once, answered after a delay, or lost (taken by a program, say).
/// </summary>
internal sealed partial class RawReplConsole(Func<int, TimeSpan?>? ctrlA = null) : IWebReplConsole
{
    public const string Banner = "raw REPL; CTRL-B to exit\r\n>";
    public const int Window = 128;

    private readonly Lock _gate = new();
    private readonly ConsoleOutputSlot _output = new();
    private readonly List<byte> _line = [];
    private readonly List<(string Code, bool Pasted)> _programs = [];
    private readonly List<byte[]> _inputs = [];
    private bool _raw;
    private bool _pasting;
    private int _pasted;
    private int _ctrlAs;
    private int _banners;

    public WebReplVersion Version { get; } = new(1, 24, 1);

    /// <summary>The Ctrl-As that entered or reset the raw REPL, lost ones included.</summary>
    public int CtrlAs => Volatile.Read(ref _ctrlAs);

    /// <summary>How many raw REPL banners were printed.</summary>
    public int Banners => Volatile.Read(ref _banners);

    /// <summary>Every input message (a text frame each) as it came, the password line excepted.</summary>
    public IReadOnlyList<byte[]> Inputs
    {
        get
        {
            lock (_gate)
            {
                return [.. _inputs];
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
        lock (_gate)
        {
            _inputs.Add(input.ToArray());
        }

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
        if (_pasting)
        {
            if (b == 0x04)
            {
                _pasting = false;
                await PrintAsync("\u0004", cancellationToken); // all of the code received
                await RunAsync(pasted: true, cancellationToken);
            }
            else
            {
                _line.Add(b);
                if (++_pasted % Window == 0)
                {
                    await PrintAsync("\u0001", cancellationToken); // one more window
                }
            }

            return;
        }

        if (!_raw)
        {
            switch (b)
            {
                case 0x01:
                    if (await CtrlAAnsweredAsync(cancellationToken))
                    {
                        _raw = true;
                        _line.Clear();
                        await PrintBannerAsync("\r\n", cancellationToken);
                    }

                    break;
                case 0x03 or (byte)'\r':
                    _line.Clear();
                    await PrintAsync("\r\n>>> ", cancellationToken);
                    break;
                default:
                    _line.Add(b);
                    await PrintAsync(Encoding.Latin1.GetString([b]), cancellationToken); // echo
                    break;
            }

            return;
        }

        switch (b)
        {
            case 0x01 when _line.Count == 2 && _line[0] == 0x05 && _line[1] == (byte)'A':
                _line.Clear();
                _pasting = true;
                _pasted = 0;
                byte[] offer = [(byte)'R', 0x01, 0, 0, 0x01];
                BinaryPrimitives.WriteUInt16LittleEndian(offer.AsSpan(2), Window);
                await PrintAsync(Encoding.Latin1.GetString(offer), cancellationToken);
                break;
            case 0x01:
                if (await CtrlAAnsweredAsync(cancellationToken))
                {
                    _line.Clear();
                    await PrintBannerAsync(string.Empty, cancellationToken);
                }

                break;
            case 0x02:
                _raw = false;
                _line.Clear();
                await PrintAsync("\r\nMicroPython v1.24.1 on a scripted board\r\nType \"help()\" for more information.\r\n>>> ", cancellationToken);
                break;
            case 0x03:
                _line.Clear();
                break;
            case 0x04:
                await PrintAsync("OK", cancellationToken);
                await RunAsync(pasted: false, cancellationToken);
                break;
            default:
                _line.Add(b);
                break;
        }
    }

    /// <summary>Counts a Ctrl-A and applies the test's choice: false when it is lost.</summary>
    private async ValueTask<bool> CtrlAAnsweredAsync(CancellationToken cancellationToken)
    {
        int n = Interlocked.Increment(ref _ctrlAs);
        if (ctrlA is null)
        {
            return true;
        }

        if (ctrlA(n) is not TimeSpan delay)
        {
            return false;
        }

        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, cancellationToken);
        }

        return true;
    }

    private async ValueTask PrintBannerAsync(string before, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _banners);
        await PrintAsync(before + Banner, cancellationToken);
    }

    private async ValueTask RunAsync(bool pasted, CancellationToken cancellationToken)
    {
        string code = Encoding.UTF8.GetString([.. _line]);
        _line.Clear();
        lock (_gate)
        {
            _programs.Add((code, pasted));
        }

        var output = new StringBuilder();
        string error = string.Empty;
        foreach (string line in code.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var print = PrintLine().Match(line);
            if (!print.Success)
            {
                error = "Traceback (most recent call last):\r\n  File \"<stdin>\", line 1, in <module>\r\nNameError: name isn't defined\r\n";
                break;
            }

            output.Append(print.Groups[1].Value).Append(print.Groups[2].Success ? string.Empty : "\r\n");
        }

        await PrintAsync($"{output}\u0004{error}\u0004>", cancellationToken);
    }

    private ValueTask PrintAsync(string text, CancellationToken cancellationToken) =>
        _output.PrintAsync(Encoding.Latin1.GetBytes(text), cancellationToken);

    [GeneratedRegex(@"^print\('([^']*)'(, end='')?\)$")]
    private static partial Regex PrintLine();
}
