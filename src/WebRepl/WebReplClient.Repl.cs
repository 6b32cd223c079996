using System.Text;
using WebRepl.Repl;

namespace WebRepl;

/// <summary>Code execution and board control over the raw REPL.</summary>
public sealed partial class WebReplClient
{
    /// <summary>How long a board that took <c>machine.reset()</c> may stay silent before it counts as restarting.</summary>
    private static readonly TimeSpan ResetSilence = TimeSpan.FromSeconds(1);

    /// <summary>How long the board stays at the raw prompt after an operation, for the next one to skip entering it.</summary>
    private static readonly TimeSpan RawIdleLinger = TimeSpan.FromMilliseconds(250);

    private RawRepl? _rawRepl;
    private bool _rawIdle;
    private int _rawIdleGeneration;
    private BoardFiles? _files;
    private string? _password;

    /// <summary>The board's files: list, read, write, remove, make folders, hash, and more.</summary>
    public BoardFiles Files => _files ??= new BoardFiles(this);

    /// <summary>
    /// Runs <paramref name="code"/> on the board (interrupting what runs) and returns what it printed.
    /// Reads the terminal output itself: do not read <see cref="Output"/> meanwhile.
    /// </summary>
    /// <exception cref="WebReplExecutionException">The code raised an exception; it carries the board's traceback.</exception>
    /// <exception cref="WebReplProtocolException">The output is longer than <see cref="WebReplClientOptions.MaxOperationReplyBytes"/> (use the overload that streams it).</exception>
    public Task<string> ExecAsync(string code, CancellationToken cancellationToken = default) =>
        ExecCollectingAsync(code, null, cancellationToken);

    /// <summary>
    /// Runs one of the client's own programs (listing, stat, hash...): its output is bounded by
    /// <see cref="WebReplClientOptions.MaxOperationReplyBytes"/>, and the board may stay silent for at most
    /// <see cref="WebReplClientOptions.ReplyTimeout"/> at a time. A board that answers without end, or not at all,
    /// gets an error instead of this computer's memory or a hung command.
    /// </summary>
    internal Task<string> ExecOperationAsync(string code, CancellationToken cancellationToken) =>
        ExecCollectingAsync(code, _options.ReplyTimeout, cancellationToken);

    private async Task<string> ExecCollectingAsync(string code, TimeSpan? silence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(code);
        var output = new MemoryStream();
        string traceback = await WithRawReplAsync((repl, token) => repl.ExecAsync(Encoding.UTF8.GetBytes(code), (bytes, _) =>
        {
            if (output.Length + bytes.Length > _options.MaxOperationReplyBytes)
            {
                throw repl.TooMuch("output");
            }

            output.Write(bytes.Span);
            return ValueTask.CompletedTask;
        }, token, silence), cancellationToken).ConfigureAwait(false);
        string printed = Encoding.UTF8.GetString(output.ToArray());
        if (traceback.Length > 0)
        {
            throw new WebReplExecutionException(traceback, printed);
        }

        return printed;
    }

    /// <summary>
    /// Runs <paramref name="code"/> on the board and hands its output to <paramref name="output"/> as it comes.
    /// Cancelling interrupts the code on the board (Ctrl-C).
    /// </summary>
    /// <exception cref="WebReplExecutionException">The code raised an exception; it carries the board's traceback.</exception>
    public async Task ExecAsync(string code, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(code);
        ArgumentNullException.ThrowIfNull(output);
        // Kept for the exception's Output, up to the reply limit (the rest has been handed on, as it came).
        var printed = new MemoryStream();
        string traceback = await WithRawReplAsync((repl, token) => repl.ExecAsync(Encoding.UTF8.GetBytes(code), async (bytes, t) =>
        {
            printed.Write(bytes.Span[..(int)Math.Min(bytes.Length, Math.Max(0, _options.MaxOperationReplyBytes - printed.Length))]);
            await output(bytes, t).ConfigureAwait(false);
        }, token), cancellationToken).ConfigureAwait(false);
        if (traceback.Length > 0)
        {
            throw new WebReplExecutionException(traceback, Encoding.UTF8.GetString(printed.ToArray()));
        }
    }

    /// <summary>Evaluates a Python expression on the board and returns its <c>repr</c>.</summary>
    public async Task<string> EvalAsync(string expression, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(expression);
        string output = await ExecAsync($"print(repr({expression}))", cancellationToken).ConfigureAwait(false);
        return output.TrimEnd('\r', '\n');
    }

    /// <summary>
    /// Soft reset (Ctrl-D at the friendly prompt): the board clears its Python state and keeps its files. Real
    /// boards end the WebREPL session when they reset, so the client then connects and logs in again, for up
    /// to <paramref name="reconnectWithin"/> (default: the connect timeout).
    /// </summary>
    /// <returns>The client to use from now on: this one if the board kept the connection, else a new one.</returns>
    public async Task<WebReplClient> SoftResetAsync(TimeSpan? reconnectWithin = null, CancellationToken cancellationToken = default)
    {
        await _operationLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _rawIdle = false; // Ctrl-B below leaves the raw REPL too
            var reader = new ReplReader(Output, Math.Max(_options.MaxOperationReplyBytes, ReplReader.MinimumPending));
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.ReplyTimeout);
            try
            {
                await SendTerminalAsync("\r\u0003\u0003\r\u0002"u8.ToArray(), timeout.Token).ConfigureAwait(false);
                await reader.ReadUntilAsync(">>> "u8.ToArray(), timeout.Token).ConfigureAwait(false);
                reader.Discard();
                await SendTerminalAsync("\u0004"u8.ToArray(), timeout.Token).ConfigureAwait(false);
                await reader.ReadUntilAsync("soft reboot"u8.ToArray(), timeout.Token).ConfigureAwait(false);
                await reader.ReadUntilAsync(">>> "u8.ToArray(), timeout.Token).ConfigureAwait(false);
                reader.ReturnPending();
                return this;
            }
            catch (WebReplConnectionException)
            {
                // The board ended the session as it reset: fall through to reconnect.
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (!Completion.IsCompleted)
                {
                    throw new WebReplTimeoutException($"{Target} did not come back from a soft reset within {_options.ReplyTimeout.TotalSeconds:0.#} s.");
                }
            }
        }
        finally
        {
            _operationLock.Release();
        }

        return await ReconnectAsync(reconnectWithin ?? _options.ConnectTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Hard reset (<c>machine.reset()</c>). The board drops the connection as it restarts; with
    /// <paramref name="wait"/>, connects and logs in again (for up to <paramref name="reconnectWithin"/>, default
    /// 30 s) and returns the new client, else returns null.
    /// </summary>
    public async Task<WebReplClient?> HardResetAsync(bool wait, TimeSpan? reconnectWithin = null, CancellationToken cancellationToken = default)
    {
        await _operationLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _rawRepl ??= new RawRepl(this);
            _rawIdle = false;
            await _rawRepl.EnterAsync(cancellationToken).ConfigureAwait(false);
            // The board takes the code ("OK") and resets without another word: the virtual board drops the
            // connection, a real one just goes silent (it restarts without closing its sockets). Only an error
            // (no machine module, say) comes back, at once.
            await SendTerminalAsync("import machine\nmachine.reset()\n\u0004"u8.ToArray(), cancellationToken).ConfigureAwait(false);
            var reader = new ReplReader(Output, Math.Max(_options.MaxOperationReplyBytes, ReplReader.MinimumPending));
            bool accepted = false;
            using var reply = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            reply.CancelAfter(_options.ReplyTimeout);
            try
            {
                await reader.ReadUntilAsync("OK"u8.ToArray(), reply.Token).ConfigureAwait(false);
                accepted = true;
                reply.CancelAfter(ResetSilence < _options.ReplyTimeout ? ResetSilence : _options.ReplyTimeout);
                byte[] answer = await reader.ReadUntilAsync("\u0004>"u8.ToArray(), reply.Token).ConfigureAwait(false);
                string text = Encoding.UTF8.GetString(answer);
                int error = text.IndexOf('\u0004', StringComparison.Ordinal);
                if (error >= 0 && error + 1 < text.Length)
                {
                    throw new WebReplExecutionException(text[(error + 1)..], text[..error]);
                }
            }
            catch (WebReplConnectionException)
            {
                // Expected: the board went away as it reset.
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (!accepted)
                {
                    throw new WebReplTimeoutException($"{Target} did not take the reset within {_options.ReplyTimeout.TotalSeconds:0.#} s.");
                }

                // Silent since it took the code: the board is restarting.
            }
        }
        finally
        {
            _operationLock.Release();
        }

        return wait ? await ReconnectAsync(reconnectWithin ?? TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false) : null;
    }

    /// <summary>
    /// Runs <paramref name="body"/> in the raw REPL, holding the operation lock. The board is left at the raw prompt
    /// for a moment (<see cref="RawIdleLinger"/>): a command that runs several programs (a stat then a listing, a
    /// sync's plan) enters the raw REPL once, not once per program, which saves two round trips each. It goes back to
    /// the friendly REPL when the moment has passed, before terminal input, and as the connection closes.
    /// </summary>
    internal async Task<T> WithRawReplAsync<T>(Func<RawRepl, CancellationToken, Task<T>> body, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _operationLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _rawRepl ??= new RawRepl(this);
            if (!_rawIdle)
            {
                await _rawRepl.EnterAsync(cancellationToken).ConfigureAwait(false);
            }

            _rawIdle = false;
            T result;
            try
            {
                result = await body(_rawRepl, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebReplProtocolException or WebReplTimeoutException)
            {
                // A reply cut short: the board may still be printing; do not wait for it.
                await _rawRepl.AbandonAsync().ConfigureAwait(false);
                throw;
            }
            catch (Exception ex) when (ex is not WebReplConnectionException and not OperationCanceledException)
            {
                // The code failed, and the board is back at the raw prompt.
                await AfterRawOperationAsync(cancellationToken).ConfigureAwait(false);
                throw;
            }

            await AfterRawOperationAsync(cancellationToken).ConfigureAwait(false);
            return result;
        }
        finally
        {
            _operationLock.Release();
        }
    }

    /// <summary>Under the operation lock: back to the friendly REPL now if an operation left the board at the raw prompt.</summary>
    internal async Task LeaveRawReplIfIdleAsync(CancellationToken cancellationToken)
    {
        if (_rawIdle)
        {
            _rawIdle = false;
            await _rawRepl!.LeaveAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>As the connection closes: Ctrl-B for a board left at the raw prompt, not waiting for its banner.</summary>
    private async Task LeaveRawReplUnawaitedAsync(CancellationToken cancellationToken)
    {
        if (!await _operationLock.WaitAsync(0, cancellationToken).ConfigureAwait(false))
        {
            return; // an operation is still under way: the close ends it anyway
        }

        try
        {
            if (_rawIdle)
            {
                _rawIdle = false;
                await SendTerminalAsync("\r\u0002"u8.ToArray(), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _operationLock.Release();
        }
    }

    /// <summary>
    /// Through a gateway the raw REPL is a lock on everyone else's keys (the gateway holds them until this client
    /// leaves it), so there the client leaves at once; on a board of its own it lingers for the next operation.
    /// </summary>
    private async Task AfterRawOperationAsync(CancellationToken cancellationToken)
    {
        if (IsSharedThroughGateway)
        {
            await _rawRepl!.LeaveAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            KeepRawReplIdle();
        }
    }

    /// <summary>A gateway's address (<c>/boards/NAME</c>, <c>/ws://...</c>): other clients may share the board. A board ignores the path.</summary>
    private bool IsSharedThroughGateway =>
        Target.Path.StartsWith("/boards/", StringComparison.Ordinal) ||
        Target.Path.StartsWith("/ws://", StringComparison.OrdinalIgnoreCase) ||
        Target.Path.StartsWith("/wss://", StringComparison.OrdinalIgnoreCase);

    private void KeepRawReplIdle()
    {
        _rawIdle = true;
        _ = LeaveRawReplLaterAsync(++_rawIdleGeneration);
    }

    /// <summary>Leaves the raw REPL once it has been idle for <see cref="RawIdleLinger"/>, unless another operation took it meanwhile.</summary>
    private async Task LeaveRawReplLaterAsync(int generation)
    {
        try
        {
            while (true)
            {
                await Task.Delay(RawIdleLinger, _shutdown.Token).ConfigureAwait(false);
                if (await _operationLock.WaitAsync(0, _shutdown.Token).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            return;
        }

        try
        {
            if (generation == _rawIdleGeneration && Volatile.Read(ref _disposed) == 0)
            {
                await LeaveRawReplIfIdleAsync(_shutdown.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebReplException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection is ending or the board is busy: the next operation enters the raw REPL afresh.
        }
        finally
        {
            try
            {
                _operationLock.Release();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>Connects and logs in again with the same target, options and password, retrying until <paramref name="within"/>.</summary>
    private async Task<WebReplClient> ReconnectAsync(TimeSpan within, CancellationToken cancellationToken)
    {
        string password = _password ?? throw new InvalidOperationException("The client was never logged in, so it cannot log in again.");
        await DisposeAsync().ConfigureAwait(false);
        var deadline = DateTime.UtcNow + within;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                return await ConnectAndLoginAsync(Target, password, _options, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is WebReplConnectionException or WebReplTimeoutException)
            {
                last = ex;
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
            }
        }

        throw new WebReplConnectionException($"{Target} did not accept a new connection within {within.TotalSeconds:0.#} s after the reset.", last);
    }
}
