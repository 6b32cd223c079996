using Microsoft.Extensions.Logging;

namespace WebRepl.Gateway.Sessions;

/// <summary>
/// Every log line of a board session and its event id (310-326), in one place: the ids are the gateway's documented
/// interface to whoever reads its logs (docs/gateway.md), so a new line takes the next free one here.
/// </summary>
internal static partial class SessionLog
{
    [LoggerMessage(EventId = 310, Level = LogLevel.Information, Message = "Client {Client} ({Remote}, origin {Origin}) opened {Board} (viewer: {Viewer})")]
    internal static partial void LogOpened(ILogger logger, string client, string remote, string origin, string board, bool viewer);

    [LoggerMessage(EventId = 311, Level = LogLevel.Information, Message = "Client {Client} ({Remote}, origin {Origin}) joined {Board}: {Clients} clients now (viewer: {Viewer})")]
    internal static partial void LogJoined(ILogger logger, string client, string remote, string origin, string board, int clients, bool viewer);

    [LoggerMessage(EventId = 312, Level = LogLevel.Information, Message = "Client {Client} left {Board}: {Reason}")]
    internal static partial void LogLeft(ILogger logger, string client, string board, string reason);

    [LoggerMessage(EventId = 313, Level = LogLevel.Information, Message = "Connected to {Board} at {Address}")]
    internal static partial void LogConnected(ILogger logger, string board, string address);

    [LoggerMessage(EventId = 314, Level = LogLevel.Warning, Message = "Cannot connect to {Board}: {Reason}")]
    internal static partial void LogConnectFailed(ILogger logger, string board, string reason);

    [LoggerMessage(EventId = 315, Level = LogLevel.Information, Message = "Logged in to {Board} (client {Client} typed the password)")]
    internal static partial void LogLoggedIn(ILogger logger, string board, string client);

    [LoggerMessage(EventId = 316, Level = LogLevel.Warning, Message = "Client {Client} ({Remote}) sent a wrong password to join {Board}")]
    internal static partial void LogWrongPassword(ILogger logger, string client, string remote, string board);

    [LoggerMessage(EventId = 317, Level = LogLevel.Information, Message = "Session on {Board} ended: {Reason} ({ToBoard} bytes to the board, {FromBoard} from it)")]
    internal static partial void LogEnded(ILogger logger, string board, string reason, long toBoard, long fromBoard);

    [LoggerMessage(EventId = 318, Level = LogLevel.Debug, Message = "Holding binary data from {Client}: {Owner}'s file transfer on {Board} is under way")]
    internal static partial void LogHeld(ILogger logger, string client, string owner, string board);

    [LoggerMessage(EventId = 319, Level = LogLevel.Warning, Message = "Client {Client} left during {Operation} on {Board}; the gateway finishes the request so that the others can go on")]
    internal static partial void LogAbandoned(ILogger logger, string client, string operation, string board);

    [LoggerMessage(EventId = 320, Level = LogLevel.Warning, Message = "Closed client {Client}: {Reason}")]
    internal static partial void LogClientDropped(ILogger logger, string client, string reason);

    [LoggerMessage(EventId = 321, Level = LogLevel.Warning, Message = "Released {Client}'s file transfer on {Board} after {Seconds} s without progress")]
    internal static partial void LogTransferStalled(ILogger logger, string client, string board, double seconds);

    [LoggerMessage(EventId = 324, Level = LogLevel.Warning, Message = "Too many wrong passwords from {Remote}: its address is refused for {Minutes} min")]
    internal static partial void LogLockout(ILogger logger, string remote, double minutes);

    [LoggerMessage(EventId = 326, Level = LogLevel.Error, Message = "The password the gateway holds for {Board} was refused: check BoardPasswords in the settings")]
    internal static partial void LogHeldPasswordRefused(ILogger logger, string board);

    [LoggerMessage(EventId = 325, Level = LogLevel.Warning, Message = "{Failures} wrong passwords at {Board} from many clients: for {Minutes} min it takes only clients that logged in to it before")]
    internal static partial void LogBoardLockout(ILogger logger, string board, int failures, double minutes);

    [LoggerMessage(EventId = 323, Level = LogLevel.Debug, Message = "Client {Client} on {Board}: raw REPL {Entered} (while it is on, the others' input is held)")]
    internal static partial void LogRawRepl(ILogger logger, string client, string board, bool entered);

    [LoggerMessage(EventId = 322, Level = LogLevel.Debug, Message = "Dropped {Bytes} bytes of input from viewer {Client}")]
    internal static partial void LogViewerInput(ILogger logger, string client, int bytes);
}
