using Microsoft.Extensions.Logging;
using WebRepl.Protocol;
using WebRepl.Transport;

namespace WebRepl.Client;

/// <summary>
/// WebREPL's own requests over binary frames: GET_VER, PUT_FILE and GET_FILE, pipelined (docs/protocol.md, "GET
/// pipelining"). One at a time: the caller holds the client's operation lock. A transfer that fails half way leaves
/// the board in the middle of a request, so the connection is dropped and the error says why.
/// </summary>
internal sealed class FileTransfers(ClientConnection connection, WebReplClientOptions options, ILogger logger)
{
    private const string GetOpenFailedHint = "The file probably does not exist or is a folder (boards send no error for that). Check the path.";
    private const string PutOpenFailedHint = "Its folder probably does not exist, or the path is a folder (boards send no error for that). Check the path.";

    private static readonly byte[] GetVersionRecord = new WebReplRequest(WebReplOperation.GetVersion, 0, string.Empty).ToArray();

    private string? _requestParserDirty;

    private WebReplTarget Target => connection.Target;

    /// <summary>GET_VER: the board's MicroPython version.</summary>
    public Task<WebReplVersion> GetVersionAsync(CancellationToken cancellationToken) =>
        RunAsync("version request", async token =>
        {
            await connection.SendBinaryAsync(GetVersionRecord, token).ConfigureAwait(false);
            byte[] reply = new byte[WebReplVersion.Length];
            await ReadBinaryAsync(reply, "version reply", token).ConfigureAwait(false);
            return WebReplVersion.Read(reply);
        }, cancellationToken);

    /// <summary>PUT_FILE: <paramref name="length"/> bytes of <paramref name="source"/> as <paramref name="remotePath"/>.</summary>
    public Task<long> PutAsync(Stream source, long length, string remotePath, IProgress<long>? progress, CancellationToken cancellationToken) =>
        RunAsync($"put of '{remotePath}'", async token =>
        {
            string what = $"put of '{remotePath}'";
            await connection.SendBinaryAsync(new WebReplRequest(WebReplOperation.PutFile, (uint)length, remotePath).ToArray(), token).ConfigureAwait(false);
            await ReadStatusAsync(what, token, PutOpenFailedHint).ConfigureAwait(false);
            byte[] buffer = new byte[Math.Clamp(options.PutChunkSize, 1, 65535)];
            long sent = 0;
            while (sent < length)
            {
                int read = await source.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, length - sent)), token).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new IOException($"The local file ended after {sent} of {length} bytes: it changed while being sent.");
                }

                await connection.SendBinaryAsync(buffer.AsMemory(0, read), token).ConfigureAwait(false);
                sent += read;
                progress?.Report(sent);
            }

            await ReadStatusAsync(what, token).ConfigureAwait(false);
            ClientLog.Transfer(logger, "put", remotePath, length);
            return length;
        }, cancellationToken);

    /// <summary>GET_FILE into <paramref name="destination"/>, with as many chunk requests in flight as <paramref name="getOptions"/> allow.</summary>
    public Task<long> GetAsync(string remotePath, Stream destination, IProgress<long>? progress, WebReplGetOptions getOptions, CancellationToken cancellationToken) =>
        RunAsync($"get of '{remotePath}'", token => GetCoreAsync(remotePath, destination, progress, getOptions, token), cancellationToken);

    /// <summary>
    /// Runs one transfer. A transfer that fails half way leaves the board in the middle of a request, so the
    /// connection is dropped: the error says why.
    /// </summary>
    private async Task<T> RunAsync<T>(string what, Func<CancellationToken, Task<T>> transfer, CancellationToken cancellationToken)
    {
        if (connection.Completion.IsCompleted)
        {
            throw new WebReplConnectionException($"{Target}: {connection.CloseDescription}. Connect again.");
        }

        if (_requestParserDirty is not null)
        {
            throw new WebReplConnectionException($"{Target}: {_requestParserDirty} No file transfer is possible on this connection (the terminal still works). Connect again.");
        }

        try
        {
            return await transfer(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not WebReplRemoteException and not ArgumentException)
        {
            // The board is mid-request: nothing sent later would be understood.
            connection.Abort();
            if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw new WebReplTimeoutException($"The {what} got no reply from {Target} within {options.ReplyTimeout.TotalSeconds:0.#} s; the connection was closed.", ex);
            }

            throw;
        }
        catch (WebReplRemoteException ex) when (ex is not WebReplFileChangedException { ConnectionKept: true })
        {
            connection.Abort();
            throw;
        }
    }

    private async Task<long> GetCoreAsync(string remotePath, Stream destination, IProgress<long>? progress, WebReplGetOptions getOptions, CancellationToken token)
    {
        string what = $"get of '{remotePath}'";
        var window = new GetRequestWindow(getOptions.ExpectedSize, Math.Max(1, options.GetWindow), getOptions.SessionEndsAfter);

        // The record and the first requests in one write: the board opens the file, replies, then reads the zeros waiting.
        int first = window.Due();
        byte[] opening = new byte[WebReplRequest.Length + first];
        new WebReplRequest(WebReplOperation.GetFile, 0, remotePath).Write(opening);
        await connection.SendBinaryAsync(opening, token).ConfigureAwait(false);
        window.OnSent(first);
        await ReadStatusAsync(what, token, GetOpenFailedHint).ConfigureAwait(false);
        await ReceiveChunksAsync(what, window, destination, progress, getOptions, token).ConfigureAwait(false);

        await ReadStatusAsync(what, token).ConfigureAwait(false);
        bool clean = await ClearSurplusAsync(window.Surplus, token).ConfigureAwait(false);
        if (getOptions.ExpectedSize is long expected && window.Received != expected)
        {
            if (!clean)
            {
                await connection.CloseQuietlyAsync("file changed during a fetch").ConfigureAwait(false);
            }

            throw new WebReplFileChangedException(
                $"The {what} stopped: the file changed on the board during the fetch ({window.Received} bytes came where {expected} were listed). Nothing was kept{(clean ? string.Empty : "; the connection was closed")}. Try again.",
                connectionKept: clean);
        }

        if (!clean)
        {
            // The board holds the surplus requests as the start of a record: no later transfer would be understood.
            _requestParserDirty = $"the last fetch left {window.Surplus} unanswered chunk requests, which the board holds as the start of a request record.";
        }

        ClientLog.Transfer(logger, "get", remotePath, window.Received);
        return window.Received;
    }

    /// <summary>The chunks up to the empty one that ends the file, each answered with as many requests as the window lets out.</summary>
    private async Task ReceiveChunksAsync(string what, GetRequestWindow window, Stream destination, IProgress<long>? progress, WebReplGetOptions getOptions, CancellationToken token)
    {
        byte[] chunk = new byte[WebReplChunk.MaxData];
        byte[] header = new byte[WebReplChunk.HeaderLength];
        byte[] zeros = [];
        while (true)
        {
            await ReadBinaryAsync(header, "data chunk", token).ConfigureAwait(false);
            int length = WebReplChunk.ReadHeader(header);
            if (length > WebReplChunk.MaxData)
            {
                throw new WebReplProtocolException($"The {what} got a chunk of {length} bytes from {Target}; boards send at most {WebReplChunk.MaxData}.");
            }

            window.OnChunk(length);
            if (window.Overran)
            {
                // Grown: the board is still in the GET and would go on as long as asked; only a close ends that.
                await connection.CloseQuietlyAsync("file changed during a fetch").ConfigureAwait(false);
                throw new WebReplFileChangedException(
                    $"The {what} stopped: the file changed on the board during the fetch (it grew beyond the {getOptions.ExpectedSize} bytes listed). Nothing was kept; the connection was closed. Try again.",
                    connectionKept: false);
            }

            if (length == 0)
            {
                return;
            }

            await ReadBinaryAsync(chunk.AsMemory(0, length), "data chunk", token).ConfigureAwait(false);
            await destination.WriteAsync(chunk.AsMemory(0, length), token).ConfigureAwait(false);
            progress?.Report(window.Received);
            int due = window.Due();
            if (due > 0)
            {
                if (zeros.Length < due)
                {
                    zeros = new byte[Math.Max(due, 64)];
                }

                await connection.SendBinaryAsync(zeros.AsMemory(0, due), token).ConfigureAwait(false);
                window.OnSent(due);
            }
        }
    }

    /// <summary>
    /// Completes the record that surplus chunk requests began on the board, when it can: with at most two, the
    /// rest of a GET_VER record (the signature is never checked), and its 3-byte reply is read and dropped.
    /// </summary>
    /// <returns>False when more than two are surplus: the board's request parser cannot be brought back.</returns>
    private async Task<bool> ClearSurplusAsync(int surplus, CancellationToken token)
    {
        if (surplus == 0)
        {
            return true;
        }

        if (surplus > GetRequestWindow.MaxRecoverableSurplus)
        {
            return false;
        }

        await connection.SendBinaryAsync(GetVersionRecord.AsMemory(surplus), token).ConfigureAwait(false);
        byte[] version = new byte[WebReplVersion.Length];
        await ReadBinaryAsync(version, "version reply", token).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Reads a status reply. <paramref name="openFailedHint"/>, given for the reply to opening a file, turns
    /// silence or a drop into a <see cref="WebReplRemoteException"/>: that is how a board reports a bad path.
    /// </summary>
    private async Task ReadStatusAsync(string what, CancellationToken cancellationToken, string? openFailedHint = null)
    {
        byte[] status = new byte[WebReplStatus.Length];
        try
        {
            await ReadBinaryAsync(status, "status", cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (openFailedHint is not null && ex is WebReplConnectionException or WebReplTimeoutException)
        {
            throw new WebReplRemoteException(
                $"The {what} failed: {Target} {(ex is WebReplTimeoutException ? $"sent no reply within {options.ReplyTimeout.TotalSeconds:0.#} s" : "dropped the connection")}. " +
                openFailedHint, ex);
        }

        if (!WebReplStatus.TryRead(status, out ushort code))
        {
            throw new WebReplProtocolException($"The {what} got a malformed status reply from {Target}: {Convert.ToHexString(status)}.");
        }

        if (code != 0)
        {
            throw new WebReplRemoteException($"The {what} failed: {Target} replied with error code {code}.");
        }
    }

    private ValueTask ReadBinaryAsync(Memory<byte> destination, string what, CancellationToken cancellationToken) =>
        connection.ReadBinaryAsync(destination, what, options.ReplyTimeout, cancellationToken);
}
