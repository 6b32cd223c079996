using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using WebRepl.Transport;

namespace WebRepl.Cli;

/// <summary>
/// The <c>webrepl</c> command. webrepl_cli.py's forms (<c>webrepl HOST</c>, <c>webrepl LOCAL HOST:REMOTE</c>,
/// <c>webrepl HOST:REMOTE LOCAL</c>) and subcommands that take the board from <c>-t</c> or WEBREPL_TARGET.
/// Commands parse, call the library, and print; errors become one line and an exit code here.
/// </summary>
internal sealed partial class WebReplCli
{
    public const string TargetVariable = "WEBREPL_TARGET";
    public const string PasswordVariable = "WEBREPL_PASSWORD";
    public const string CertFingerprintVariable = "WEBREPL_CERT_FINGERPRINT";

    private readonly CliContext _context;
    private StopSignals? _signals;

    private readonly Option<string?> _target = new("--target", "-t")
    {
        Description = $"The board: HOST[:PORT] (port 8266 by default) or a ws:// or wss:// URL, a gateway URL included, or a NAME from 'webrepl boards'. Default: ${TargetVariable}.",
        HelpName = "HOST[:PORT]|URL|NAME",
    };

    private readonly Option<string?> _password = new("--password", "-p")
    {
        Description = $"The WebREPL password (a real board's has at most 9 characters). Default: ${PasswordVariable}, else a named board's stored one, else asked for without echo. " +
            "Prefer those: a password given with -p is visible to every user of this computer (ps) and stays in the shell's history.",
        HelpName = "PASSWORD",
    };

    private readonly Option<string[]> _certFingerprint = new("--cert-fingerprint")
    {
        Description = "For a wss:// target: also trust the certificate with this SHA-256 fingerprint (repeatable; 64 hex digits, with or without colons, " +
            $"as 'webrepl gateway --self-signed' prints it). Default: ${CertFingerprintVariable} (comma-separated).",
        HelpName = "SHA256",
    };

    private readonly Option<bool> _quiet = new("--quiet", "-q")
    {
        Description = "No progress output.",
    };

    private readonly Option<double> _timeout = new("--timeout")
    {
        Description = "Seconds to wait for the connection and for each reply from the board.",
        HelpName = "SECONDS",
        DefaultValueFactory = _ => 10,
    };

    private WebReplCli(CliContext context) => _context = context;

    /// <summary>
    /// Runs the command; returns the exit code. With <c>handleSignals</c> (the <c>webrepl</c> process), SIGINT and
    /// SIGTERM cancel the command; in-process (tests) they are left to the host.
    /// </summary>
    public static Task<int> RunAsync(string[] args, CliContext context, bool handleSignals = false, CancellationToken cancellationToken = default) =>
        new WebReplCli(context).InvokeAsync(args, handleSignals, cancellationToken);

    private async Task<int> InvokeAsync(string[] args, bool handleSignals, CancellationToken cancellationToken)
    {
        Command root = BuildRoot(CommandUsage.MayAskForHelpOrVersion(args));
        string[] expanded;
        try
        {
            expanded = ExpandShortcut(args, root);
        }
        catch (CliException ex)
        {
            await _context.Error.WriteLineAsync($"webrepl: {PrintableText.Escape(ex.Message)}").ConfigureAwait(false);
            return ex.ExitCode;
        }

        ParseResult parse = root.Parse(expanded);
        if (CommandUsage.UnknownCommand(parse) is { } unknown)
        {
            await _context.Error.WriteLineAsync($"webrepl: {unknown}").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        if (parse.Errors.Count > 0)
        {
            foreach (string line in CommandUsage.DescribeErrors(parse))
            {
                await _context.Error.WriteLineAsync(line).ConfigureAwait(false);
            }

            return ExitCodes.Usage;
        }

        var configuration = new InvocationConfiguration
        {
            Output = _context.Out,
            Error = _context.Error,
            EnableDefaultExceptionHandler = false,
            // Signals are StopSignals' (System.CommandLine's handling would end the process after a timeout, mid-clean-up).
            ProcessTerminationTimeout = null,
        };

        // SIGINT and SIGTERM cancel the command's token, whatever the command: it stops cleanly (GuardAsync gives the exit code).
        using var signals = handleSignals ? new StopSignals(cancellationToken) : null;
        _signals = signals;
        return await parse.InvokeAsync(configuration, signals?.Token ?? cancellationToken).ConfigureAwait(false);
    }

    private Command BuildRoot(bool helpOrVersion)
    {
        var legacy = new Argument<string[]>("args")
        {
            Description = "webrepl_cli.py's forms: HOST[:PORT] (REPL), LOCAL HOST[:PORT]:REMOTE (put), HOST[:PORT]:REMOTE LOCAL (get).",
            Arity = new ArgumentArity(0, 2),
            // Its forms are in the description; shown as an argument, every subcommand's help listed it too.
            Hidden = true,
        };

        // A plain command named as the tool is installed: a RootCommand takes its name from the executable (WebRepl.Cli).
        var root = new Command(
            CommandUsage.Program,
            "MicroPython WebREPL from the command line: a terminal, file transfer, and more.\n\n" +
            "  webrepl [-p PASSWORD] HOST[:PORT]                   interactive REPL (Ctrl-] exits)\n" +
            "  webrepl [-p PASSWORD] LOCAL HOST[:PORT]:REMOTE      send a file (REMOTE ending in / keeps the name)\n" +
            "  webrepl [-p PASSWORD] HOST[:PORT]:REMOTE LOCAL      fetch a file (a LOCAL folder keeps the name)\n" +
            "  webrepl -t HOST put main.py :main.py                the same as subcommands (board paths start with :)\n\n" +
            ExitCodes.HelpText)
        {
            Arguments = { legacy },
        };
        if (helpOrVersion)
        {
            // Only when a word may ask for them: their descriptions are System.CommandLine's resources, whose first
            // look-up costs every command a few ms of start-up (bench/README.md, "The native tool").
            root.Options.Add(new System.CommandLine.Help.HelpOption());
            root.Options.Add(new VersionOption());
        }

        AddClientOptions(root, transfers: true);
        root.SetAction((parse, ct) => GuardAsync(() => RunLegacyAsync(parse, parse.GetValue(legacy) ?? [], ct)));

        var repl = new Command("repl", "Interactive REPL on the board. Ctrl-] exits; Ctrl-C, Ctrl-D and the other keys go to the board.");
        repl.SetAction((parse, ct) => GuardAsync(() => ReplAsync(parse, null, ct)));
        root.Subcommands.Add(repl);

        var putArgs = new Argument<string[]>("paths")
        {
            Description = "LOCAL... :REMOTE: files to send, then the board path (a folder when it ends in / or several files are sent).",
            Arity = new ArgumentArity(2, 1000),
        };
        var put = new Command("put", "Send files to the board (verified by SHA-256 unless --no-verify).") { Arguments = { putArgs }, Options = { _noVerify } };
        put.SetAction((parse, ct) => GuardAsync(() => PutCommandAsync(parse, parse.GetValue(putArgs)!, ct)));
        root.Subcommands.Add(put);

        var getArgs = new Argument<string[]>("paths")
        {
            Description = ":REMOTE... LOCAL: board files to fetch, then the local file or folder (a folder when it ends in / or several files are fetched; created if missing).",
            Arity = new ArgumentArity(2, 1000),
        };
        var get = new Command("get", "Fetch files from the board (written atomically: no partial files).") { Arguments = { getArgs } };
        get.SetAction((parse, ct) => GuardAsync(() => GetCommandAsync(parse, parse.GetValue(getArgs)!, ct)));
        root.Subcommands.Add(get);

        var version = new Command("version", "Print the board's MicroPython version.");
        version.SetAction((parse, ct) => GuardAsync(() => VersionAsync(parse, ct)));
        root.Subcommands.Add(version);

        AddReplCommands(root);
        AddDailyCommands(root);
        root.Subcommands.Add(Mount.MountCommand.Create(_context, (p, ct) => ConnectAsync(p, null, ct), GuardAsync));
        root.Subcommands.Add(Mcp.McpCommand.Create(_context, (p, ct) => ConnectAsync(p, null, ct), p => p.GetValue(_password) ?? _context.GetEnvironmentVariable(PasswordVariable) ?? NamedBoardOf(p, null)?.Password, GuardAsync));
        root.Subcommands.Add(Mip.MipCommand.Create(_context, (p, ct) => ConnectAsync(p, null, ct), c => AddClientOptions(c, transfers: true), _quiet, GuardAsync));

        // Every command so far talks to a board: each takes the client options (board and gateway do not).
        foreach (var command in root.Subcommands)
        {
            AddClientOptions(command, transfers: command.Name is "put" or "get" or "cp" or "sync");
        }

        root.Subcommands.Add(BoardCommand.Create(_context, BoardCommand.PasswordOption(), GuardAsync));
        root.Subcommands.Add(GatewayCommand.Create(_context, GatewayCommand.PasswordOption(), GuardAsync));
        root.Subcommands.Add(BoardsCommand.Create(_context, GuardAsync));
        return root;
    }

    /// <summary>The options of a command that connects to a board; the same instances everywhere, so that they may come before the command's name too.</summary>
    private void AddClientOptions(Command command, bool transfers)
    {
        command.Options.Add(_target);
        command.Options.Add(_password);
        command.Options.Add(_certFingerprint);
        command.Options.Add(_timeout);
        if (transfers)
        {
            command.Options.Add(_quiet);
        }
    }

    private async Task<int> RunLegacyAsync(ParseResult parse, string[] args, CancellationToken cancellationToken)
    {
        switch (args.Length)
        {
            case 0:
                throw CliException.Usage("Give a board (webrepl HOST[:PORT]) or a command; run 'webrepl --help' for usage.");
            case 1:
                return await ReplAsync(parse, args[0], cancellationToken).ConfigureAwait(false);
            default:
                if (Paths.TrySplitLegacyRemote(args[0], out string source, out string remote))
                {
                    return await GetAsync(parse, source, [remote], args[1], cancellationToken).ConfigureAwait(false);
                }

                if (Paths.TrySplitLegacyRemote(args[1], out string destination, out remote))
                {
                    // As webrepl_cli.py: no REPL involved (no verification), so a running program is left alone.
                    return await PutAsync(parse, destination, [args[0]], remote, verify: false, cancellationToken).ConfigureAwait(false);
                }

                throw CliException.Usage($"Neither '{args[0]}' nor '{args[1]}' is a board path HOST[:PORT]:REMOTE. Run 'webrepl --help' for usage.");
        }
    }

    private async Task<int> ReplAsync(ParseResult parse, string? target, CancellationToken cancellationToken)
    {
        await using var client = await ConnectAsync(parse, target, cancellationToken).ConfigureAwait(false);
        return await TerminalSession.RunAsync(client, _context, cancellationToken).ConfigureAwait(false);
    }

    private Task<int> PutCommandAsync(ParseResult parse, string[] paths, CancellationToken cancellationToken)
    {
        string destination = paths[^1];
        if (!Paths.IsRemote(destination))
        {
            throw CliException.Usage($"The last path, '{destination}', must be a board path starting with ':' (e.g. :main.py or :/lib/).");
        }

        var sources = paths[..^1];
        var remoteSource = sources.FirstOrDefault(Paths.IsRemote);
        if (remoteSource is not null)
        {
            throw CliException.Usage($"'{remoteSource}' is a board path; put sends local files. Use 'webrepl get' to fetch.");
        }

        return PutAsync(parse, null, sources, Paths.Remote(destination), !parse.GetValue(_noVerify), cancellationToken);
    }

    private Task<int> GetCommandAsync(ParseResult parse, string[] paths, CancellationToken cancellationToken)
    {
        string destination = paths[^1];
        if (Paths.IsRemote(destination))
        {
            throw CliException.Usage($"The last path, '{destination}', must be a local file or folder (board paths start with ':').");
        }

        var sources = paths[..^1];
        var local = sources.FirstOrDefault(p => !Paths.IsRemote(p));
        if (local is not null)
        {
            throw CliException.Usage($"'{local}' is not a board path: board paths start with ':' (e.g. :main.py).");
        }

        return GetAsync(parse, null, [.. sources.Select(Paths.Remote)], destination, cancellationToken);
    }

    private async Task<int> PutAsync(ParseResult parse, string? target, string[] sources, string remote, bool verify, CancellationToken cancellationToken)
    {
        var items = new List<(TransferItem Item, string Local, string Remote)>();
        foreach (string source in sources)
        {
            if (Directory.Exists(source))
            {
                throw new CliException($"'{source}' is a folder; put sends files. Name the files inside it.", ExitCodes.LocalError);
            }

            if (!File.Exists(source))
            {
                throw new CliException($"No such local file: '{source}'.", ExitCodes.LocalError);
            }

            string destination = Paths.RemoteDestination(remote, source, isFolder: sources.Length > 1);
            ValidateRemoteName(destination);
            items.Add((new TransferItem($"{source} -> :{destination}", new FileInfo(source).Length) { DoneSuffix = verify ? " (verified)" : string.Empty }, source, destination));
        }

        await using var client = await ConnectAsync(parse, target, cancellationToken).ConfigureAwait(false);
        var byItem = items.ToDictionary(i => i.Item);
        await TransferView.RunAsync(_context, parse.GetValue(_quiet), [.. items.Select(i => i.Item)], async (item, progress, ct) =>
        {
            var (_, local, destination) = byItem[item];
            if (verify)
            {
                int sends = await client.Files.UploadAsync(local, destination, verify: true, progress, ct).ConfigureAwait(false);
                if (sends > 1)
                {
                    item.DoneSuffix = " (verified; sent twice: the first copy failed its check)";
                }
            }
            else
            {
                await client.PutFileAsync(local, destination, progress, ct).ConfigureAwait(false);
            }

            return item.Size ?? 0;
        }, cancellationToken).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private async Task<int> GetAsync(ParseResult parse, string? target, IReadOnlyList<string> sources, string local, CancellationToken cancellationToken)
    {
        // As cp -r: a destination that is clearly a folder (ending in /, or for several files) is made if missing.
        bool intoFolder = Paths.IsLocalFolder(local, sources.Count);
        if (intoFolder && File.Exists(local))
        {
            throw CliException.Usage($"'{local}' is a file: to fetch several files, name a folder last.");
        }

        var items = new List<(TransferItem Item, string Remote, string Local)>();
        foreach (string source in sources)
        {
            ValidateRemoteName(source);
            string destination = Paths.LocalDestination(local, source, forceFolder: intoFolder);
            string? folder = intoFolder ? null : Path.GetDirectoryName(Path.GetFullPath(destination));
            if (folder is not null && !Directory.Exists(folder))
            {
                throw new CliException($"The local folder '{folder}' does not exist.", ExitCodes.LocalError);
            }

            items.Add((new TransferItem($":{source} -> {destination}", null), source, destination));
        }

        await using var client = await ConnectAsync(parse, target, cancellationToken).ConfigureAwait(false);
        if (intoFolder)
        {
            // Once the board is reached: a failed connection leaves no empty folder behind.
            Directory.CreateDirectory(local);
        }

        var byItem = items.ToDictionary(i => i.Item);
        await TransferView.RunAsync(_context, parse.GetValue(_quiet), [.. items.Select(i => i.Item)], (item, progress, ct) =>
        {
            var (_, source, destination) = byItem[item];
            // No REPL here (a running program is left alone), so no size: the last GET may keep more requests in
            // flight, since the connection closes right after it (docs/protocol.md, "GET pipelining").
            var options = new WebReplGetOptions { SessionEndsAfter = ReferenceEquals(item, items[^1].Item) };
            return client.GetFileAsync(source, destination, progress, options, ct);
        }, cancellationToken).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private async Task<int> VersionAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        await using var client = await ConnectAsync(parse, null, cancellationToken).ConfigureAwait(false);
        var version = await client.GetVersionAsync(cancellationToken).ConfigureAwait(false);
        await _context.Out.WriteLineAsync(version.ToString()).ConfigureAwait(false);
        return ExitCodes.Success;
    }

    private static void ValidateRemoteName(string remote)
    {
        try
        {
            Protocol.WebReplRequest.ValidateFileName(remote);
        }
        catch (ArgumentException ex)
        {
            throw CliException.Usage(ex.Message.Split(" (Parameter", 2)[0]);
        }
    }

    private async Task<WebReplClient> ConnectAsync(ParseResult parse, string? targetText, CancellationToken cancellationToken)
    {
        targetText ??= parse.GetValue(_target) ?? _context.GetEnvironmentVariable(TargetVariable);
        if (string.IsNullOrWhiteSpace(targetText))
        {
            throw CliException.Usage($"No board given: use -t HOST[:PORT] (or a ws:// URL, or a name from 'webrepl boards'), or set {TargetVariable}.");
        }

        var named = NamedBoardOf(parse, targetText);
        targetText = named?.Target ?? targetText;

        if (!WebReplTarget.TryParse(targetText, out var target, out string? error))
        {
            throw CliException.Usage(error!);
        }

        string? password = parse.GetValue(_password) ?? _context.GetEnvironmentVariable(PasswordVariable) ?? named?.Password;
        if (password is null)
        {
            password = _context.InputIsTerminal ? await ReadSecretAsync("Password: ", cancellationToken).ConfigureAwait(false) : null;
            if (password is null)
            {
                throw CliException.Usage($"No password given: use -p PASSWORD or set {PasswordVariable}.");
            }
        }

        var timeout = TimeSpan.FromSeconds(parse.GetValue(_timeout));
        if (timeout <= TimeSpan.Zero)
        {
            throw CliException.Usage("--timeout must be a positive number of seconds.");
        }

        var options = new WebReplClientOptions { ConnectTimeout = timeout, ReplyTimeout = timeout, RemoteCertificateValidation = CertificateValidation(parse, target) };
        return await WebReplClient.ConnectAndLoginAsync(target, password, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The prompt's read blocks, so it waits on a thread of its own: a signal still ends the command (GuardAsync restores the terminal).</summary>
    private Task<string?> ReadSecretAsync(string prompt, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(() => _context.ReadSecret(prompt), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)
            .WaitAsync(cancellationToken);

    /// <summary>For wss://, the system's trust and the pinned fingerprints; a refusal shows the certificate's fingerprint and how to pin it.</summary>
    private System.Net.Security.RemoteCertificateValidationCallback? CertificateValidation(ParseResult parse, WebReplTarget target)
    {
        string[] given = parse.GetValue(_certFingerprint) is { Length: > 0 } values
            ? values
            : _context.GetEnvironmentVariable(CertFingerprintVariable)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        CertificatePins pins;
        try
        {
            pins = CertificatePins.Parse(given);
        }
        catch (FormatException ex)
        {
            throw CliException.Usage("--cert-fingerprint: " + ex.Message);
        }

        if (!target.IsSecure)
        {
            return null;
        }

        return pins.CreateValidation(certificate =>
        {
            string fingerprint = CertificatePins.Fingerprint(certificate);
            return pins.Count == 0
                ? $"Cannot connect to {target}: its TLS certificate is not trusted (SHA-256 {fingerprint}). If it is the one you expect " +
                  $"('webrepl gateway --self-signed' prints its fingerprint), trust it with --cert-fingerprint {fingerprint}"
                : $"Cannot connect to {target}: its TLS certificate (SHA-256 {fingerprint}) is not trusted and is none of those " +
                  $"given with --cert-fingerprint (or ${CertFingerprintVariable}).";
        });
    }

    /// <summary>The one place where errors become a line on stderr and an exit code.</summary>
    internal async Task<int> GuardAsync(Func<Task<int>> action)
    {
        int code;
        string? message = null;
        try
        {
            code = await action().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            (code, message) = Describe(ex);
            RawTerminal.Restore();

            // Whatever a stop cut short (a transfer, a reply awaited), the signal is the reason.
            if (_signals?.Received is not null)
            {
                (code, message) = (ExitCodes.Interrupted, "interrupted.");
            }
        }

        if (code == ExitCodes.Interrupted && _signals?.Received == PosixSignal.SIGTERM)
        {
            (code, message) = (ExitCodes.Terminated, message is null ? null : "stopped by SIGTERM.");
        }

        if (message is not null)
        {
            // Messages name board files and quote the board's errors: escaped, so that they cannot drive the terminal.
            await _context.Error.WriteLineAsync($"webrepl: {PrintableText.Escape(message)}").ConfigureAwait(false);
        }

        return code;
    }

    internal static (int Code, string Message) Describe(Exception ex) => ex switch
    {
        CliException cli => (cli.ExitCode, cli.Message),
        WebReplAuthenticationException => (ExitCodes.AccessDenied, ex.Message),
        Repl.WebReplExecutionException => (ExitCodes.BoardException, ex.Message),
        WebReplTimeoutException => (ExitCodes.Timeout, ex.Message),
        WebReplRemoteException => (ExitCodes.RemoteError, ex.Message),
        WebReplException => (ExitCodes.CannotConnect, ex.Message),
        OperationCanceledException => (ExitCodes.Interrupted, "interrupted."),
        FileNotFoundException fnf => (ExitCodes.LocalError, $"No such local file: '{fnf.FileName}'."),
        DirectoryNotFoundException or UnauthorizedAccessException or IOException => (ExitCodes.LocalError, ex.Message),
        ArgumentException arg => (ExitCodes.Usage, arg.Message.Split(" (Parameter", 2)[0]),
        _ => (ExitCodes.LocalError, string.Create(CultureInfo.InvariantCulture, $"unexpected error: {ex.GetType().Name}: {ex.Message}")),
    };
}
