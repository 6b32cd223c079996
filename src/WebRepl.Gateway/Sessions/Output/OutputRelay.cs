using WebRepl.Transport;

namespace WebRepl.Gateway.Sessions;

/// <summary>
/// Carries out the <see cref="Broadcaster{TClient}"/>'s plans: the board's text, and the gateway's own lines, on their
/// way to the clients. One text stream per client, in order: whoever sends holds the turn (a browser's UTF-8
/// sanitizer follows one stream, and a joiner is let in between two of the board's frames, never during one).
/// A client that does not take its output is dropped; the others go on.
/// </summary>
#pragma warning disable CA1001 // Its semaphore has no wait handle: nothing to release, and late senders may still touch it.
internal sealed class OutputRelay(Action<GatewayClient> drop)
#pragma warning restore CA1001
{
    private static readonly byte[] RawRunNotice =
        "\r\n[gateway] Another client is running code on the board (raw REPL): you see what its programs print."u8.ToArray();

    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly Broadcaster<GatewayClient> _plans = new();

    /// <summary>Waits for the turn to send; false when cancelled. <see cref="Release"/> gives it back.</summary>
    public async ValueTask<bool> WaitAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Gives the turn back.</summary>
    public void Release() => _turn.Release();

    /// <summary>A frame of the board's text to the receivers as it is (the caller holds the turn).</summary>
    public async Task SendAsIsAsync(GatewayClient[] receivers, WebSocketFrame frame)
    {
        foreach (var client in receivers)
        {
            if (!await client.SendAsync(frame.Payload, WebSocketFrameType.Text, frame.EndOfMessage).ConfigureAwait(false))
            {
                drop(client);
            }
        }
    }

    /// <summary>
    /// A frame of the board's text to the logged-in receivers, as the broadcaster plans it against the raw REPL
    /// arbiter's <paramref name="view"/> (the caller holds the turn).
    /// </summary>
    public async Task SendAsync(GatewayClient[] receivers, WebSocketFrame frame, RawReplView view, GatewayClient? rawOwner)
    {
        var plan = _plans.OnBoardText(frame.Payload, frame.EndOfMessage, view, rawOwner);
        foreach (var client in receivers)
        {
            bool isOwner = ReferenceEquals(client, plan.Owner);
            if (!isOwner && plan.TellRunNotice && _plans.TakeRunNotice(client) &&
                !await client.SendAsync(RawRunNotice, WebSocketFrameType.Text).ConfigureAwait(false))
            {
                drop(client);
                continue;
            }

            if (plan.Released is { } released && !ReferenceEquals(client, plan.ReleasedSkip) &&
                !await client.SendAsync(released, WebSocketFrameType.Text).ConfigureAwait(false))
            {
                drop(client);
                continue;
            }

            if (isOwner ? !await client.SendAsync(frame.Payload, WebSocketFrameType.Text, frame.EndOfMessage).ConfigureAwait(false)
                : plan.SendOthers && !await client.SendAsync(plan.Others, WebSocketFrameType.Text, frame.EndOfMessage).ConfigureAwait(false))
            {
                drop(client);
            }
        }
    }

    /// <summary>
    /// Sends the others what was held from them when a client's Ctrl-A turned out not to be the raw REPL.
    /// <paramref name="receivers"/> says who gets it, or null when a claim is (again) on trial and it stays held.
    /// </summary>
    public async Task ReleaseHeldAsync(Func<GatewayClient[]?> receivers, CancellationToken cancellationToken)
    {
        if (!await WaitAsync(cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        try
        {
            if (receivers() is not { } to || _plans.TakeHeld(out var heldFrom) is not { } held)
            {
                return;
            }

            foreach (var client in to)
            {
                if (!ReferenceEquals(client, heldFrom) && !await client.SendAsync(held, WebSocketFrameType.Text).ConfigureAwait(false))
                {
                    drop(client);
                }
            }
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>The gateway's own line to a client, between two of the board's frames. False when the client is gone.</summary>
    public async ValueTask<bool> TellAsync(GatewayClient client, byte[] text)
    {
        if (!await WaitAsync(client.Stopping).ConfigureAwait(false))
        {
            return false;
        }

        try
        {
            return await client.SendAsync(text, WebSocketFrameType.Text).ConfigureAwait(false);
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>A client left.</summary>
    public void Forget(GatewayClient client) => _plans.Forget(client);
}
