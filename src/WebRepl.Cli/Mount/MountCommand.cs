using System.CommandLine;
using WebRepl.Mount;
using WebRepl.Repl;

namespace WebRepl.Cli.Mount;

/// <summary>
/// <c>webrepl mount LOCAL_DIR [--exec CODE | --run FILE] [--unsafe-links]</c>: the folder appears on the board at
/// <c>/remote</c> (its current folder), served over the WebREPL connection (docs/mount.md); then the REPL, or the
/// code, and the folder is unmounted on the way out.
/// </summary>
internal static class MountCommand
{
    public static Command Create(CliContext context, Func<ParseResult, CancellationToken, Task<WebReplClient>> connect, Func<Func<Task<int>>, Task<int>> guard)
    {
        var folder = new Argument<string>("local-dir") { Description = "The local folder to serve to the board." };
        var exec = new Option<string?>("--exec", "-e") { Description = "Run this Python code with the folder mounted, then unmount and exit (instead of the REPL).", HelpName = "CODE" };
        var run = new Option<string?>("--run") { Description = "Run this local Python file with the folder mounted, then unmount and exit.", HelpName = "FILE" };
        var unsafeLinks = new Option<bool>("--unsafe-links", "-l") { Description = "Let the board follow symbolic links that lead outside the folder (refused by default)." };
        var command = new Command("mount",
            "Mount a local folder on the board at /remote (the board's current folder), served over WebREPL: 'import mymod' and open() " +
            "use this computer's files, read and write. Then the REPL (Ctrl-] exits; Ctrl-D soft-resets and mounts again), or --exec/--run. " +
            "Paths cannot leave the folder.")
        {
            Arguments = { folder },
            Options = { exec, run, unsafeLinks },
        };
        command.SetAction((parse, ct) => guard(async () =>
        {
            string local = parse.GetValue(folder)!;
            string? code = parse.GetValue(exec);
            string? file = parse.GetValue(run);
            if (code is not null && file is not null)
            {
                throw CliException.Usage("Give --exec or --run, not both.");
            }

            if (!Directory.Exists(local))
            {
                throw new CliException($"No such local folder: '{local}'.", ExitCodes.LocalError);
            }

            if (file is not null)
            {
                code = File.Exists(file) ? await File.ReadAllTextAsync(file, ct) : throw new CliException($"No such local file: '{file}'.", ExitCodes.LocalError);
            }

            var options = new WebReplMountOptions
            {
                UnsafeLinks = parse.GetValue(unsafeLinks),
                Notice = line => context.Error.WriteLine($"webrepl mount: {PrintableText.Escape(line)}"),
            };
            await using var client = await connect(parse, ct);
            var mount = await WebReplMount.MountAsync(client, local, options, ct);
            if (code is null && context.InputIsTerminal)
            {
                await context.Error.WriteLineAsync($"Mounted {PrintableText.Escape(mount.LocalFolder)} at {mount.MountPoint} (the board's current folder).");
            }

            int result = ExitCodes.Success;
            try
            {
                result = code is null
                    ? await TerminalSession.RunAsync(client, context, mount.ReadOutputAsync, mount.SendInputAsync, ct)
                    : await ExecAsync(context, mount, code, ct);
            }
            finally
            {
                // Also after Ctrl-C: a bounded time of its own, since the command's token is cancelled then.
                await UnmountAsync(context, mount, client.Completion.IsCompleted);
            }

            return result;
        }));
        return command;
    }

    private static async Task<int> ExecAsync(CliContext context, WebReplMount mount, string code, CancellationToken cancellationToken)
    {
        var stdout = context.OpenOutput();
        try
        {
            await mount.ExecAsync(code, async (bytes, ct) =>
            {
                await stdout.WriteAsync(bytes, ct);
                await stdout.FlushAsync(ct);
            }, cancellationToken);
        }
        catch (WebReplExecutionException ex)
        {
            await stdout.FlushAsync(CancellationToken.None);
            await context.Error.WriteAsync(ex.Traceback.Replace("\r\n", "\n", StringComparison.Ordinal));
            return ExitCodes.BoardException;
        }

        return ExitCodes.Success;
    }

    private static async Task UnmountAsync(CliContext context, WebReplMount mount, bool connectionEnded)
    {
        if (connectionEnded)
        {
            await context.Error.WriteLineAsync($"webrepl mount: the connection ended; {mount.MountPoint} is no longer served (a board that resets forgets the mount).");
            return;
        }

        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await mount.UnmountAsync(bound.Token);
        }
        catch (Exception ex) when (ex is WebReplException or OperationCanceledException or WebReplExecutionException)
        {
            await context.Error.WriteLineAsync($"webrepl mount: could not unmount {mount.MountPoint} ({PrintableText.Escape(ex.Message)}); a soft reset (Ctrl-D) clears it.");
        }
    }
}
