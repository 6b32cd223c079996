using WebRepl.Transport;

namespace WebRepl.Gateway.Sessions;

/// <summary>
/// What a relay (<see cref="InputRelay"/>) needs of its <see cref="BoardSession"/>: the
/// session's lock, under which the state machines are called, and the one way to the board.
/// </summary>
internal interface ISessionCore
{
    /// <summary>The session's lock: every state machine is called under it.</summary>
    Lock Gate { get; }

    /// <summary>True once the session closes (read under <see cref="Gate"/>).</summary>
    bool IsClosing { get; }

    /// <summary>The client that opened the session while it is still in it, else null (read under <see cref="Gate"/>).</summary>
    GatewayClient? PresentOpener { get; }

    /// <summary>The board as the logs name it.</summary>
    string BoardText { get; }

    /// <summary>Cancelled when the session ends.</summary>
    CancellationToken Stopping { get; }

    /// <summary>Writes to the board and follows a client's fragmented message; <paramref name="sender"/> is a client or the session.</summary>
    ValueTask<bool> WriteToBoardAsync(object sender, ReadOnlyMemory<byte> payload, WebSocketFrameType type, bool endOfMessage, bool flush = true);

    /// <summary>Writes to the board as the session itself (never inside a client's fragmented message).</summary>
    ValueTask<bool> WriteAsSessionAsync(ReadOnlyMemory<byte> payload, WebSocketFrameType type);

    /// <summary>Closes a client that does not take its output; the others go on.</summary>
    void Drop(GatewayClient client);

    /// <summary>Completes when the board is reached (or the session ends first).</summary>
    Task Connected { get; }

    /// <summary>True while the opener logs in to the board (read under <see cref="Gate"/>).</summary>
    bool IsLoggingIn { get; }

    /// <summary>Lets a joiner in as a receiver of the board's output (under <see cref="Gate"/>); the number of clients.</summary>
    int Authenticate(GatewayClient client);

    /// <summary>An authenticated client's frame on its way to the board (text or binary).</summary>
    ValueTask<bool> ForwardAsync(GatewayClient client, ReadOnlyMemory<byte> payload, WebSocketFrameType type, bool endOfMessage);

    /// <summary>Takes a client out of the session and undoes what it leaves behind.</summary>
    Task LeaveAsync(GatewayClient client, int? status, string reason);
}
