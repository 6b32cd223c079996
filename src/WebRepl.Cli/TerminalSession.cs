using WebRepl.Protocol;

namespace WebRepl.Cli;

/// <summary>
/// The interactive REPL: keys go to the board as typed (raw mode, so Ctrl-C, Ctrl-D and the arrows reach it),
/// the board's bytes go to standard output unchanged. Ctrl-] leaves. Piped input is sent line by line with
/// carriage returns, and the session ends once the board has gone quiet after the input ended.
/// </summary>
internal static class TerminalSession
{
    public const byte ExitKey = 0x1d; // Ctrl-]

    // Boards drop input beyond a ~256-byte buffer (docs/protocol.md, "Pacing"): long pastes go in small, spaced pieces.
    private const int PastePiece = Pacing.TerminalPieceBytes;
    private static readonly TimeSpan PastePause = Pacing.TerminalPause;
    private static readonly TimeSpan QuietAfterInput = TimeSpan.FromMilliseconds(500);

    public static Task<int> RunAsync(WebReplClient client, CliContext context, CancellationToken cancellationToken) =>
        RunAsync(client, context, client.Output.ReadAllAsync, client.SendInputAsync, cancellationToken);

    /// <summary>The same, with the board's output and input through something in between (a mount answers its requests there).</summary>
    public static async Task<int> RunAsync(
        WebReplClient client,
        CliContext context,
        Func<CancellationToken, IAsyncEnumerable<ReadOnlyMemory<byte>>> readOutput,
        Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> sendInput,
        CancellationToken cancellationToken)
    {
        if (context.InputIsTerminal)
        {
            await context.Error.WriteLineAsync($"Connected to {client.Target}. Ctrl-] to exit.").ConfigureAwait(false);
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var raw = context.InputIsTerminal ? RawTerminal.Enter() : null;
        var lastOutput = new LastOutput();
        Stream output = context.OpenOutput();
        Task<bool> outputPump = PumpOutputAsync(readOutput, output, lastOutput, stop.Token);
        Task<bool> inputPump = PumpInputAsync(sendInput, context, lastOutput, stop.Token);
        Task<bool> first = await Task.WhenAny(outputPump, inputPump).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        bool connectionEnded = first == outputPump && !cancellationToken.IsCancellationRequested;
        await ((Task)outputPump).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (context.InputIsTerminal)
        {
            RawTerminal.Restore();
            await context.Error.WriteLineAsync().ConfigureAwait(false);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Interrupted;
        }

        if (connectionEnded)
        {
            await context.Error.WriteLineAsync($"webrepl: connection closed: {PrintableText.Escape(client.CloseDescription)}.").ConfigureAwait(false);
            return ExitCodes.CannotConnect;
        }

        return ExitCodes.Success;
    }

    private static async Task<bool> PumpOutputAsync(Func<CancellationToken, IAsyncEnumerable<ReadOnlyMemory<byte>>> readOutput, Stream output, LastOutput lastOutput, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var chunk in readOutput(cancellationToken).ConfigureAwait(false))
            {
                lastOutput.Touch();
                await output.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        return true;
    }

    private static async Task<bool> PumpInputAsync(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> sendInput, CliContext context, LastOutput lastOutput, CancellationToken cancellationToken)
    {
        Stream input = context.OpenInput();
        byte[] buffer = new byte[4096];
        bool previousWasCr = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            int read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                if (context.InputIsTerminal)
                {
                    return true;
                }

                // Piped input ended: let the board finish answering, then leave.
                await lastOutput.WaitForQuietAsync(QuietAfterInput, cancellationToken).ConfigureAwait(false);
                return true;
            }

            var data = buffer.AsMemory(0, read);
            int exit = data.Span.IndexOf(ExitKey);
            if (exit >= 0)
            {
                data = data[..exit];
            }

            if (!context.InputIsTerminal)
            {
                data = ToCarriageReturns(data.Span, ref previousWasCr);
            }

            await SendPacedAsync(sendInput, data, cancellationToken).ConfigureAwait(false);
            if (exit >= 0)
            {
                return true;
            }
        }

        return true;
    }

    private static async Task SendPacedAsync(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> sendInput, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            var piece = data[..Math.Min(PastePiece, data.Length)];
            await sendInput(piece, cancellationToken).ConfigureAwait(false);
            data = data[piece.Length..];
            if (!data.IsEmpty)
            {
                await Task.Delay(PastePause, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Line ends from a file or pipe become the carriage return a terminal's Enter sends.</summary>
    internal static byte[] ToCarriageReturns(ReadOnlySpan<byte> data, ref bool previousWasCr)
    {
        var result = new List<byte>(data.Length);
        foreach (byte b in data)
        {
            if (b == (byte)'\n')
            {
                if (!previousWasCr)
                {
                    result.Add((byte)'\r');
                }

                previousWasCr = false;
                continue;
            }

            previousWasCr = b == (byte)'\r';
            result.Add(b);
        }

        return [.. result];
    }

    private sealed class LastOutput
    {
        private long _ticks = Environment.TickCount64;

        public void Touch() => Volatile.Write(ref _ticks, Environment.TickCount64);

        public async Task WaitForQuietAsync(TimeSpan quiet, CancellationToken cancellationToken)
        {
            while (true)
            {
                long idle = Environment.TickCount64 - Volatile.Read(ref _ticks);
                if (idle >= quiet.TotalMilliseconds)
                {
                    return;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(quiet.TotalMilliseconds - idle), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
