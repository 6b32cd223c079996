using System.Text;
using WebRepl.Repl;
using WebRepl.Transport;

namespace WebRepl.Client;

/// <summary>
/// The client's use of the board's raw REPL: runs code in it under the operation lock, lingers at the raw prompt for
/// a moment so that a command running several programs enters it once, and goes back to the friendly REPL before
/// terminal input, after the linger, and as the connection closes. Also the resets, which need the REPL too.
/// </summary>
internal sealed class RawReplSession(ClientConnection connection, SemaphoreSlim operationLock, WebReplClientOptions options)
{
    /// <summary>How long a board that took <c>machine.reset()</c> may stay silent before it counts as restarting.</summary>
    private static readonly TimeSpan ResetSilence = TimeSpan.FromSeconds(1);

    /// <summary>How long the board stays at the raw prompt after an operation, for the next one to skip entering it.</summary>
    private static readonly TimeSpan RawIdleLinger = TimeSpan.FromMilliseconds(250);

    private readonly RawRepl _rawRepl = new(connection, options);
    private bool _rawIdle;
    private int _rawIdleGeneration;
    private volatile bool _closing;

    private WebReplTarget Target => connection.Target;

    /// <summary>
    /// Runs <paramref name="code"/> and returns what it printed, up to <see cref="WebReplClientOptions.MaxOperationReplyBytes"/>;
    /// with <paramref name="silence"/>, the longest the board may be silent at a time (the client's own programs).
    /// </summary>
    /// <exception cref="WebReplExecutionException">The code raised an exception.</exception>
    public async Task<string> ExecCollectingAsync(string code, TimeSpan? silence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(code);
        var output = new MemoryStream();
        string traceback = await WithRawReplAsync((repl, token) => repl.ExecAsync(Encoding.UTF8.GetBytes(code), (bytes, _) =>
        {
            if (output.Length + bytes.Length > options.MaxOperationReplyBytes)
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

    /// <summary>Runs <paramref name="code"/>, handing its output to <paramref name="output"/> as it comes.</summary>
    /// <exception cref="WebReplExecutionException">The code raised an exception.</exception>
    public async Task ExecStreamingAsync(string code, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> output, CancellationToken cancellationToken)
    {
        // Kept for the exception's Output, up to the reply limit (the rest has been handed on, as it came).
        var printed = new MemoryStream();
        string traceback = await WithRawReplAsync((repl, token) => repl.ExecAsync(Encoding.UTF8.GetBytes(code), async (bytes, t) =>
        {
            printed.Write(bytes.Span[..(int)Math.Min(bytes.Length, Math.Max(0, options.MaxOperationReplyBytes - printed.Length))]);
            await output(bytes, t).ConfigureAwait(false);
        }, token), cancellationToken).ConfigureAwait(false);
        if (traceback.Length > 0)
        {
            throw new WebReplExecutionException(traceback, Encoding.UTF8.GetString(printed.ToArray()));
        }
    }

    /// <summary>
    /// Under the operation lock: Ctrl-D at the friendly prompt, up to the prompt after "soft reboot".
    /// </summary>
    /// <returns>True when the board kept the connection; false when it ended the session as it reset.</returns>
    public async Task<bool> SoftResetAsync(CancellationToken cancellationToken)
    {
        _rawIdle = false; // Ctrl-B below leaves the raw REPL too
        var reader = new ReplReader(connection.Output, Math.Max(options.MaxOperationReplyBytes, ReplReader.MinimumPending));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ReplyTimeout);
        try
        {
            await connection.SendTextAsync("\r\u0003\u0003\r\u0002"u8.ToArray(), timeout.Token).ConfigureAwait(false);
            await reader.ReadUntilAsync(">>> "u8.ToArray(), timeout.Token).ConfigureAwait(false);
            reader.Discard();
            await connection.SendTextAsync("\u0004"u8.ToArray(), timeout.Token).ConfigureAwait(false);
            await reader.ReadUntilAsync("soft reboot"u8.ToArray(), timeout.Token).ConfigureAwait(false);
            await reader.ReadUntilAsync(">>> "u8.ToArray(), timeout.Token).ConfigureAwait(false);
            reader.ReturnPending();
            return true;
        }
        catch (WebReplConnectionException)
        {
            return false; // the board ended the session as it reset
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            if (!connection.Completion.IsCompleted)
            {
                throw new WebReplTimeoutException($"{Target} did not come back from a soft reset within {options.ReplyTimeout.TotalSeconds:0.#} s.");
            }

            return false;
        }
    }

    /// <summary>Under the operation lock: <c>machine.reset()</c> through the raw REPL; returns once the board took it.</summary>
    /// <exception cref="WebReplExecutionException">The board refused (no machine module, say).</exception>
    public async Task HardResetAsync(CancellationToken cancellationToken)
    {
        _rawIdle = false;
        await _rawRepl.EnterAsync(cancellationToken).ConfigureAwait(false);
        // The board takes the code ("OK") and resets without another word: the virtual board drops the
        // connection, a real one just goes silent (it restarts without closing its sockets). Only an error
        // (no machine module, say) comes back, at once.
        await connection.SendTextAsync("import machine\nmachine.reset()\n\u0004"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        var reader = new ReplReader(connection.Output, Math.Max(options.MaxOperationReplyBytes, ReplReader.MinimumPending));
        bool accepted = false;
        using var reply = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        reply.CancelAfter(options.ReplyTimeout);
        try
        {
            await reader.ReadUntilAsync("OK"u8.ToArray(), reply.Token).ConfigureAwait(false);
            accepted = true;
            reply.CancelAfter(ResetSilence < options.ReplyTimeout ? ResetSilence : options.ReplyTimeout);
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
                throw new WebReplTimeoutException($"{Target} did not take the reset within {options.ReplyTimeout.TotalSeconds:0.#} s.");
            }

            // Silent since it took the code: the board is restarting.
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> in the raw REPL, holding the operation lock. The board is left at the raw prompt
    /// for a moment (<see cref="RawIdleLinger"/>): a command that runs several programs (a stat then a listing, a
    /// sync's plan) enters the raw REPL once, not once per program, which saves two round trips each. It goes back to
    /// the friendly REPL when the moment has passed, before terminal input, and as the connection closes.
    /// </summary>
    public async Task<T> WithRawReplAsync<T>(Func<RawRepl, CancellationToken, Task<T>> body, CancellationToken cancellationToken)
    {
        await operationLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
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
            operationLock.Release();
        }
    }

    /// <summary>Under the operation lock: back to the friendly REPL now if an operation left the board at the raw prompt.</summary>
    public async Task LeaveIfIdleAsync(CancellationToken cancellationToken)
    {
        if (_rawIdle)
        {
            _rawIdle = false;
            await _rawRepl.LeaveAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>As the connection closes: Ctrl-B for a board left at the raw prompt, not waiting for its banner.</summary>
    public async Task LeaveAsClosingAsync(CancellationToken cancellationToken)
    {
        _closing = true;
        if (!await operationLock.WaitAsync(0, cancellationToken).ConfigureAwait(false))
        {
            return; // an operation is still under way: the close ends it anyway
        }

        try
        {
            if (_rawIdle)
            {
                _rawIdle = false;
                await connection.SendTextAsync("\r\u0002"u8.ToArray(), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            operationLock.Release();
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
            await _rawRepl.LeaveAsync(cancellationToken).ConfigureAwait(false);
        }
        else
        {
            _rawIdle = true;
            _ = LeaveLaterAsync(++_rawIdleGeneration);
        }
    }

    /// <summary>A gateway's address (<c>/boards/NAME</c>, <c>/ws://...</c>): other clients may share the board. A board ignores the path.</summary>
    private bool IsSharedThroughGateway =>
        Target.Path.StartsWith("/boards/", StringComparison.Ordinal) ||
        Target.Path.StartsWith("/ws://", StringComparison.OrdinalIgnoreCase) ||
        Target.Path.StartsWith("/wss://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Leaves the raw REPL once it has been idle for <see cref="RawIdleLinger"/>, unless another operation took it meanwhile.</summary>
    private async Task LeaveLaterAsync(int generation)
    {
        CancellationToken shutdown;
        try
        {
            shutdown = connection.ShutdownToken;
            while (true)
            {
                await Task.Delay(RawIdleLinger, shutdown).ConfigureAwait(false);
                if (await operationLock.WaitAsync(0, shutdown).ConfigureAwait(false))
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
            if (generation == _rawIdleGeneration && !_closing)
            {
                await LeaveIfIdleAsync(shutdown).ConfigureAwait(false);
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
                operationLock.Release();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
