using Microsoft.Extensions.Logging;

namespace WebRepl.Client;

/// <summary>Every log message of <see cref="WebReplClient"/>, with its event id, in one place. None carries a password or terminal input.</summary>
internal static partial class ClientLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Connected to {Target}")]
    public static partial void Connected(ILogger logger, string target);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Logged in to {Target}")]
    public static partial void LoggedIn(ILogger logger, string target);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Finished {Operation} of {RemotePath}: {Bytes} bytes")]
    public static partial void Transfer(ILogger logger, string operation, string remotePath, long bytes);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Connection to {Target} ended: {Reason}")]
    public static partial void Closed(ILogger logger, string target, string reason);
}
