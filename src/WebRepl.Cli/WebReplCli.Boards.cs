using System.CommandLine;

namespace WebRepl.Cli;

/// <summary>Named boards in the client commands: <c>-t NAME</c>, <c>WEBREPL_TARGET=NAME</c> and <c>webrepl NAME COMMAND</c>.</summary>
internal sealed partial class WebReplCli
{
    /// <summary>
    /// The named board a target stands for (<paramref name="targetText"/>, else -t, else WEBREPL_TARGET), or null for a
    /// plain address. A name wins over a host of the same name: to reach that host, add its port (NAME:8266).
    /// </summary>
    private NamedBoard? NamedBoardOf(ParseResult parse, string? targetText)
    {
        targetText ??= parse.GetValue(_target) ?? _context.GetEnvironmentVariable(TargetVariable);
        return targetText is null ? null : BoardsCommand.Resolve(_context, targetText.Trim());
    }

    /// <summary>
    /// mpremote's shortcuts: <c>webrepl NAME</c> is <c>webrepl repl -t NAME</c> and <c>webrepl NAME COMMAND ARGS</c> is
    /// <c>webrepl COMMAND -t NAME ARGS</c>, for a NAME in the boards file that is no command.
    /// </summary>
    /// <exception cref="CliException">The boards file cannot be used, or what follows the name is no command that talks to a board.</exception>
    private string[] ExpandShortcut(string[] args, Command root)
    {
        Command? Find(string word) => root.Subcommands.FirstOrDefault(c => c.Name == word || c.Aliases.Contains(word));
        if (args.Length == 0 || !BoardsConfig.IsValidName(args[0]) || Find(args[0]) is not null)
        {
            return args;
        }

        if (BoardsCommand.Resolve(_context, args[0]) is null)
        {
            // 'webrepl typo ls': no host comes before a command, so this was meant as a board's name.
            return args.Length > 1 && Find(args[1]) is not null
                ? throw CliException.Usage($"No board named '{args[0]}': 'webrepl boards' lists them; 'webrepl boards add {args[0]} HOST[:PORT]' adds it.")
                : args;
        }

        if (args.Length == 1)
        {
            return ["repl", "-t", args[0]];
        }

        if (Find(args[1]) is not { } command || !command.Options.Contains(_target))
        {
            throw CliException.Usage($"After the board name '{args[0]}' comes a command that talks to a board (e.g. 'webrepl {args[0]} ls'), not '{args[1]}'.");
        }

        return [args[1], "-t", args[0], .. args[2..]];
    }
}
