using System.CommandLine;
using System.CommandLine.Parsing;

namespace WebRepl.Cli;

/// <summary>
/// What a usage error says: which argument is missing and the command's usage line, and, for a word that is no
/// command (<c>webrepl frobnicate</c>), "unknown command" with the closest one instead of taking it for a host.
/// </summary>
internal static class CommandUsage
{
    public const string Program = "webrepl";

    /// <summary>Each command's arguments as its usage line shows them, and what is missing after 0, 1... of them.</summary>
    private static readonly Dictionary<string, (string Synopsis, string[] Missing)> Commands = new(StringComparer.Ordinal)
    {
        ["put"] = ("LOCAL... :REMOTE", ["the files to send (LOCAL...) and the board destination (:REMOTE)", "the board destination (:REMOTE, e.g. :main.py or :lib/), after the files to send"]),
        ["get"] = (":REMOTE... LOCAL", ["the board files to fetch (:REMOTE...) and the local destination (LOCAL)", "the local destination (LOCAL: a file, or a folder), after the board files"]),
        ["cp"] = ("SRC... DST", ["what to copy (SRC...) and where to (DST)", "the destination (DST), after the sources"]),
        ["mv"] = (":FROM :TO", ["the board path to move (:FROM) and its new path (:TO)", "the new path (:TO)"]),
        ["sync"] = ("LOCAL_FOLDER :FOLDER", ["the local folder and the board folder (:FOLDER)", "the board folder (:FOLDER), after the local folder"]),
        ["exec"] = ("CODE", ["the Python code to run (CODE)"]),
        ["run"] = ("FILE", ["the local Python file to run (FILE)"]),
        ["eval"] = ("EXPRESSION", ["the Python expression (EXPRESSION)"]),
        ["cat"] = (":PATH...", ["the board files (:PATH...)"]),
        ["rm"] = (":PATH...", ["the board paths to remove (:PATH...)"]),
        ["mkdir"] = (":PATH...", ["the board folders to make (:PATH...)"]),
        ["rmdir"] = (":PATH...", ["the board folders to remove (:PATH...)"]),
        ["hash"] = (":PATH...", ["the board files (:PATH...)"]),
        ["ls"] = ("[:PATH]", []),
        ["df"] = ("[:PATH]", []),
        ["tree"] = ("[:PATH]", []),
        ["touch"] = (":PATH...", ["the board files to make (:PATH...)"]),
        ["edit"] = (":FILE...", ["the board files to edit (:FILE...)"]),
    };

    /// <summary>The usage line of <paramref name="command"/>: webrepl get :REMOTE... LOCAL [options].</summary>
    public static string UsageLine(Command command)
    {
        var names = new List<string>();
        for (Command? c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            names.Insert(0, c.Name);
        }

        string synopsis = Commands.TryGetValue(command.Name, out var known) ? " " + known.Synopsis : string.Empty;
        return $"Usage: {string.Join(' ', names)}{(command.Subcommands.Count > 0 && synopsis.Length == 0 ? " [command]" : string.Empty)}{synopsis} [options]";
    }

    /// <summary>The lines for a command line with parse errors: a missing argument named, the usage line, where help is.</summary>
    public static IReadOnlyList<string> DescribeErrors(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        string name = command.Parents.Any() ? $"{Program} {command.Name}" : Program;
        var lines = new List<string>();
        if (MissingArgument(parse) is { } missing)
        {
            lines.Add($"{name}: missing {missing}.");
        }
        else
        {
            lines.AddRange(parse.Errors.Select(e => $"{name}: {e.Message}"));
        }

        lines.Add(UsageLine(command));
        lines.Add($"Run '{name} --help' for more.");
        return lines;
    }

    /// <summary>
    /// "unknown command 'X'" when the board-less legacy form got a word that cannot be a host: no ':', '.' or digit
    /// (a host name has a dot or is an address; 'localhost' is one), nor a local file to send.
    /// </summary>
    public static string? UnknownCommand(ParseResult parse)
    {
        var root = parse.RootCommandResult;
        if (parse.CommandResult != root)
        {
            return null;
        }

        var words = root.Command.Arguments.SelectMany(a => parse.GetResult(a)?.Tokens ?? []).Select(t => t.Value)
            .Concat(parse.UnmatchedTokens).ToList();
        if (words.Count == 0)
        {
            return null;
        }

        string word = words[0];
        bool wordLike = word.Length > 0 && word.All(c => char.IsAsciiLetter(c) || c is '-' or '_') && !word.StartsWith('-');
        if (!wordLike || word.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (words.Count > 1 && File.Exists(word)))
        {
            return null;
        }

        var commands = root.Command.Subcommands.Where(c => !c.Hidden).SelectMany(c => c.Aliases.Prepend(c.Name)).ToList();
        var (closest, distance) = commands.Select(c => (c, Distance(word.ToLowerInvariant(), c))).OrderBy(x => x.Item2).First();
        string hint = distance <= Math.Max(2, word.Length / 3) || closest.StartsWith(word, StringComparison.OrdinalIgnoreCase)
            ? $"Did you mean '{closest}'?"
            : $"The closest command is '{closest}'.";
        return $"unknown command '{word}'. {hint} Run '{Program} --help' for the commands; for a board of that name, add its port: {word}:8266, or name one: {Program} boards add {word} HOST[:PORT].";
    }

    private static string? MissingArgument(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        int given = command.Arguments.Sum(a => parse.GetResult(a)?.Tokens.Count ?? 0);
        int required = command.Arguments.Sum(a => a.Arity.MinimumNumberOfValues);
        if (given >= required)
        {
            return null;
        }

        if (Commands.TryGetValue(command.Name, out var known) && known.Missing.Length > 0)
        {
            return known.Missing[Math.Min(given, known.Missing.Length - 1)];
        }

        var argument = command.Arguments.First(a => (parse.GetResult(a)?.Tokens.Count ?? 0) < a.Arity.MinimumNumberOfValues);
        return $"the argument {argument.HelpName ?? argument.Name.ToUpperInvariant()}";
    }

    /// <summary>Levenshtein distance: how many letters to change, add or remove.</summary>
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
