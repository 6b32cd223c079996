using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using WebRepl.Repl;

namespace WebRepl.Cli;

/// <summary>Commands built on the raw REPL: code execution and the board's files (mpremote's power, over WebREPL).</summary>
internal sealed partial class WebReplCli
{
    private readonly Option<bool> _noVerify = new("--no-verify")
    {
        Description = "Skip the check that sent files arrived intact (SHA-256 on the board against the local one).",
    };

    private void AddReplCommands(Command root)
    {
        var code = new Argument<string>("code") { Description = "Python code." };
        var exec = new Command("exec", "Run Python code on the board: its output on stdout, a traceback on stderr (exit code 7).") { Arguments = { code } };
        exec.SetAction((p, ct) => GuardAsync(() => ExecCommandAsync(p, p.GetValue(code)!, ct)));
        root.Subcommands.Add(exec);

        var file = new Argument<string>("file") { Description = "A local Python file." };
        var run = new Command("run", "Run a local Python file on the board, streaming its output. Ctrl-C interrupts it on the board.") { Arguments = { file } };
        run.SetAction((p, ct) => GuardAsync(async () =>
        {
            string path = p.GetValue(file)!;
            if (!File.Exists(path))
            {
                throw new CliException($"No such local file: '{path}'.", ExitCodes.LocalError);
            }

            return await ExecCommandAsync(p, await File.ReadAllTextAsync(path, ct), ct);
        }));
        root.Subcommands.Add(run);

        var expression = new Argument<string>("expression") { Description = "A Python expression." };
        var eval = new Command("eval", "Evaluate a Python expression on the board and print its repr.") { Arguments = { expression } };
        eval.SetAction((p, ct) => GuardAsync(() => WithClientAsync(p, async client =>
        {
            await _context.Out.WriteLineAsync(await client.EvalAsync(p.GetValue(expression)!, ct));
            return ExitCodes.Success;
        }, ct)));
        root.Subcommands.Add(eval);

        root.Subcommands.Add(ListCommand());
        root.Subcommands.Add(PathsCommand("cat", "Print board files on stdout.", null, async (client, path, _, ct) =>
        {
            var stdout = _context.OpenOutput();
            await client.Files.ReadAsync(path, stdout, null, ct);
            await stdout.FlushAsync(ct);
        }));
        root.Subcommands.Add(PathsCommand("rm", "Remove board files (folders with -r).", ("-r", "Remove folders and all they hold."), (client, path, recursive, ct) =>
            client.Files.RemoveAsync(path, recursive, ct)));
        root.Subcommands.Add(PathsCommand("mkdir", "Make board folders.", ("-p", "Make missing parents too; an existing folder is fine."), (client, path, parents, ct) =>
            client.Files.MakeDirectoryAsync(path, parents, ct)));
        root.Subcommands.Add(PathsCommand("rmdir", "Remove empty board folders.", null, (client, path, _, ct) =>
            client.Files.RemoveDirectoryAsync(path, ct)));
        root.Subcommands.Add(PathsCommand("hash", "Print the SHA-256 of board files.", null, async (client, path, _, ct) =>
            await _context.Out.WriteLineAsync($"{await client.Files.HashAsync(path, ct)}  :{PrintableText.Escape(path)}")));

        var moves = new Argument<string[]>("paths") { Description = ":FROM :TO", Arity = new ArgumentArity(2, 2) };
        var mv = new Command("mv", "Rename or move a board file or folder.") { Arguments = { moves } };
        mv.SetAction((p, ct) => GuardAsync(() =>
        {
            string[] paths = RequireRemote(p.GetValue(moves)!);
            return WithClientAsync(p, async client =>
            {
                await client.Files.RenameAsync(paths[0], paths[1], ct);
                return ExitCodes.Success;
            }, ct);
        }));
        root.Subcommands.Add(mv);

        root.Subcommands.Add(CopyCommand());
        root.Subcommands.Add(SyncCommand());
        root.Subcommands.Add(ResetCommand());
    }

    private async Task<int> ExecCommandAsync(ParseResult parse, string code, CancellationToken cancellationToken)
    {
        return await WithClientAsync(parse, async client =>
        {
            var stdout = _context.OpenOutput();
            try
            {
                await client.ExecAsync(code, async (bytes, ct) =>
                {
                    await stdout.WriteAsync(bytes, ct);
                    await stdout.FlushAsync(ct);
                }, cancellationToken);
            }
            catch (WebReplExecutionException ex)
            {
                await stdout.FlushAsync(CancellationToken.None);
                await _context.Error.WriteAsync(ex.Traceback.Replace("\r\n", "\n", StringComparison.Ordinal));
                return ExitCodes.BoardException;
            }

            return ExitCodes.Success;
        }, cancellationToken);
    }

    private Command ListCommand()
    {
        var path = new Argument<string>("path") { Description = ":PATH (default: the board's current folder)", Arity = ArgumentArity.ZeroOrOne, DefaultValueFactory = _ => ":" };
        var longFormat = new Option<bool>("-l") { Description = "Show sizes." };
        var recursive = new Option<bool>("-r") { Description = "List folders' contents too." };
        var json = new Option<bool>("--json") { Description = "Print a JSON array of {path, name, type, size}." };
        var ls = new Command("ls", "List a board folder.") { Arguments = { path }, Options = { longFormat, recursive, json } };
        ls.SetAction((p, ct) => GuardAsync(() =>
        {
            string folder = RequireRemote([p.GetValue(path)!])[0];
            return WithClientAsync(p, async client =>
            {
                var entries = await client.Files.ListAsync(folder, p.GetValue(recursive), ct);
                if (p.GetValue(json))
                {
                    // Written field by field (no reflection): the native (AOT) webrepl has no serializer for arbitrary types.
                    var buffer = new System.Buffers.ArrayBufferWriter<byte>();
                    using (var writer = new Utf8JsonWriter(buffer))
                    {
                        writer.WriteStartArray();
                        foreach (var e in entries)
                        {
                            writer.WriteStartObject();
                            writer.WriteString("path", e.Path);
                            writer.WriteString("name", e.Name);
                            writer.WriteString("type", e.IsDirectory ? "dir" : "file");
                            writer.WriteNumber("size", e.Size);
                            writer.WriteEndObject();
                        }

                        writer.WriteEndArray();
                    }

                    await _context.Out.WriteLineAsync(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
                    return ExitCodes.Success;
                }

                string prefix = folder.Length == 0 ? string.Empty : folder == "/" ? "/" : folder.TrimEnd('/') + "/";
                foreach (var entry in entries)
                {
                    string shown = entry.Path.StartsWith(prefix, StringComparison.Ordinal) && entry.Path.Length > prefix.Length ? entry.Path[prefix.Length..] : entry.Name;
                    shown += entry.IsDirectory ? "/" : string.Empty;
                    shown = PrintableText.Escape(shown);
                    await _context.Out.WriteLineAsync(p.GetValue(longFormat) ? string.Create(CultureInfo.InvariantCulture, $"{entry.Size,10} {shown}") : shown);
                }

                return ExitCodes.Success;
            }, ct);
        }));
        return ls;
    }

    private Command PathsCommand(string name, string description, (string Flag, string Description)? flag, Func<WebReplClient, string, bool, CancellationToken, Task> action)
    {
        var paths = new Argument<string[]>("paths") { Description = ":PATH...", Arity = ArgumentArity.OneOrMore };
        var command = new Command(name, description) { Arguments = { paths } };
        Option<bool>? option = null;
        if (flag is { } f)
        {
            option = new Option<bool>(f.Flag) { Description = f.Description };
            command.Options.Add(option);
        }

        command.SetAction((p, ct) => GuardAsync(() =>
        {
            string[] remote = RequireRemote(p.GetValue(paths)!);
            bool flagValue = option is not null && p.GetValue(option);
            return WithClientAsync(p, async client =>
            {
                foreach (string path in remote)
                {
                    await action(client, path, flagValue, ct);
                }

                return ExitCodes.Success;
            }, ct);
        }));
        return command;
    }

    private Command CopyCommand()
    {
        var paths = new Argument<string[]>("paths") { Description = "SRC... DST: board paths start with ':'; one side is the board.", Arity = new ArgumentArity(2, 10000) };
        var recursive = new Option<bool>("-r") { Description = "Copy folders and all they hold." };
        var cp = new Command("cp", "Copy files between this computer and the board, either way (verified by SHA-256).") { Arguments = { paths }, Options = { recursive, _noVerify } };
        cp.SetAction((p, ct) => GuardAsync(() => CopyAsync(p, p.GetValue(paths)!, p.GetValue(recursive), !p.GetValue(_noVerify), ct)));
        return cp;
    }

    private async Task<int> CopyAsync(ParseResult parse, string[] paths, bool recursive, bool verify, CancellationToken cancellationToken)
    {
        string destination = paths[^1];
        string[] sources = paths[..^1];
        bool toBoard = Paths.IsRemote(destination);
        if (sources.Any(s => Paths.IsRemote(s) == toBoard))
        {
            throw CliException.Usage("cp copies between this computer and the board: either the sources or the destination are board paths (starting with ':'), not both.");
        }

        return toBoard
            ? await UploadAsync(parse, sources, Paths.Remote(destination), recursive, verify, cancellationToken)
            : await DownloadAsync(parse, [.. sources.Select(Paths.Remote)], destination, recursive, cancellationToken);
    }

    private async Task<int> UploadAsync(ParseResult parse, string[] sources, string destination, bool recursive, bool verify, CancellationToken cancellationToken)
    {
        foreach (string source in sources)
        {
            if (Directory.Exists(source) && !recursive)
            {
                throw CliException.Usage($"'{source}' is a folder: copy folders with cp -r.");
            }

            if (!Directory.Exists(source) && !File.Exists(source))
            {
                throw new CliException($"No such local file or folder: '{source}'.", ExitCodes.LocalError);
            }
        }

        return await WithClientAsync(parse, async client =>
        {
            var target = destination.Length == 0 ? new BoardEntry(string.Empty, true, 0) : await client.Files.StatAsync(destination, cancellationToken);
            bool into = sources.Length > 1 || destination.EndsWith('/') || target is { IsDirectory: true };
            foreach (string source in sources)
            {
                string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(source));
                string remote = into ? JoinRemote(destination, name) : destination;
                if (Directory.Exists(source))
                {
                    var plan = await BoardSync.PlanAsync(client, source, remote, delete: false, cancellationToken);
                    await ApplyPlanAsync(client, plan, verify, cancellationToken);
                    continue;
                }

                Protocol.WebReplRequest.ValidateFileName(remote);
                var watch = System.Diagnostics.Stopwatch.StartNew();
                int sends = await client.Files.UploadAsync(source, remote, verify, null, cancellationToken);
                await ReportAsync(parse, TransferView.Describe($"{source} -> :{remote}{(verify ? " (verified)" : string.Empty)}{(sends > 1 ? " (sent twice: the first copy failed its check)" : string.Empty)}", new FileInfo(source).Length, watch.Elapsed));
            }

            return ExitCodes.Success;
        }, cancellationToken);
    }

    private async Task<int> DownloadAsync(ParseResult parse, string[] sources, string destination, bool recursive, CancellationToken cancellationToken)
    {
        bool into = Paths.IsLocalFolder(destination, sources.Length);
        if (into && File.Exists(destination))
        {
            throw CliException.Usage($"'{destination}' is a file: to copy several things, name a folder last.");
        }

        return await WithClientAsync(parse, async client =>
        {
            if (into)
            {
                Directory.CreateDirectory(destination); // as cp -r, and get: a folder named last is made if missing
            }

            foreach (string source in sources)
            {
                var entry = await client.Files.StatAsync(source, cancellationToken) ?? throw new BoardFileException($"No such file or folder on the board: ':{source}'.", source, 2);
                string local = into ? LocalPaths.Resolve(destination, entry.Name.Length == 0 ? "board" : entry.Name) : destination;
                if (!entry.IsDirectory)
                {
                    var watch = System.Diagnostics.Stopwatch.StartNew();
                    long bytes = await client.GetFileAsync(source, local, null, new WebReplGetOptions { ExpectedSize = entry.Size }, cancellationToken);
                    await ReportAsync(parse, TransferView.Describe($":{source} -> {local}", bytes, watch.Elapsed));
                    continue;
                }

                if (!recursive)
                {
                    throw CliException.Usage($"':{source}' is a folder: copy folders with cp -r.");
                }

                // Every name the board listed is checked before anything is written: one that would land outside
                // the destination (dir/../../x, dir//tmp/x) stops the copy with nothing copied.
                string prefix = source.Length == 0 ? string.Empty : source.TrimEnd('/') + "/";
                var items = new List<(BoardEntry Item, string Target)>();
                foreach (var item in await client.Files.ListAsync(source, recursive: true, cancellationToken))
                {
                    if (!item.Path.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        throw new UnsafeBoardPathException(item.Path, local, $"it is not inside ':{source}'");
                    }

                    items.Add((item, LocalPaths.Resolve(local, item.Path[prefix.Length..])));
                }

                Directory.CreateDirectory(local);
                foreach (var (item, target) in items)
                {
                    if (item.IsDirectory)
                    {
                        Directory.CreateDirectory(target);
                        continue;
                    }

                    var watch = System.Diagnostics.Stopwatch.StartNew();
                    long bytes = await client.GetFileAsync(item.Path, target, null, new WebReplGetOptions { ExpectedSize = item.Size }, cancellationToken);
                    await ReportAsync(parse, TransferView.Describe($":{item.Path} -> {target}", bytes, watch.Elapsed));
                }
            }

            return ExitCodes.Success;
        }, cancellationToken);
    }

    private Command SyncCommand()
    {
        var local = new Argument<string>("local") { Description = "The local folder." };
        var remote = new Argument<string>("remote") { Description = ":FOLDER on the board." };
        var delete = new Option<bool>("--delete") { Description = "Remove board files and folders that are not in the local folder." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would be done; change nothing." };
        var sync = new Command("sync", "Make a board folder match a local folder, sending only what differs (size, then SHA-256).")
        {
            Arguments = { local, remote },
            Options = { delete, dryRun, _noVerify },
        };
        sync.SetAction((p, ct) => GuardAsync(() =>
        {
            string folder = p.GetValue(local)!;
            if (!Directory.Exists(folder))
            {
                throw new CliException($"No such local folder: '{folder}'.", ExitCodes.LocalError);
            }

            string board = RequireRemote([p.GetValue(remote)!])[0];
            return WithClientAsync(p, async client =>
            {
                var plan = await BoardSync.PlanAsync(client, folder, board, p.GetValue(delete), ct);
                if (p.GetValue(dryRun))
                {
                    foreach (var action in plan.Actions)
                    {
                        await _context.Out.WriteLineAsync(Describe(action));
                    }

                    await _context.Out.WriteLineAsync($"Dry run: {plan.Actions.Count} change(s), {plan.BytesToSend:N0} bytes to send, {plan.Unchanged} file(s) unchanged. Nothing was changed.");
                    return ExitCodes.Success;
                }

                await ApplyPlanAsync(client, plan, !p.GetValue(_noVerify), ct);
                return ExitCodes.Success;
            }, ct);
        }));
        return sync;
    }

    private async Task ApplyPlanAsync(WebReplClient client, SyncPlan plan, bool verify, CancellationToken cancellationToken)
    {
        if (plan.IsEmpty)
        {
            await _context.Out.WriteLineAsync($"Nothing to do: {plan.Unchanged} file(s) already up to date; nothing was transferred.");
            return;
        }

        var lines = new List<string>();
        var resent = await BoardSync.ApplyAsync(client, plan, verify, action => lines.Add(Describe(action)), null, cancellationToken);
        foreach (string line in lines)
        {
            await _context.Out.WriteLineAsync(line);
        }

        int sent = plan.Actions.Count(a => a.Kind is SyncActionKind.Create or SyncActionKind.Update);
        int removed = plan.Actions.Count(a => a.Kind == SyncActionKind.Delete);
        await _context.Out.WriteLineAsync(
            $"Sent {sent} file(s) ({plan.BytesToSend:N0} bytes){(verify ? ", verified" : string.Empty)}; removed {removed}; {plan.Unchanged} unchanged." +
            (resent.Count > 0 ? $" {resent.Count} file(s) failed the check and were sent again: {PrintableText.Escape(string.Join(", ", resent.Select(r => ":" + r)))}." : string.Empty));
    }

    private static string Describe(SyncAction action) => PrintableText.Escape(action.Kind switch
    {
        SyncActionKind.CreateFolder => $"mkdir  :{action.RemotePath}",
        SyncActionKind.Create => string.Create(CultureInfo.InvariantCulture, $"create :{action.RemotePath} ({action.Size:N0} bytes)"),
        SyncActionKind.Update => string.Create(CultureInfo.InvariantCulture, $"update :{action.RemotePath} ({action.Size:N0} bytes)"),
        _ => $"delete :{action.RemotePath}",
    });

    private Command ResetCommand()
    {
        var hard = new Option<bool>("--hard") { Description = "Hard reset (machine.reset()) instead of a soft reset." };
        var wait = new Option<bool>("--wait") { Description = "After a hard reset, wait for the board and log in again." };
        var reset = new Command("reset", "Reset the board: soft (Python state cleared, files kept) or --hard.") { Options = { hard, wait } };
        reset.SetAction((p, ct) => GuardAsync(async () =>
        {
            // Disposed on every path, also when the reset fails (a client that reconnected was disposed already).
            await using var client = await ConnectAsync(p, null, ct);
            if (p.GetValue(hard))
            {
                var back = await client.HardResetAsync(p.GetValue(wait), cancellationToken: ct);
                if (back is not null)
                {
                    await back.DisposeAsync();
                }

                await _context.Out.WriteLineAsync(back is null ? "Hard reset sent; the board is restarting." : "Hard reset done; the board is back and accepts logins.");
                return ExitCodes.Success;
            }

            var after = await client.SoftResetAsync(cancellationToken: ct);
            await after.DisposeAsync();
            await _context.Out.WriteLineAsync("Soft reset done: Python state cleared, files kept.");
            return ExitCodes.Success;
        }));
        return reset;
    }

    private async Task<int> WithClientAsync(ParseResult parse, Func<WebReplClient, Task<int>> action, CancellationToken cancellationToken)
    {
        await using var client = await ConnectAsync(parse, null, cancellationToken);
        return await action(client);
    }

    private async Task ReportAsync(ParseResult parse, string line)
    {
        if (!parse.GetValue(_quiet))
        {
            await _context.Error.WriteLineAsync(line);
        }
    }

    private static string[] RequireRemote(string[] paths)
    {
        string? local = paths.FirstOrDefault(p => !Paths.IsRemote(p));
        if (local is not null)
        {
            throw CliException.Usage($"'{local}' is not a board path: board paths start with ':' (e.g. :main.py, or : for the current folder).");
        }

        return [.. paths.Select(Paths.Remote)];
    }

    private static string JoinRemote(string folder, string name) =>
        folder.Length == 0 ? name : folder.EndsWith('/') ? folder + name : folder + "/" + name;
}
