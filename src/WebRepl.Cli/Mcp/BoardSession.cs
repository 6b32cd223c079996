using System.Diagnostics;

namespace WebRepl.Cli.Mcp;

/// <summary>
/// The MCP server's one connection to the board, opened on the first call and kept (a board takes one WebREPL
/// client at a time, and a login costs round trips). Calls take turns; a connection found closed is opened again
/// on the next call; <see cref="CancelRunning"/> can stop the call that runs.
/// </summary>
internal sealed class BoardSession(Func<CancellationToken, Task<WebReplClient>> connect, Action<string> log) : IAsyncDisposable
{
    /// <summary>How long a reconnect keeps trying while the board refuses connections (it is restarting).</summary>
    private static readonly TimeSpan ReconnectWindow = TimeSpan.FromSeconds(15);

    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly Lock _runningGate = new();
    private WebReplClient? _client;
    private CancellationTokenSource? _running;

    /// <summary>
    /// Runs <paramref name="operation"/> with a connected client, in turn with other calls. When the connection was
    /// open before this call and turns out closed, a <paramref name="retryable"/> operation (one that changes nothing)
    /// runs once more on a new connection; another reports the drop and the next call reconnects.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<WebReplClient, CancellationToken, Task<T>> operation, bool retryable, CancellationToken cancellationToken)
    {
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        using var running = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        lock (_runningGate)
        {
            _running = running;
        }

        try
        {
            for (int attempt = 0; ; attempt++)
            {
                bool reused = _client is { Completion.IsCompleted: false };
                var client = await GetClientAsync(running.Token).ConfigureAwait(false);
                try
                {
                    return await operation(client, running.Token).ConfigureAwait(false);
                }
                catch (WebReplConnectionException)
                {
                    await DropAsync(client, $"connection lost ({client.CloseDescription})").ConfigureAwait(false);
                    if (!(retryable && reused && attempt == 0))
                    {
                        throw;
                    }
                }
                catch (WebReplTimeoutException)
                {
                    // The board did not answer in time: whatever state the connection is in, start afresh next time.
                    await DropAsync(client, "no answer in time").ConfigureAwait(false);
                    throw;
                }
            }
        }
        finally
        {
            lock (_runningGate)
            {
                _running = null;
            }

            _turn.Release();
        }
    }

    /// <summary>Replaces the client after an operation that gives a new one (a reset).</summary>
    public void Replace(WebReplClient? client) => _client = client;

    /// <summary>Stops the call that runs, if any (its program is interrupted on the board); true when there was one.</summary>
    public bool CancelRunning()
    {
        lock (_runningGate)
        {
            if (_running is null)
            {
                return false;
            }

            _running.Cancel();
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
            _client = null;
        }

        _turn.Dispose();
    }

    private async Task<WebReplClient> GetClientAsync(CancellationToken cancellationToken)
    {
        if (_client is { Completion.IsCompleted: false } open)
        {
            return open;
        }

        if (_client is not null)
        {
            await DropAsync(_client, $"connection lost ({_client.CloseDescription})").ConfigureAwait(false);
        }

        // A board that restarts refuses connections for a moment: keep trying within the window.
        var watch = Stopwatch.StartNew();
        for (int delay = 100; ; delay = Math.Min(delay * 2, 1000))
        {
            try
            {
                _client = await connect(cancellationToken).ConfigureAwait(false);
                log($"connected to {_client.Target}");
                return _client;
            }
            catch (WebReplConnectionException) when (watch.Elapsed + TimeSpan.FromMilliseconds(delay) < ReconnectWindow)
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task DropAsync(WebReplClient client, string why)
    {
        if (ReferenceEquals(_client, client))
        {
            _client = null;
        }

        log($"{why}; the next call reconnects");
        await client.DisposeAsync().ConfigureAwait(false);
    }
}
