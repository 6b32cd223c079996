using System.CommandLine;
using System.Globalization;
using WebRepl.Repl;

namespace WebRepl.Cli;

/// <summary>mpremote's everyday commands that the file commands lack: edit, tree, touch, rtc and df (with -h).</summary>
internal sealed partial class WebReplCli
{
    private void AddDailyCommands(Command root)
    {
        root.Subcommands.Add(EditCommand());
        root.Subcommands.Add(TreeCommand());
        root.Subcommands.Add(PathsCommand("touch", "Make empty board files where none exist (existing ones are left as they are).", null, (client, path, _, ct) =>
            client.Files.TouchAsync(path, ct)));
        root.Subcommands.Add(RtcCommand());
        root.Subcommands.Add(DfCommand());
    }

    private Command EditCommand()
    {
        var files = new Argument<string[]>("files") { Description = ":FILE... (a missing file starts empty)", Arity = ArgumentArity.OneOrMore };
        var edit = new Command("edit", "Edit board files with $VISUAL or $EDITOR: fetched to a temporary file, sent back (verified) only if changed.")
        {
            Arguments = { files },
        };
        edit.SetAction((p, ct) => GuardAsync(() =>
        {
            string[] paths = RequireRemote(p.GetValue(files)!);
            string editor = NonEmpty(_context.GetEnvironmentVariable("VISUAL")) ?? NonEmpty(_context.GetEnvironmentVariable("EDITOR"))
                ?? throw CliException.Usage("No editor: set VISUAL or EDITOR (e.g. export EDITOR=nano).");
            foreach (string path in paths)
            {
                ValidateRemoteName(path);
            }

            return WithClientAsync(p, async client =>
            {
                foreach (string path in paths)
                {
                    await EditAsync(client, editor, path, ct);
                }

                return ExitCodes.Success;
            }, ct);
        }));
        return edit;
    }

    /// <summary>
    /// One file: fetched into a private temporary folder (mode 0700) under its own name (so that the editor knows its
    /// type), edited, and sent back verified only if it changed. The copy is removed, unless sending failed: then it
    /// is kept, and its path printed, so that no edit is lost.
    /// </summary>
    private async Task EditAsync(WebReplClient client, string editor, string path, CancellationToken cancellationToken)
    {
        var entry = await client.Files.StatAsync(path, cancellationToken);
        if (entry is { IsDirectory: true })
        {
            throw new BoardFileException($"':{path}' is a folder, not a file.", path, 21);
        }

        byte[] original = entry is null ? [] : await client.Files.ReadAllBytesAsync(path, cancellationToken);
        var folder = Directory.CreateTempSubdirectory("webrepl-edit-");
        string local = Path.Combine(folder.FullName, LocalName(path));
        bool keep = false;
        try
        {
            await File.WriteAllBytesAsync(local, original, cancellationToken);
            int code = await RunEditorAsync(editor, local, cancellationToken);
            if (code != 0)
            {
                throw new CliException($"The editor ({editor}) exited with code {code}: nothing was sent to ':{path}'.", ExitCodes.LocalError);
            }

            byte[] edited = await File.ReadAllBytesAsync(local, cancellationToken);
            if (entry is null ? edited.Length == 0 : edited.AsSpan().SequenceEqual(original))
            {
                await _context.Out.WriteLineAsync(PrintableText.Escape(entry is null ? $":{path}: left empty, not made." : $":{path}: unchanged, nothing sent."));
                return;
            }

            keep = true;
            try
            {
                int sends = await client.Files.WriteAllBytesAsync(path, edited, verify: true, null, cancellationToken);
                keep = false;
                await _context.Out.WriteLineAsync(PrintableText.Escape(string.Create(CultureInfo.InvariantCulture,
                    $":{path}: {edited.Length:N0} bytes sent (verified{(sends > 1 ? "; sent twice: the first copy failed its check" : string.Empty)}).")));
            }
            catch (Exception)
            {
                await _context.Error.WriteLineAsync($"webrepl: the edited copy of ':{PrintableText.Escape(path)}' is kept in {local}");
                throw;
            }
        }
        finally
        {
            if (!keep)
            {
                folder.Delete(recursive: true);
            }
        }
    }

    private static string? NonEmpty(string? text) => string.IsNullOrWhiteSpace(text) ? null : text;

    /// <summary>The board file's name, fit for a local file (so that the editor sees its extension).</summary>
    private static string LocalName(string path)
    {
        string name = path.TrimEnd('/')[(path.TrimEnd('/').LastIndexOf('/') + 1)..];
        var invalid = Path.GetInvalidFileNameChars();
        name = new string([.. name.Select(c => invalid.Contains(c) || char.IsControl(c) ? '_' : c)]);
        return name is "" or "." or ".." ? "file" : name;
    }

    /// <summary>
    /// Runs the editor on the terminal, as git does: through the shell, so that EDITOR may hold arguments
    /// ("code --wait", "vim -u NONE"); the file is passed as "$1", never spliced into the command.
    /// </summary>
    private static async Task<int> RunEditorAsync(string editor, string file, CancellationToken cancellationToken)
    {
        var start = OperatingSystem.IsWindows()
            ? new System.Diagnostics.ProcessStartInfo("cmd.exe", ["/c", $"{editor} \"{file}\""])
            : new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", editor + " \"$@\"", editor, file]);
        start.UseShellExecute = false;
        using var process = System.Diagnostics.Process.Start(start) ?? throw new CliException($"Cannot start the editor '{editor}'.", ExitCodes.LocalError);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The editor got the same Ctrl-C from the terminal; a SIGTERM to webrepl alone should not leave it behind.
            process.Kill(entireProcessTree: true);
            throw;
        }

        return process.ExitCode;
    }

    private Command TreeCommand()
    {
        var path = new Argument<string>("path") { Description = ":PATH (default: the board's current folder)", Arity = ArgumentArity.ZeroOrOne, DefaultValueFactory = _ => ":" };
        var sizes = new Option<bool>("--size", "-s") { Description = "Show each file's size in bytes." };
        var human = new Option<bool>("--human", "-h") { Description = "Show each file's size in K, M, G (powers of 1024)." };
        var tree = new Command("tree", "Show a board folder and all it holds as a tree.") { Arguments = { path }, Options = { sizes, human } };
        tree.SetAction((p, ct) => GuardAsync(() =>
        {
            string folder = RequireRemote([p.GetValue(path)!])[0];
            return WithClientAsync(p, async client =>
            {
                var entries = await client.Files.ListAsync(folder, recursive: true, ct);
                Func<long, string>? size = p.GetValue(human) ? HumanSize : p.GetValue(sizes) ? n => n.ToString(CultureInfo.InvariantCulture) : null;
                foreach (string line in BoardTree.Render(folder, entries, size))
                {
                    await _context.Out.WriteLineAsync(line);
                }

                return ExitCodes.Success;
            }, ct);
        }));
        return tree;
    }

    private Command RtcCommand()
    {
        var set = new Option<bool>("--set") { Description = "First set the board's clock to this computer's local time." };
        var rtc = new Command("rtc", "Print the board's real-time clock (machine.RTC), or set it with --set.") { Options = { set } };
        rtc.SetAction((p, ct) => GuardAsync(() => WithClientAsync(p, async client =>
        {
            string code = "import machine, json\n";
            if (p.GetValue(set))
            {
                // As mpremote: (year, month, day, weekday (Monday 0), hours, minutes, seconds, subseconds).
                var now = DateTime.Now;
                code += string.Create(CultureInfo.InvariantCulture,
                    $"machine.RTC().datetime(({now.Year}, {now.Month}, {now.Day}, {((int)now.DayOfWeek + 6) % 7}, {now.Hour}, {now.Minute}, {now.Second}, 0))\n");
            }

            string output;
            try
            {
                output = await client.ExecAsync(code + "print(json.dumps(machine.RTC().datetime()))\n", ct);
            }
            catch (WebReplExecutionException ex) when (ex.ExceptionLine.StartsWith("ImportError", StringComparison.Ordinal) || ex.ExceptionLine.StartsWith("AttributeError", StringComparison.Ordinal))
            {
                throw new CliException($"The board has no machine.RTC ({ex.ExceptionLine}).", ExitCodes.RemoteError);
            }

            await _context.Out.WriteLineAsync(FormatRtc(output));
            return ExitCodes.Success;
        }, ct)));
        return rtc;
    }

    private Command DfCommand()
    {
        var path = new Argument<string>("path") { Description = ":PATH (default :/)", Arity = ArgumentArity.ZeroOrOne, DefaultValueFactory = _ => ":/" };
        var human = new Option<bool>("--human", "-h") { Description = "Sizes in K, M, G (powers of 1024) instead of bytes." };
        var df = new Command("df", "Show the board file system's size and free space.") { Arguments = { path }, Options = { human } };
        df.SetAction((p, ct) => GuardAsync(() =>
        {
            string folder = RequireRemote([p.GetValue(path)!])[0];
            Func<long, string> size = p.GetValue(human) ? HumanSize : n => n.ToString(CultureInfo.InvariantCulture);
            return WithClientAsync(p, async client =>
            {
                var space = await client.Files.GetSpaceAsync(folder.Length == 0 ? "/" : folder, ct);
                await _context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{"Size",12} {"Used",12} {"Free",12}  Use%\n{size(space.Total),12} {size(space.Used),12} {size(space.Free),12}  {(space.Total == 0 ? 0 : 100.0 * space.Used / space.Total),3:0}%"));
                return ExitCodes.Success;
            }, ct);
        }));
        return df;
    }

    /// <summary>
    /// The board's <c>RTC.datetime()</c> as JSON, (year, month, day, weekday, hours, minutes, seconds[, subseconds]), shown
    /// as <c>YYYY-MM-DD HH:MM:SS</c>. The board is untrusted: anything else is said to be so.
    /// </summary>
    internal static string FormatRtc(string output)
    {
        int[]? f = null;
        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(output.Trim());
            var row = json.RootElement;
            if (row.ValueKind == System.Text.Json.JsonValueKind.Array && row.GetArrayLength() is 7 or 8 &&
                row.EnumerateArray().All(e => e.ValueKind == System.Text.Json.JsonValueKind.Number && e.TryGetInt32(out _)))
            {
                f = [.. row.EnumerateArray().Select(e => e.GetInt32())];
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }

        if (f is null || f[0] is < 0 or > 9999 || f[1] is < 1 or > 12 || f[2] is < 1 or > 31 || f[4] is < 0 or > 23 || f[5] is < 0 or > 59 || f[6] is < 0 or > 60)
        {
            string shown = output.Trim();
            throw new WebReplProtocolException($"The board's clock reading is not (year, month, day, weekday, hours, minutes, seconds, subseconds): {PrintableText.Escape(shown.Length > 80 ? shown[..80] + "..." : shown)}");
        }

        return string.Create(CultureInfo.InvariantCulture, $"{f[0]:0000}-{f[1]:00}-{f[2]:00} {f[4]:00}:{f[5]:00}:{f[6]:00}");
    }

    /// <summary>A size as ls -h shows it: bytes below 1 KiB, else one decimal below 10 (1.5K) and whole numbers above (12K, 340M).</summary>
    internal static string HumanSize(long bytes)
    {
        if (bytes < 1024)
        {
            return bytes.ToString(CultureInfo.InvariantCulture);
        }

        double value = bytes;
        int unit = -1;
        while (Math.Round(value, 1) >= 1024 && unit < 4)
        {
            value /= 1024;
            unit++;
        }

        string number = value < 10 ? value.ToString("0.0", CultureInfo.InvariantCulture) : Math.Round(value).ToString("0", CultureInfo.InvariantCulture);
        return number + "KMGTP"[unit];
    }
}
