using System.CommandLine;
using System.Text;
using WebRepl.Transport;

namespace WebRepl.Cli;

/// <summary>
/// <c>webrepl boards [list|add|remove]</c>: remembered boards, so that <c>-t NAME</c>, <c>WEBREPL_TARGET=NAME</c> and
/// <c>webrepl NAME COMMAND</c> (as mpremote's shortcuts) stand for an address and, if stored, a password. Passwords are
/// never printed: the list says whether one is stored.
/// </summary>
internal static class BoardsCommand
{
    /// <summary>A password line read from stdin is at most this long (a real board's is at most 9 characters).</summary>
    private const int MaxPasswordBytes = 1024;

    public static Command Create(CliContext context, Func<Func<Task<int>>, Task<int>> guard)
    {
        var command = new Command("boards", "Named boards: 'webrepl boards' lists them; add, remove. Then -t NAME, WEBREPL_TARGET=NAME or 'webrepl NAME COMMAND'.");
        command.SetAction((_, _) => guard(() => ListAsync(context)));

        var list = new Command("list", "List the named boards (never their passwords: whether one is stored).");
        list.SetAction((_, _) => guard(() => ListAsync(context)));
        command.Subcommands.Add(list);

        var name = new Argument<string>("name") { Description = "The board's name: a letter, then letters, digits, '-' or '_'." };
        var target = new Argument<string>("target") { Description = "HOST[:PORT] or a ws:// or wss:// URL (a gateway's included).", HelpName = "HOST[:PORT]|URL" };
        var password = new Option<string?>("--password", "-p")
        {
            Description = "Store this password (visible to other users in 'ps' and kept in the shell's history: prefer --password-stdin or --password-prompt).",
            HelpName = "PASSWORD",
        };
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "Store the password read from the first line of standard input." };
        var passwordPrompt = new Option<bool>("--password-prompt") { Description = "Store a password asked for without echo." };
        var force = new Option<bool>("--force") { Description = "Replace a board of the same name." };
        var add = new Command("add", "Remember a board. By default no password is stored (you are asked for it, or set WEBREPL_PASSWORD).")
        {
            Arguments = { name, target },
            Options = { password, passwordStdin, passwordPrompt, force },
        };
        add.SetAction((p, ct) => guard(async () =>
        {
            string? secret = await ReadPasswordAsync(context, p.GetValue(name)!, p.GetValue(password), p.GetValue(passwordStdin), p.GetValue(passwordPrompt), ct);
            var reserved = p.RootCommandResult.Command.Subcommands.SelectMany(c => c.Aliases.Prepend(c.Name));
            return await AddAsync(context, new NamedBoard(p.GetValue(name)!, p.GetValue(target)!.Trim(), secret), p.GetValue(force), reserved);
        }));
        command.Subcommands.Add(add);

        var removeName = new Argument<string>("name") { Description = "The board's name." };
        var remove = new Command("remove", "Forget a named board (and its password).") { Arguments = { removeName } };
        remove.Aliases.Add("rm");
        remove.SetAction((p, _) => guard(async () =>
        {
            var config = BoardsConfig.Load(BoardsConfig.DefaultPath(context.GetEnvironmentVariable));
            string board = p.GetValue(removeName)!;
            if (!config.Remove(board))
            {
                throw new CliException($"No board named '{PrintableText.Escape(board)}'. 'webrepl boards' lists them.", ExitCodes.LocalError);
            }

            config.Save();
            await context.Out.WriteLineAsync($"Removed the board '{board}'.");
            return ExitCodes.Success;
        }));
        command.Subcommands.Add(remove);
        return command;
    }

    /// <summary>
    /// The named board <paramref name="text"/> stands for, or null when it is no name in the file (then it is a host).
    /// Only a text that can be a name opens the file, so plain addresses work whatever the file holds; with no
    /// configuration folder (no HOME), there are no named boards.
    /// </summary>
    public static NamedBoard? Resolve(CliContext context, string text) =>
        BoardsConfig.IsValidName(text) && BoardsConfig.FindPath(context.GetEnvironmentVariable) is { } path ? BoardsConfig.Load(path).Find(text) : null;

    private static async Task<int> ListAsync(CliContext context)
    {
        var config = BoardsConfig.Load(BoardsConfig.DefaultPath(context.GetEnvironmentVariable));
        if (config.Boards.Count == 0)
        {
            await context.Out.WriteLineAsync($"No named boards. Add one with 'webrepl boards add NAME HOST[:PORT]' (kept in {config.Path}).");
            return ExitCodes.Success;
        }

        int width = Math.Max(4, config.Boards.Max(b => b.Name.Length));
        int targetWidth = Math.Max(6, config.Boards.Max(b => PrintableText.Escape(b.Target).Length));
        await context.Out.WriteLineAsync($"{"NAME".PadRight(width)}  {"TARGET".PadRight(targetWidth)}  PASSWORD");
        foreach (var board in config.Boards)
        {
            await context.Out.WriteLineAsync($"{board.Name.PadRight(width)}  {PrintableText.Escape(board.Target).PadRight(targetWidth)}  {(board.Password is null ? "-" : "stored")}");
        }

        return ExitCodes.Success;
    }

    private static async Task<int> AddAsync(CliContext context, NamedBoard board, bool force, IEnumerable<string> reserved)
    {
        if (!BoardsConfig.IsValidName(board.Name))
        {
            throw CliException.Usage($"'{PrintableText.Escape(board.Name)}' cannot be a board name: use a letter, then letters, digits, '-' or '_' (at most 32), e.g. esp32-desk.");
        }

        if (reserved.Contains(board.Name, StringComparer.OrdinalIgnoreCase))
        {
            throw CliException.Usage($"'{board.Name}' is a webrepl command, so 'webrepl {board.Name} ...' could not name the board: choose another name.");
        }

        if (!WebReplTarget.TryParse(board.Target, out _, out string? error))
        {
            throw CliException.Usage(error!);
        }

        var config = BoardsConfig.Load(BoardsConfig.DefaultPath(context.GetEnvironmentVariable));
        if (config.Find(board.Name) is not null && !force)
        {
            throw CliException.Usage($"A board named '{board.Name}' exists already: remove it first, or replace it with --force.");
        }

        config.Set(board);
        config.Save();
        await context.Out.WriteLineAsync(
            $"Added the board '{board.Name}': {PrintableText.Escape(board.Target)}, " +
            (board.Password is null ? $"no password stored (asked for, or from {WebReplCli.PasswordVariable})." : "password stored.") +
            $" Use it: webrepl {board.Name} repl, or -t {board.Name}.");
        return ExitCodes.Success;
    }

    private static async Task<string?> ReadPasswordAsync(CliContext context, string name, string? given, bool fromStdin, bool prompt, CancellationToken cancellationToken)
    {
        if ((given is not null ? 1 : 0) + (fromStdin ? 1 : 0) + (prompt ? 1 : 0) > 1)
        {
            throw CliException.Usage("Give the password one way: -p, --password-stdin or --password-prompt.");
        }

        string? password = given;
        if (fromStdin)
        {
            password = await ReadLineAsync(context.OpenInput(), cancellationToken);
        }
        else if (prompt)
        {
            password = context.InputIsTerminal ? context.ReadSecret($"Password for {name}: ") : null;
            if (password is null)
            {
                throw CliException.Usage("Cannot ask for the password: standard input is not a terminal. Use --password-stdin.");
            }
        }

        if (password is { Length: 0 })
        {
            throw CliException.Usage("The password is empty. Leave the password out to store none.");
        }

        return password;
    }

    /// <summary>The first line of <paramref name="input"/>, without its line ending; bounded.</summary>
    private static async Task<string> ReadLineAsync(Stream input, CancellationToken cancellationToken)
    {
        var line = new List<byte>();
        byte[] one = new byte[1];
        while (await input.ReadAsync(one, cancellationToken) == 1 && one[0] != (byte)'\n')
        {
            if (line.Count == MaxPasswordBytes)
            {
                throw CliException.Usage($"The password read from standard input is longer than {MaxPasswordBytes} bytes.");
            }

            line.Add(one[0]);
        }

        if (line.Count > 0 && line[^1] == (byte)'\r')
        {
            line.RemoveAt(line.Count - 1);
        }

        return Encoding.UTF8.GetString([.. line]);
    }
}
