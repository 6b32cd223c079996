using System.Net.Security;
using System.Net.Sockets;

namespace WebRepl.Transport;

/// <summary>
/// Opens a client connection: TCP (or TLS), then the opening handshake; and turns what goes wrong on the way into
/// an error that tells the user what to check.
/// </summary>
internal static class WebSocketConnector
{
    /// <summary>See <see cref="WebSocketConnection.ConnectAsync"/>.</summary>
    public static async Task<WebSocketConnection> ConnectAsync(WebReplTarget target, WebSocketConnectOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(options);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        try
        {
            if (options.ConnectAddress is { } address)
            {
                await socket.ConnectAsync(address, target.Port, timeout.Token).ConfigureAwait(false);
            }
            else
            {
                await socket.ConnectAsync(target.Host, target.Port, timeout.Token).ConfigureAwait(false);
            }

            stream = new QuickAckStream(socket, options.ImmediateAck);
            if (target.IsSecure)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(
                    new SslClientAuthenticationOptions
                    {
                        TargetHost = target.Host,
                        RemoteCertificateValidationCallback = options.RemoteCertificateValidation,
                    },
                    timeout.Token).ConfigureAwait(false);
            }

            var head = await HandshakeAsync(stream, target, options, timeout.Token).ConfigureAwait(false);
            return new WebSocketConnection(stream, socket, WebSocketBehavior.Client, head.Leftover, options.MaxFrameBytes, options.ReceiveBufferSize);
        }
        catch (Exception ex)
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            socket.Dispose();
            var translated = Translate(ex, target, options, cancellationToken);
            if (ReferenceEquals(translated, ex))
            {
                throw;
            }

            throw translated;
        }
    }

    private static async Task<HttpHead> HandshakeAsync(Stream stream, WebReplTarget target, WebSocketConnectOptions options, CancellationToken cancellationToken)
    {
        string key = WebSocketHandshake.CreateKey();
        byte[] request = WebSocketHandshake.BuildClientRequest(target, key, options.RequestHeaders);
        await stream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        HttpHead head = await WebSocketHandshake.ReadHeadAsync(stream, cancellationToken).ConfigureAwait(false)
            ?? throw new WebReplConnectionException($"{target} closed the connection during the WebSocket handshake. Is it a WebREPL board (or a gateway) at that address?");
        WebSocketHandshake.CheckServerResponse(head, key, target);
        return head;
    }

    /// <summary>The exception to throw for a failed connect: the library's own, with a hint; the caller's cancellation as it is.</summary>
    private static Exception Translate(Exception ex, WebReplTarget target, WebSocketConnectOptions options, CancellationToken cancellationToken) => ex switch
    {
        WebReplException => ex,
        OperationCanceledException when !cancellationToken.IsCancellationRequested => new WebReplTimeoutException(
            $"No connection to {target} within {options.ConnectTimeout.TotalSeconds:0.#} s. Is the board on, on this network, and running WebREPL?", ex),
        OperationCanceledException => ex,
        _ => new WebReplConnectionException(DescribeFailure(target, ex), ex),
    };

    private static string DescribeFailure(WebReplTarget target, Exception ex) => ex switch
    {
        SocketException { SocketErrorCode: SocketError.ConnectionRefused } =>
            $"Cannot connect to {target}: connection refused. Is WebREPL running on the board (import webrepl; webrepl.start()) and the port right?",
        SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain } =>
            $"Cannot connect to {target}: the host name '{target.Host}' does not resolve. Check the address.",
        SocketException { SocketErrorCode: SocketError.NetworkUnreachable or SocketError.HostUnreachable } =>
            $"Cannot connect to {target}: no route to the host. Is this computer on the board's network?",
        System.Security.Authentication.AuthenticationException =>
            $"Cannot connect to {target}: the TLS handshake failed ({ex.Message}). Check the certificate, or use ws:// for a board.",
        _ => $"Cannot connect to {target}: {ex.Message}",
    };
}
