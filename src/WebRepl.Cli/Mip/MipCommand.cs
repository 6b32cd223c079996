using System.CommandLine;
using System.Globalization;
using WebRepl.Mip;

namespace WebRepl.Cli.Mip;

/// <summary>
/// <c>webrepl mip install PACKAGE...</c>: mpremote's <c>mip install</c> over WebREPL. This computer fetches the
/// packages (the board needs no network); the files are written verified, all or none (see <see cref="MipInstaller"/>).
/// </summary>
internal static class MipCommand
{
    public static Command Create(
        CliContext context,
        Func<ParseResult, CancellationToken, Task<WebReplClient>> connect,
        Action<Command> addClientOptions,
        Option<bool> quiet,
        Func<Func<Task<int>>, Task<int>> guard)
    {
        var packages = new Argument<string[]>("packages")
        {
            Description = "NAME[@VERSION] from the index, github:OWNER/REPO[/PATH][@REF], gitlab:OWNER/REPO[/PATH][@REF], an http(s) URL " +
                "(a package.json, its folder, or one .py/.mpy file), or a local folder or package.json (give it with a slash: ./mypkg).",
            Arity = ArgumentArity.OneOrMore,
        };
        var target = new Option<string?>("--target") { Description = "The board folder to install into. Default: the first …/lib in the board's sys.path, else :/lib.", HelpName = ":FOLDER" };
        var index = new Option<string?>("--index") { Description = $"The package index. Default: {MipOptions.DefaultIndex}.", HelpName = "URL" };
        var noMpy = new Option<bool>("--no-mpy") { Description = "Install .py files (source) instead of the .mpy bytecode made for the board's version." };
        var mpyVersion = new Option<string?>("--mpy-version") { Description = "The bytecode version to ask the index for (e.g. 6), instead of the board's sys.implementation._mpy.", HelpName = "N" };
        var github = new Option<string?>("--github-base") { Description = $"Where github: names are fetched from (a mirror). Default: {MipOptions.Default.GitHubBase}.", HelpName = "URL" };
        var gitlab = new Option<string?>("--gitlab-base") { Description = $"Where gitlab: names are fetched from. Default: {MipOptions.Default.GitLabBase}.", HelpName = "URL" };
        var noRepl = new Option<bool>("--no-repl")
        {
            Description = "Use WebREPL's file transfer only, not the REPL (a board whose REPL is in use, or a server with the file transfer alone): needs --mpy-version or --no-mpy, and the target " +
                "folder and its subfolders must exist; files are written in place and read back to verify, none skipped.",
        };
        var install = new Command("install", "Install packages from micropython-lib's index, GitHub, GitLab, a URL or a local folder, with their dependencies. " +
            "This computer downloads them (the board needs no network); files already identical on the board are skipped; the others are " +
            "written verified (SHA-256), all or none.")
        {
            Arguments = { packages },
            Options = { target, index, noMpy, mpyVersion, noRepl, github, gitlab },
        };
        addClientOptions(install);
        install.SetAction((p, ct) => guard(async () =>
        {
            var options = new MipOptions
            {
                Target = p.GetValue(target),
                Index = Url(p.GetValue(index), "--index") ?? MipOptions.DefaultIndex,
                Mpy = !p.GetValue(noMpy),
                MpyVersion = p.GetValue(mpyVersion),
                FileProtocolOnly = p.GetValue(noRepl),
                GitHubBase = Url(p.GetValue(github), "--github-base") ?? MipOptions.Default.GitHubBase,
                GitLabBase = Url(p.GetValue(gitlab), "--gitlab-base") ?? MipOptions.Default.GitLabBase,
            };
            await using var client = await connect(p, ct);
            return await InstallAsync(context, client, p.GetValue(packages)!, options, p.GetValue(quiet), ct);
        }));

        return new Command("mip", "Install MicroPython packages (as mpremote's mip), fetched by this computer.") { Subcommands = { install } };
    }

    private static async Task<int> InstallAsync(CliContext context, WebReplClient client, string[] packages, MipOptions options, bool quiet, CancellationToken cancellationToken)
    {
        void Log(string line)
        {
            if (!quiet)
            {
                context.Error.WriteLine(PrintableText.Escape(line));
            }
        }

        try
        {
            var plan = await MipInstaller.PlanAsync(client, packages, options, Log, cancellationToken);
            await MipInstaller.ApplyAsync(client, plan, (files, sendOne, ct) =>
            {
                var items = files.ToDictionary(f => new TransferItem($"{f.Path} -> :{plan.BoardPath(f)}", f.Content.Length));
                return TransferView.RunAsync(context, quiet, [.. items.Keys], async (item, progress, token) =>
                {
                    await sendOne(items[item], progress, token);
                    return item.Size ?? 0;
                }, ct);
            }, Log, cancellationToken);
            string names = string.Join(", ", plan.Packages.Select(p => p.Version is null ? p.Name : $"{p.Name} {p.Version}"));
            await context.Out.WriteLineAsync(PrintableText.Escape(plan.ToWrite.Count == 0
                ? string.Create(CultureInfo.InvariantCulture, $"Nothing to do: {names} already installed in :{plan.Target} ({plan.Unchanged} file(s) unchanged).")
                : string.Create(CultureInfo.InvariantCulture,
                    $"Installed {names} in :{plan.Target}: {plan.ToWrite.Count} file(s) written ({plan.BytesToSend:N0} bytes, verified{(plan.FileProtocolOnly ? " by reading them back" : string.Empty)}), {plan.Unchanged} unchanged.")));
            return ExitCodes.Success;
        }
        catch (MipNetworkException ex)
        {
            throw new CliException(ex.Message, ExitCodes.CannotConnect);
        }
        catch (MipException ex)
        {
            throw new CliException(ex.Message, ExitCodes.LocalError);
        }
    }

    private static Uri? Url(string? text, string option)
    {
        if (text is null)
        {
            return null;
        }

        return Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : throw CliException.Usage($"{option}: '{text}' is not an http:// or https:// URL.");
    }
}
