using WebRepl.Protocol;

namespace WebRepl;

/// <summary>GET_FILE, pipelined (docs/protocol.md, "GET pipelining").</summary>
public sealed partial class WebReplClient
{
    private static readonly byte[] GetVersionRecord = new WebReplRequest(WebReplOperation.GetVersion, 0, string.Empty).ToArray();

    /// <summary>
    /// Fetches a board file into a local file, atomically: the bytes go to a temporary file beside it, renamed
    /// at the end; a failed or cancelled fetch leaves no partial file and keeps an existing one.
    /// </summary>
    /// <returns>The number of bytes fetched.</returns>
    public Task<long> GetFileAsync(string remotePath, string localPath, IProgress<long>? progress = null, CancellationToken cancellationToken = default) =>
        GetFileAsync(remotePath, localPath, progress, null, cancellationToken);

    /// <summary>Fetches a board file into a local file, atomically, as <paramref name="options"/> say.</summary>
    /// <returns>The number of bytes fetched.</returns>
    /// <exception cref="WebReplFileChangedException">The file's size changed on the board during the fetch (with a known size).</exception>
    public async Task<long> GetFileAsync(string remotePath, string localPath, IProgress<long>? progress, WebReplGetOptions? options, CancellationToken cancellationToken = default)
    {
        WebReplRequest.ValidateFileName(remotePath);
        string fullPath = Path.GetFullPath(localPath);
        string directory = Path.GetDirectoryName(fullPath) ?? ".";
        string temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.webrepl-part");
        try
        {
            long length;
            var destination = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true);
            await using (destination.ConfigureAwait(false))
            {
                length = await GetFileAsync(remotePath, destination, progress, options, cancellationToken).ConfigureAwait(false);
                await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            File.Move(temporary, fullPath, overwrite: true);
            return length;
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    /// <summary>Fetches a board file into <paramref name="destination"/> (GET_FILE); the size is not known, so at most three chunk requests are in flight.</summary>
    /// <returns>The number of bytes fetched.</returns>
    /// <exception cref="WebReplRemoteException">The board did not answer, or dropped the connection (a missing file does that).</exception>
    public Task<long> GetFileAsync(string remotePath, Stream destination, IProgress<long>? progress = null, CancellationToken cancellationToken = default) =>
        GetFileAsync(remotePath, destination, progress, null, cancellationToken);

    /// <summary>
    /// Fetches a board file into <paramref name="destination"/> (GET_FILE), with several chunk requests in flight as
    /// <paramref name="options"/> allow. With a known size, the destination never gets more than that many bytes.
    /// </summary>
    /// <returns>The number of bytes fetched.</returns>
    /// <exception cref="WebReplRemoteException">The board did not answer, or dropped the connection (a missing file does that).</exception>
    /// <exception cref="WebReplFileChangedException">The file's size changed on the board during the fetch (with a known size).</exception>
    public async Task<long> GetFileAsync(string remotePath, Stream destination, IProgress<long>? progress, WebReplGetOptions? options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        WebReplRequest.ValidateFileName(remotePath);
        options ??= WebReplGetOptions.Default;
        await _operationLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await RunTransferAsync($"get of '{remotePath}'", token => GetCoreAsync(remotePath, destination, progress, options, token), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _operationLock.Release();
        }
    }

    private async Task<long> GetCoreAsync(string remotePath, Stream destination, IProgress<long>? progress, WebReplGetOptions options, CancellationToken token)
    {
        string what = $"get of '{remotePath}'";
        var window = new GetRequestWindow(options.ExpectedSize, Math.Max(1, _options.GetWindow), options.SessionEndsAfter);

        // The record and the first requests in one write: the board opens the file, replies, then reads the zeros waiting.
        int first = window.Due();
        byte[] opening = new byte[WebReplRequest.Length + first];
        new WebReplRequest(WebReplOperation.GetFile, 0, remotePath).Write(opening);
        await SendBinaryAsync(opening, token).ConfigureAwait(false);
        window.OnSent(first);
        await ReadStatusAsync(what, token, GetOpenFailedHint).ConfigureAwait(false);

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
                await CloseQuietlyAsync().ConfigureAwait(false);
                throw new WebReplFileChangedException(
                    $"The {what} stopped: the file changed on the board during the fetch (it grew beyond the {options.ExpectedSize} bytes listed). Nothing was kept; the connection was closed. Try again.",
                    connectionKept: false);
            }

            if (length == 0)
            {
                break;
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

                await SendBinaryAsync(zeros.AsMemory(0, due), token).ConfigureAwait(false);
                window.OnSent(due);
            }
        }

        await ReadStatusAsync(what, token).ConfigureAwait(false);
        bool clean = await ClearSurplusAsync(window.Surplus, token).ConfigureAwait(false);
        if (options.ExpectedSize is long expected && window.Received != expected)
        {
            if (!clean)
            {
                await CloseQuietlyAsync().ConfigureAwait(false);
            }

            throw new WebReplFileChangedException(
                $"The {what} stopped: the file changed on the board during the fetch ({window.Received} bytes came where {expected} were listed). Nothing was kept{(clean ? string.Empty : "; the connection was closed")}. Try again.",
                connectionKept: clean);
        }

        if (!clean)
        {
            MarkRequestParserDirty(window.Surplus);
        }

        LogTransfer(_logger, "get", remotePath, window.Received);
        return window.Received;
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

        await SendBinaryAsync(GetVersionRecord.AsMemory(surplus), token).ConfigureAwait(false);
        byte[] version = new byte[WebReplVersion.Length];
        await ReadBinaryAsync(version, "version reply", token).ConfigureAwait(false);
        return true;
    }

    private async Task CloseQuietlyAsync()
    {
        using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await _connection.CloseAsync(1000, "file changed during a fetch", quick.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebReplException)
        {
            // Closed below anyway.
        }
    }
}
