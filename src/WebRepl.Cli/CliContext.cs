namespace WebRepl.Cli;

/// <summary>The command's surroundings: its streams, environment and terminal; replaceable in tests.</summary>
internal sealed class CliContext
{
    public required TextWriter Out { get; init; }

    public required TextWriter Error { get; init; }

    /// <summary>Standard input as bytes (the REPL sends them unchanged).</summary>
    public required Func<Stream> OpenInput { get; init; }

    /// <summary>Standard output as bytes (the REPL writes the board's bytes unchanged).</summary>
    public required Func<Stream> OpenOutput { get; init; }

    public bool InputIsTerminal { get; init; }

    public bool ErrorIsTerminal { get; init; }

    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>Asks for the password without echo; null when it cannot ask.</summary>
    public Func<string, string?> ReadSecret { get; init; } = _ => null;

    public static CliContext FromConsole() => new()
    {
        Out = Console.Out,
        Error = Console.Error,
        OpenInput = RawTerminal.OpenInput,
        OpenOutput = Console.OpenStandardOutput,
        InputIsTerminal = !Console.IsInputRedirected,
        ErrorIsTerminal = !Console.IsErrorRedirected,
        ReadSecret = prompt => !Console.IsInputRedirected ? RawTerminal.ReadSecret(prompt) : null,
    };
}
