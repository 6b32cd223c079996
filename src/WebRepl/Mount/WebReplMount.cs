using System.Runtime.CompilerServices;
using WebRepl.Repl;

namespace WebRepl.Mount;

/// <summary>
/// A local folder mounted on the board (at <c>/remote</c>, the board's current folder while mounted), served over the
/// client's WebREPL connection: the board's file operations there become requests on its stdout, answered on its
/// stdin (docs/mount.md). Run code with <see cref="ExecAsync"/>, or use the REPL through <see cref="ReadOutputAsync"/>
/// and <see cref="SendInputAsync"/>; either way the board's requests are answered and the user sees only what the
/// board printed. Once mounted, read the client's output only through this object.
/// </summary>
public sealed class WebReplMount
{
    private static readonly byte[] SoftReboot = "soft reboot"u8.ToArray();
    private static readonly byte[] FriendlyPrompt = ">>> "u8.ToArray();

    private readonly WebReplClient _client;

    private IMountChannel Channel => _client;
    private readonly WebReplMountOptions _options;
    private readonly MountedFolder _folder;
    private readonly string _token;
    private readonly MountOutputFilter _filter;
    private readonly List<byte> _tail = [];
    private bool _rebooted;

    private WebReplMount(WebReplClient client, string localFolder, WebReplMountOptions options)
    {
        _client = client;
        _options = options;
        _folder = new MountedFolder(localFolder, options) { Refused = options.Notice };
        _token = MountWire.NewToken();
        _filter = new MountOutputFilter(_token);
    }

    /// <summary>The local folder served (resolved).</summary>
    public string LocalFolder => _folder.Root;

    /// <summary>Where it is on the board.</summary>
    public string MountPoint => _options.MountPoint;

    /// <summary>True from the mount to <see cref="UnmountAsync"/> (false again if a remount after a soft reset failed).</summary>
    public bool IsMounted { get; private set; }

    /// <summary>The board's requests answered so far.</summary>
    public long Requests => _folder.Requests;

    /// <summary>
    /// Mounts <paramref name="localFolder"/> on the board and makes it the board's current folder. Interrupts what
    /// the board runs (as any raw REPL operation does).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The local folder does not exist.</exception>
    /// <exception cref="WebReplExecutionException">The board could not mount it (a firmware without <c>os.mount</c>, say).</exception>
    public static async Task<WebReplMount> MountAsync(WebReplClient client, string localFolder, WebReplMountOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        options ??= WebReplMountOptions.Default;
        options.Validate();
        var mount = new WebReplMount(client, localFolder, options);
        await mount.MountOnBoardAsync(cancellationToken).ConfigureAwait(false);
        return mount;
    }

    /// <summary>
    /// Runs <paramref name="code"/> on the board through the raw REPL, answering its requests; what it prints goes to
    /// <paramref name="output"/>. Cancelling interrupts the code on the board.
    /// </summary>
    /// <exception cref="WebReplExecutionException">The code raised an exception; it carries the board's traceback.</exception>
    public async Task ExecAsync(string code, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(code);
        ArgumentNullException.ThrowIfNull(output);
        // Cancelling sends Ctrl-C and keeps answering: a board waiting for a reply (Ctrl-C off meanwhile) gets it, then
        // raises KeyboardInterrupt. Only a board still running after the reply timeout gets the raw REPL's own interrupt.
        using var run = new CancellationTokenSource();
        using var registration = cancellationToken.Register(() => _ = InterruptAsync(run));
        try
        {
            await _client.ExecAsync(code, (bytes, token) => FilterAsync(bytes, output, lockHeld: true, token), run.Token).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
        catch (Exception ex) when (ex is WebReplExecutionException or OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The code was interrupted.", ex, cancellationToken);
        }
        finally
        {
            var held = _filter.Drain();
            if (!held.IsEmpty)
            {
                await output(held, CancellationToken.None).ConfigureAwait(false);
            }

            await LeaveRawReplAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The board's terminal output as the user should see it, until the connection ends: requests are answered and
    /// removed, everything else passes byte for byte. After a soft reset (the board printing <c>soft reboot</c>, then
    /// its prompt) the folder is mounted again before more output is read, and <see cref="WebReplMountOptions.Notice"/>
    /// says so.
    /// </summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadOutputAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            ReadOnlyMemory<byte> chunk;
            try
            {
                chunk = await _client.Output.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (WebReplConnectionException)
            {
                IsMounted = false;
                break;
            }

            var shown = new List<ReadOnlyMemory<byte>>();
            await FilterAsync(chunk, (bytes, _) =>
            {
                shown.Add(bytes);
                return ValueTask.CompletedTask;
            }, lockHeld: false, cancellationToken).ConfigureAwait(false);
            foreach (var bytes in shown)
            {
                yield return bytes;
            }

            if (shown.Count > 0 && WatchForReboot(shown))
            {
                await RemountAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        var held = _filter.Drain();
        if (!held.IsEmpty)
        {
            yield return held;
        }
    }

    /// <summary>Sends the user's keys to the board (never in the middle of a reply).</summary>
    public ValueTask SendInputAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken = default) =>
        _client.SendInputAsync(input, cancellationToken);

    /// <summary>Unmounts the folder and leaves the board's current folder at <c>/</c> if it was inside. Does nothing when not mounted.</summary>
    public async Task UnmountAsync(CancellationToken cancellationToken = default)
    {
        if (!IsMounted)
        {
            return;
        }

        IsMounted = false;
        await ExecAsync(BoardMountCode.Unmount(_options.MountPoint), (_, _) => ValueTask.CompletedTask, cancellationToken).ConfigureAwait(false);
    }

    private async Task MountOnBoardAsync(CancellationToken cancellationToken)
    {
        // The mount code prints nothing; whatever else the board says here (a late banner) is not the user's business.
        string code = BoardMountCode.Mount(_token, _options.MountPoint, _options.WriteChunk, _options.BoardTimeout);
        await ExecAsync(code, (_, _) => ValueTask.CompletedTask, cancellationToken).ConfigureAwait(false);
        IsMounted = true;
    }

    private async Task RemountAsync(CancellationToken cancellationToken)
    {
        try
        {
            await MountOnBoardAsync(cancellationToken).ConfigureAwait(false);
            _options.Notice?.Invoke($"soft reset: mounted the folder again at {_options.MountPoint}");
        }
        catch (Exception ex) when (ex is WebReplException or WebReplExecutionException)
        {
            IsMounted = false;
            _options.Notice?.Invoke($"soft reset: could not mount the folder again ({ex.Message}); it is no longer mounted");
        }
    }

    /// <summary>Answers the requests in <paramref name="bytes"/> and hands on the rest.</summary>
    private async ValueTask FilterAsync(ReadOnlyMemory<byte> bytes, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> output, bool lockHeld, CancellationToken cancellationToken)
    {
        foreach (var part in _filter.Feed(bytes.Span))
        {
            if (!part.IsRequest)
            {
                await output(part.UserBytes, cancellationToken).ConfigureAwait(false);
                continue;
            }

            byte[] reply = _folder.Handle(part.Request);
            // At the REPL the operation lock keeps the user's keys out of the reply's bytes; inside the exec it is held.
            await Channel.SendToBoardAsync(reply, lockHeld, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Ctrl-C for the code that runs; the exec's own cancellation after the reply timeout, if the code goes on.</summary>
    private async Task InterruptAsync(CancellationTokenSource run)
    {
        try
        {
            using var bound = new CancellationTokenSource(Channel.ReplyTimeout);
            await Channel.SendToBoardAsync("\u0003"u8.ToArray(), lockHeld: true, bound.Token).ConfigureAwait(false);
            run.CancelAfter(Channel.ReplyTimeout);
        }
        catch (Exception ex) when (ex is WebReplException or OperationCanceledException or ObjectDisposedException)
        {
            try
            {
                await run.CancelAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                // The exec has ended meanwhile.
            }
        }
    }

    /// <summary>
    /// Back to the friendly REPL now rather than after the client's idle delay, whose read of the output would race
    /// with <see cref="ReadOutputAsync"/>.
    /// </summary>
    private async Task LeaveRawReplAsync(CancellationToken cancellationToken)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(Channel.ReplyTimeout);
        try
        {
            await Channel.LeaveRawReplIfIdleAsync(bound.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebReplException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection is ending, or the board is busy: the next operation enters and leaves afresh.
        }
    }

    /// <summary>True when the user's output showed a soft reset and has now reached the friendly prompt.</summary>
    private bool WatchForReboot(List<ReadOnlyMemory<byte>> shown)
    {
        foreach (var bytes in shown)
        {
            _tail.AddRange(bytes.Span);
        }

        if (_tail.Count > 256)
        {
            _tail.RemoveRange(0, _tail.Count - 256);
        }

        var tail = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_tail);
        int reboot = tail.LastIndexOf(SoftReboot);
        if (reboot >= 0)
        {
            _rebooted = true;
            _tail.RemoveRange(0, reboot + SoftReboot.Length);
            tail = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_tail);
        }

        if (_rebooted && tail.EndsWith(FriendlyPrompt))
        {
            _rebooted = false;
            _tail.Clear();
            return true;
        }

        return false;
    }
}
