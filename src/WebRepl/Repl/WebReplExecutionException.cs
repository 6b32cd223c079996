namespace WebRepl.Repl;

/// <summary>Code run on the board raised an exception; <see cref="Traceback"/> is the board's report.</summary>
public sealed class WebReplExecutionException : WebReplRemoteException
{
    /// <summary>Creates the exception from what the board printed.</summary>
    public WebReplExecutionException(string traceback, string output)
        : base(Summarize(traceback))
    {
        Traceback = traceback;
        Output = output;
    }

    /// <inheritdoc/>
    public WebReplExecutionException()
        : this(string.Empty, string.Empty)
    {
    }

    /// <inheritdoc/>
    public WebReplExecutionException(string message)
        : this(message, string.Empty)
    {
    }

    /// <inheritdoc/>
    public WebReplExecutionException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Traceback = message;
        Output = string.Empty;
    }

    /// <summary>The traceback the board printed (its error output).</summary>
    public string Traceback { get; }

    /// <summary>What the code printed before it failed.</summary>
    public string Output { get; }

    /// <summary>The exception's type and message, e.g. <c>ZeroDivisionError: divide by zero</c>.</summary>
    public string ExceptionLine => Summarize(Traceback);

    /// <summary>The errno of an <c>OSError: [Errno 2] ENOENT</c>, when that is what the board raised.</summary>
    public int? OsErrno
    {
        get
        {
            string line = ExceptionLine;
            const string Prefix = "OSError: [Errno ";
            if (line.StartsWith(Prefix, StringComparison.Ordinal))
            {
                string digits = new([.. line[Prefix.Length..].TakeWhile(char.IsAsciiDigit)]);
                return int.TryParse(digits, System.Globalization.CultureInfo.InvariantCulture, out int errno) ? errno : null;
            }

            return line.StartsWith("OSError: ", StringComparison.Ordinal) &&
                int.TryParse(line["OSError: ".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture, out int bare) ? bare : null;
        }
    }

    private static string Summarize(string traceback)
    {
        string[] lines = traceback.Split(["\r\n", "\n"], StringSplitOptions.RemoveEmptyEntries);
        return lines.Length == 0 ? "The code raised an exception on the board." : lines[^1].Trim();
    }
}
