namespace WebRepl.Cli;

/// <summary>The command's exit codes (documented in <c>webrepl --help</c>).</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int LocalError = 1;
    public const int Usage = 2;
    public const int CannotConnect = 3;
    public const int AccessDenied = 4;
    public const int RemoteError = 5;
    public const int Timeout = 6;
    public const int BoardException = 7;
    public const int AddressInUse = 8; // board, gateway: the port to listen on is taken
    public const int Interrupted = 130; // 128 + SIGINT, as a shell reports a process Ctrl-C ended
    public const int Terminated = 143; // 128 + SIGTERM

    public const string HelpText =
        "Exit codes: 0 success, 1 local file error, 2 usage error, 3 cannot connect or connection lost, " +
        "4 access denied (wrong password), 5 error on the board (e.g. no such file), 6 timeout, " +
        "7 the code run on the board raised an exception, 8 the port to listen on is in use (board, gateway), 130 interrupted (Ctrl-C, SIGINT), 143 stopped by SIGTERM. " +
        "A signal stops the command cleanly (no partial files, the board's session closed); a second one ends it at once. " +
        "board and gateway exit with 0 when stopped so.";
}

/// <summary>Exit codes for a board or gateway that could not start.</summary>
internal static class StartFailure
{
    /// <summary>8 when the cause is a port in use (a person then picks another port), else 1.</summary>
    public static int ExitCode(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse })
            {
                return ExitCodes.AddressInUse;
            }
        }

        return ExitCodes.LocalError;
    }
}

/// <summary>An error for the user: one line, no stack trace, and an exit code.</summary>
internal sealed class CliException(string message, int exitCode) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public static CliException Usage(string message) => new(message, ExitCodes.Usage);
}
