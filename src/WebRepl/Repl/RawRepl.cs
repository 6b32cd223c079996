using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using WebRepl.Protocol;

namespace WebRepl.Repl;

/// <summary>
/// Runs code through the board's raw REPL, as docs/protocol.md describes: interrupt what runs (Ctrl-C), enter the
/// raw REPL (Ctrl-A), send the code with raw-paste's flow control (or, where the board refuses raw-paste,
/// in paced pieces), read <c>OK</c>, the output up to <c>\x04</c>, the error output up to <c>\x04</c>, the
/// prompt, then leave (Ctrl-B). Input is never sent faster than the board's ~256-byte buffer takes it.
/// The caller holds the client's operation lock; the board is reached through an <see cref="IReplTerminal"/>.
/// </summary>
internal sealed class RawRepl
{
    private static readonly byte[] RawPrompt = "raw REPL; CTRL-B to exit\r\n>"u8.ToArray();
    private static readonly byte[] FriendlyPrompt = ">>> "u8.ToArray();

    // Ctrl-C twice stops a program (one may be swallowed by a program's own handler); the CR then leaves an empty
    // line, where Ctrl-A enters the raw REPL. One message: the firmware reads its input a byte at a time whatever the
    // frames (modwebrepl.c, pyexec.c), so this is what two sends were, but a gateway sees the Ctrl-A with the Ctrl-C
    // and nothing (another client's keys, a board under load acting on half of it) can come between the two.
    internal static readonly byte[] EnterSequence = "\r\u0003\u0003\r\u0001"u8.ToArray();

    // A board answers Ctrl-A within milliseconds, and a WebREPL round trip (Wi-Fi, a gateway) takes well under a
    // second; silence for longer means the Ctrl-A was lost (it came while an interrupted program was unwinding, a
    // program reading its input took it, one caught KeyboardInterrupt and went on): send both again.
    private static readonly TimeSpan EnterRetryAfter = Pacing.RawEnterRetry;

    // The plain raw REPL has no flow control: pieces that fit the input buffer, with time to drain it.
    private const int PlainPiece = Pacing.RawReplPieceBytes;
    private static readonly TimeSpan PlainPause = Pacing.RawReplPause;

    private readonly IReplTerminal _terminal;
    private readonly ReplReader _reader;
    private readonly TimeSpan _replyTimeout;
    private readonly TimeSpan _enterRetry;
    private readonly int _maxReply;

    public RawRepl(IReplTerminal terminal, WebReplClientOptions options)
    {
        _terminal = terminal;
        _maxReply = options.MaxOperationReplyBytes;
        _reader = new ReplReader(terminal.Output, Math.Max(_maxReply, ReplReader.MinimumPending));
        _replyTimeout = options.ReplyTimeout;
        // At least a few tries within a short reply timeout.
        _enterRetry = TimeSpan.FromTicks(Math.Min(EnterRetryAfter.Ticks, _replyTimeout.Ticks / 4));
    }

    private int _pasteWindow;

    /// <summary>True once the board has refused raw-paste (old firmware); later runs go straight to the plain raw REPL.</summary>
    public bool? RawPasteSupported { get; private set; }

    /// <summary>
    /// Interrupts whatever runs and enters the raw REPL. Without the raw REPL's prompt within a short while, sends
    /// Ctrl-C and Ctrl-A again, until the reply timeout. After such a retry the board may still print the banner
    /// for each Ctrl-A it got, later: the output is then synchronised (see <see cref="SynchroniseAsync"/>) so that
    /// no late banner comes before the next code's answer. The first Ctrl-A answered costs nothing more than before.
    /// </summary>
    public async Task EnterAsync(CancellationToken cancellationToken)
    {
        bool retried = false;
        await WithReplyTimeoutAsync("the raw REPL prompt", async token =>
        {
            _reader.Discard();
            await _terminal.SendAsync(EnterSequence, token).ConfigureAwait(false);
            while (true)
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(token);
                attempt.CancelAfter(_enterRetry);
                try
                {
                    await _reader.ReadUntilAsync(RawPrompt, attempt.Token).ConfigureAwait(false);
                    return;
                }
                catch (OperationCanceledException) when (!token.IsCancellationRequested)
                {
                    // Keep what has arrived (part of a banner, perhaps); a cancelled read loses no output.
                    retried = true;
                    await _terminal.SendAsync(EnterSequence, token).ConfigureAwait(false);
                }
            }
        }, cancellationToken).ConfigureAwait(false);

        if (retried)
        {
            await WithReplyTimeoutAsync("the raw REPL prompt", SynchroniseAsync, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Leaves the raw REPL for the friendly one (which prints its banner and prompt).</summary>
    public async Task LeaveAsync(CancellationToken cancellationToken)
    {
        await WithReplyTimeoutAsync("the friendly prompt", async token =>
        {
            await _terminal.SendAsync("\r\u0002"u8.ToArray(), token).ConfigureAwait(false);
            await _reader.ReadUntilAsync(FriendlyPrompt, token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        _reader.ReturnPending();
    }

    /// <summary>
    /// Runs <paramref name="code"/> at the raw prompt. Output goes to <paramref name="output"/> as it comes;
    /// the error output (a traceback) is returned, empty when the code succeeded. Cancelling interrupts the
    /// code on the board (Ctrl-C) and waits, within the reply timeout, for the board to be back at the prompt.
    /// The error output is bounded (<see cref="WebReplClientOptions.MaxOperationReplyBytes"/>); with
    /// <paramref name="silence"/>, so is the wait for each piece of output (the client's own operations).
    /// </summary>
    public async Task<string> ExecAsync(ReadOnlyMemory<byte> code, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> output, CancellationToken cancellationToken, TimeSpan? silence = null)
    {
        await WithReplyTimeoutAsync("the code's acceptance", token => SendCodeAsync(code, token), cancellationToken).ConfigureAwait(false);
        var error = new MemoryStream();
        try
        {
            await _reader.StreamUntilAsync(0x04, output, cancellationToken, silence).ConfigureAwait(false);
            await _reader.StreamUntilAsync(0x04, (bytes, _) =>
            {
                if (error.Length + bytes.Length > _maxReply)
                {
                    throw TooMuch("error output");
                }

                error.Write(bytes.Span);
                return ValueTask.CompletedTask;
            }, cancellationToken, silence).ConfigureAwait(false);
            await WithReplyTimeoutAsync("the raw REPL prompt", token => _reader.ReadUntilAsync(">"u8.ToArray(), token), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await InterruptAsync().ConfigureAwait(false);
            throw;
        }

        return Encoding.UTF8.GetString(error.ToArray());
    }

    /// <summary>
    /// After a retried entry: runs a line that prints a marker of its own, and reads up to the marker's end. A board
    /// takes its input in order, so every banner still owed for an earlier Ctrl-A comes before it and is dropped
    /// with it; whatever the delays, nothing of the entry is left to be taken for the next code's answer
    /// (<c>OK</c>, raw-paste's <c>R\x01</c>) or its output. Uses the plain raw REPL, which every firmware has, and
    /// does not depend on the board's line ends.
    /// </summary>
    private async Task SynchroniseAsync(CancellationToken cancellationToken)
    {
        // The raw REPL does not echo, so only the output can match (and the marker is new each time).
        string marker = $"webrepl-sync-{Random.Shared.Next():x8}";
        await _terminal.SendAsync(Encoding.ASCII.GetBytes($"print('{marker}', end='')\u0004"), cancellationToken).ConfigureAwait(false);
        await _reader.ReadUntilAsync(Encoding.ASCII.GetBytes($"OK{marker}\u0004\u0004>"), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>After a cancelled run: Ctrl-C, then read up to the raw prompt so that the board is usable.</summary>
    private async Task InterruptAsync()
    {
        using var bound = new CancellationTokenSource(_replyTimeout);
        try
        {
            await _terminal.SendAsync("\u0003"u8.ToArray(), bound.Token).ConfigureAwait(false);
            await _reader.ReadUntilAsync("\u0004>"u8.ToArray(), bound.Token).ConfigureAwait(false);
            await _terminal.SendAsync("\r\u0002"u8.ToArray(), bound.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebReplException)
        {
            // The board did not come back in time; the caller is leaving anyway.
        }
    }

    private async Task SendCodeAsync(ReadOnlyMemory<byte> code, CancellationToken cancellationToken)
    {
        if (RawPasteSupported == true && code.Length + 4 <= _pasteWindow)
        {
            // The board took raw-paste before, with this window, and all of it fits in one: the request, the code
            // and its end in one write, saving the round trip of waiting for "R\x01" first.
            byte[] all = new byte[code.Length + 4];
            "\u0005A\u0001"u8.CopyTo(all);
            code.Span.CopyTo(all.AsSpan(3));
            all[^1] = 0x04;
            await _terminal.SendAsync(all, cancellationToken).ConfigureAwait(false);
            byte[] answer = await _reader.ReadBytesAsync(4, cancellationToken).ConfigureAwait(false);
            if (answer[0] != (byte)'R' || answer[1] != 1)
            {
                throw new WebReplProtocolException($"The board refused raw-paste, which it had taken before (it answered {Convert.ToHexString(answer)}).");
            }

            // The board answers 0x04 once it has all the code (a grant may come before it).
            while ((await _reader.ReadBytesAsync(1, cancellationToken).ConfigureAwait(false))[0] != 0x04)
            {
            }

            return;
        }

        if (RawPasteSupported != false)
        {
            await _terminal.SendAsync("\u0005A\u0001"u8.ToArray(), cancellationToken).ConfigureAwait(false);
            byte[] answer = await _reader.ReadBytesAsync(2, cancellationToken).ConfigureAwait(false);
            if (answer[0] == (byte)'R' && answer[1] == 1)
            {
                RawPasteSupported = true;
                await SendRawPasteAsync(code, cancellationToken).ConfigureAwait(false);
                return;
            }

            RawPasteSupported = false;
            if (!(answer[0] == (byte)'R' && answer[1] == 0))
            {
                // Firmware that predates raw-paste takes the bytes as code: clear the line, back to the prompt.
                await _terminal.SendAsync("\u0003"u8.ToArray(), cancellationToken).ConfigureAwait(false);
            }

            // Either answer ends at the raw prompt: R\x00 is followed by one (pyexec.c), an old firmware's banner ends with it.
            await _reader.ReadUntilAsync(">"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        }

        // The plain raw REPL: paced pieces, then Ctrl-D, and the board says OK.
        for (int sent = 0; sent < code.Length; sent += PlainPiece)
        {
            await _terminal.SendAsync(code.Slice(sent, Math.Min(PlainPiece, code.Length - sent)), cancellationToken).ConfigureAwait(false);
            await Task.Delay(PlainPause, cancellationToken).ConfigureAwait(false);
        }

        await _terminal.SendAsync("\u0004"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        byte[] ok = await _reader.ReadBytesAsync(2, cancellationToken).ConfigureAwait(false);
        if (ok[0] != (byte)'O' || ok[1] != (byte)'K')
        {
            throw new WebReplProtocolException($"The board did not accept the code in its raw REPL (it answered {Convert.ToHexString(ok)} instead of OK).");
        }
    }

    /// <summary>Raw-paste: a window of bytes, then one more window per 0x01 the board sends; 0x04 ends.</summary>
    private async Task SendRawPasteAsync(ReadOnlyMemory<byte> code, CancellationToken cancellationToken)
    {
        byte[] windowBytes = await _reader.ReadBytesAsync(2, cancellationToken).ConfigureAwait(false);
        int window = BinaryPrimitives.ReadUInt16LittleEndian(windowBytes);
        if (window == 0)
        {
            throw new WebReplProtocolException("The board offered raw-paste with a window of 0 bytes.");
        }

        _pasteWindow = window;

        int credit = window;
        int sent = 0;
        while (sent < code.Length)
        {
            // Take the grants that have already arrived; wait for one only when out of credit.
            while (true)
            {
                byte signal;
                if (credit == 0)
                {
                    signal = (await _reader.ReadBytesAsync(1, cancellationToken).ConfigureAwait(false))[0];
                }
                else if (!_reader.TryReadByte(out signal))
                {
                    break;
                }

                if (signal == 0x01)
                {
                    credit += window;
                }
                else if (signal == 0x04)
                {
                    // The board ended the paste early: acknowledge; its output follows as usual.
                    await _terminal.SendAsync("\u0004"u8.ToArray(), cancellationToken).ConfigureAwait(false);
                    return;
                }
            }

            int n = Math.Min(credit, code.Length - sent);
            await _terminal.SendAsync(code.Slice(sent, n), cancellationToken).ConfigureAwait(false);
            sent += n;
            credit -= n;
        }

        await _terminal.SendAsync("\u0004"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        // The board answers 0x04 once it has all the code (grants may still come before it).
        while ((await _reader.ReadBytesAsync(1, cancellationToken).ConfigureAwait(false))[0] != 0x04)
        {
        }
    }

    /// <summary>The error for a reply past <see cref="WebReplClientOptions.MaxOperationReplyBytes"/>.</summary>
    public WebReplProtocolException TooMuch(string what) => new(string.Create(
        CultureInfo.InvariantCulture,
        $"{_terminal.Target} sent more than {_maxReply:N0} bytes of {what}, more than this operation can take (a program printing without end, or a board that is not what it seems?). The operation was stopped; WebReplClientOptions.MaxOperationReplyBytes sets the limit."));

    /// <summary>
    /// After a reply was cut short (too long, or silent): stops what runs and leaves the raw REPL, without waiting
    /// for an answer from a board that has just misbehaved.
    /// </summary>
    public async Task AbandonAsync()
    {
        using var bound = new CancellationTokenSource(_replyTimeout);
        try
        {
            await _terminal.SendAsync("\u0003\u0003\r\u0002"u8.ToArray(), bound.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebReplException)
        {
            // The connection is going anyway.
        }

        _reader.Discard();
    }

    private async Task WithReplyTimeoutAsync(string what, Func<CancellationToken, Task> step, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_replyTimeout);
        try
        {
            await step(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WebReplTimeoutException(
                $"{_terminal.Target} did not send {what} within {_replyTimeout.TotalSeconds:0.#} s. Is a program running that ignores Ctrl-C, or is the board busy?", ex);
        }
    }
}
