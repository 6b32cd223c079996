using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using WebRepl.Repl;
using WebRepl.Transport;

namespace WebRepl.Client;

/// <summary>
/// A client's connection: the WebSocket and the background reader that sorts what the board sends (text frames to
/// the terminal output, binary frames to the transfer in progress), and why the connection ended once it has. The
/// raw REPL reaches the board through it as an <see cref="IReplTerminal"/>.
/// </summary>
internal sealed class ClientConnection : IReplTerminal, IAsyncDisposable
{
    private readonly WebSocketConnection _connection;
    private readonly ILogger _logger;
    private readonly string _targetText;
    private readonly Channel<ReadOnlyMemory<byte>> _output = Channel.CreateUnbounded<ReadOnlyMemory<byte>>(new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });
    private readonly Channel<ReadOnlyMemory<byte>> _binary = Channel.CreateUnbounded<ReadOnlyMemory<byte>>(new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Task _receiveLoop;
    private ReadOnlyMemory<byte> _binaryPending;
    private volatile string _closeDescription = "the connection is closed";

    public ClientConnection(WebSocketConnection connection, WebReplTarget target, ILogger logger)
    {
        _connection = connection;
        _logger = logger;
        Target = target;
        _targetText = target.ToString();
        Output = new TerminalOutput(_output.Reader, () => new WebReplConnectionException($"{Target}: {_closeDescription}."));
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    /// <summary>The board (or gateway) at the other end.</summary>
    public WebReplTarget Target { get; }

    /// <summary>The board's terminal output.</summary>
    public TerminalOutput Output { get; }

    /// <summary>Completes when the connection has ended.</summary>
    public Task Completion => _receiveLoop;

    /// <summary>Why the connection ended, once it has.</summary>
    public string CloseDescription => _closeDescription;

    /// <summary>True when the other end closed with a status (a gateway says why; a board closes bare).</summary>
    public bool ClosedWithStatus { get; private set; }

    /// <summary>Cancelled as the client is disposed: background work (the raw REPL's linger) stops with it.</summary>
    public CancellationToken ShutdownToken => _shutdown.Token;

    /// <summary>Sends terminal bytes in one text frame.</summary>
    public ValueTask SendTextAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken) =>
        _connection.SendAsync(input, WebSocketFrameType.Text, true, cancellationToken);

    /// <summary>Sends transfer bytes in one binary frame.</summary>
    public ValueTask SendBinaryAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        _connection.SendAsync(payload, WebSocketFrameType.Binary, true, cancellationToken);

    /// <summary>
    /// Reads exactly <paramref name="destination"/>'s length from the binary frames, as one byte stream, within
    /// <paramref name="timeout"/>.
    /// </summary>
    /// <exception cref="WebReplTimeoutException">Nothing came in time.</exception>
    /// <exception cref="WebReplConnectionException">The connection ended first.</exception>
    public async ValueTask ReadBinaryAsync(Memory<byte> destination, string what, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(timeout);
        try
        {
            while (!destination.IsEmpty)
            {
                if (_binaryPending.IsEmpty)
                {
                    if (!_binary.Reader.TryRead(out _binaryPending))
                    {
                        if (!await _binary.Reader.WaitToReadAsync(bound.Token).ConfigureAwait(false))
                        {
                            throw new WebReplConnectionException($"{Target}: {_closeDescription} while waiting for the {what}.");
                        }

                        continue;
                    }
                }

                int n = Math.Min(destination.Length, _binaryPending.Length);
                _binaryPending[..n].CopyTo(destination);
                _binaryPending = _binaryPending[n..];
                destination = destination[n..];
            }
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WebReplTimeoutException($"{Target} sent no {what} within {timeout.TotalSeconds:0.#} s.", ex);
        }
    }

    /// <summary>Sends a close frame, within a second at most; a connection already gone is no error.</summary>
    public async Task CloseQuietlyAsync(string reason)
    {
        using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await _connection.CloseAsync(1000, reason, quick.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebReplException)
        {
            // Closed below anyway.
        }
    }

    /// <summary>Sends the close frame and waits for the board's answer, which comes as it ends the session.</summary>
    public async Task CloseAsync(string reason, CancellationToken cancellationToken)
    {
        await _connection.CloseAsync(1000, reason, cancellationToken).ConfigureAwait(false);
        await _receiveLoop.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Drops the connection at once (a transfer failed half way: nothing sent later would be understood).</summary>
    public void Abort() => _connection.Abort();

    public async ValueTask DisposeAsync()
    {
        await _shutdown.CancelAsync().ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        await _receiveLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _shutdown.Dispose();
    }

    ValueTask IReplTerminal.SendAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken) => SendTextAsync(input, cancellationToken);

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (true)
            {
                var frame = await _connection.ReceiveAsync(_shutdown.Token).ConfigureAwait(false);
                switch (frame.Type)
                {
                    case WebSocketFrameType.Text:
                        if (!frame.Payload.IsEmpty)
                        {
                            _output.Writer.TryWrite(frame.Payload);
                        }

                        break;
                    case WebSocketFrameType.Binary:
                        _binary.Writer.TryWrite(frame.Payload);
                        break;
                    default:
                        ClosedWithStatus = frame.CloseStatus is not null;
                        _closeDescription = Describe(frame);
                        return;
                }
            }
        }
        catch (OperationCanceledException) when (_shutdown.IsCancellationRequested)
        {
            _closeDescription = "the connection was closed by this client";
        }
        catch (WebReplException ex)
        {
            _closeDescription = "the connection was lost: " + ex.Message;
        }
        finally
        {
            ClientLog.Closed(_logger, _targetText, _closeDescription);
            _output.Writer.TryComplete();
            _binary.Writer.TryComplete();
        }
    }

    private static string Describe(WebSocketFrame close) => close.CloseStatus is int status
        ? $"the other end (a board or a gateway) closed the connection ({status}{(string.IsNullOrEmpty(close.CloseReason) ? string.Empty : ": " + close.CloseReason)})"
        : close.CloseReason is null ? "the board closed the connection" : $"the board closed the connection ({close.CloseReason})";
}
