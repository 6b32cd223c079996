using System.CommandLine;
using System.Net;
using Microsoft.Extensions.Logging;
using WebRepl.Board;
using WebRepl.Gateway;
using WebRepl.Transport;

namespace WebRepl.Cli;

/// <summary><c>webrepl gateway</c>: forwards ws(s)://GATEWAY/ws://BOARD:PORT to boards (the Edrys proxy, done right).</summary>
internal static class GatewayCommand
{
    /// <summary>The virtual board's password (with --virtual-board): set, or generated and printed.</summary>
    public static Option<string?> PasswordOption() => new("--password", "-p")
    {
        Description = $"With --virtual-board: the virtual board's WebREPL password (1 to {WebReplClient.MaxPasswordLength} characters, as a real board's). Default: one is generated and printed at start.",
        HelpName = "PASSWORD",
    };

    public static Command Create(CliContext context, Option<string?> password, Func<Func<Task<int>>, Task<int>> guard)
    {
        var o = new CommandOptions();
        var command = new Command(
            "gateway",
            "Run a WebREPL gateway: ws(s)://GATEWAY/ws://HOST:PORT forwards to the board at ws://HOST:PORT, so that HTTPS pages " +
            "(Edrys) and several clients at once can use a board. Secure by default: loopback only, local-network targets, " +
            "browser origins checked. Ctrl-C or SIGTERM stops it cleanly.");
        command.Options.Add(password);
        foreach (var option in o.All)
        {
            command.Options.Add(option);
        }

        command.SetAction((parse, ct) => guard(async () =>
        {
            var file = parse.GetValue(o.Config) is { } path ? Load(() => GatewayConfigFile.Load(path)) : new GatewayConfigFile();
            var logging = new GatewayLoggerFactory(new StderrLoggerFactory(context.Error, parse.GetValue(o.Verbose) ? LogLevel.Debug : LogLevel.Information));
            var options = o.ToGatewayOptions(parse, file, logging);
            return await RunAsync(context, options, parse.GetValue(o.VirtualBoard), BoardCommand.CheckPassword(parse.GetValue(password)), ct);
        }));
        return command;
    }

    /// <summary>The gateway command's options, and how they and the settings file make <see cref="GatewayOptions"/>.</summary>
    private sealed class CommandOptions
    {
        public Option<int?> Port { get; } = new("--port") { Description = $"The port (default {GatewayOptions.DefaultPort}; 0: any free port)." };
        public Option<string?> Bind { get; } = new("--bind")
        {
            Description = "The address to listen on (default 127.0.0.1; 'localhost' for 127.0.0.1 and ::1). Other machines reach the gateway only through a non-loopback address.",
            HelpName = "ADDRESS",
        };
        public Option<string[]> Boards { get; } = new("--board")
        {
            Description = "A named board: NAME=ws://HOST:PORT (repeatable), reached at /boards/NAME.",
            HelpName = "NAME=URL",
            AllowMultipleArgumentsPerToken = false,
        };
        public Option<string?> Config { get; } = new("--config")
        {
            Description = "A JSON settings file (docs/gateway.md, 'Settings file'); options given here override it.",
            HelpName = "FILE",
        };
        public Option<bool> VirtualBoard { get; } = new("--virtual-board") { Description = "Also start a virtual MicroPython board, named 'virtual' (-p sets its password)." };
        public Option<string[]> AllowTarget { get; } = new("--allow-target")
        {
            Description = "Allow targets: a CIDR block, ADDRESS[:PORT] or HOST[:PORT] (repeatable). Replaces the default: loopback, private and link-local addresses.",
            HelpName = "RULE",
        };
        public Option<string[]> AllowOrigin { get; } = new("--allow-origin")
        {
            Description = "Allow browser pages from this origin, e.g. https://edrys-labs.github.io (repeatable; 'null' for sandboxed frames, '*' for any).",
            HelpName = "ORIGIN",
        };
        public Option<string?> Cert { get; } = new("--cert") { Description = "TLS certificate (PEM): serve wss:// and https://.", HelpName = "PEM" };
        public Option<string?> Key { get; } = new("--key") { Description = "The certificate's private key (PEM, unencrypted).", HelpName = "PEM" };
        public Option<bool> SelfSigned { get; } = new("--self-signed") { Description = "TLS with a generated self-signed certificate (cached; its fingerprint is printed)." };
        public Option<string[]> TargetFingerprint { get; } = new("--target-cert-fingerprint")
        {
            Description = "Trust a wss:// target whose certificate has this SHA-256 fingerprint (repeatable; 64 hex digits, with or without colons, " +
                "as 'webrepl gateway --self-signed' prints it), besides the certificates the system trusts.",
            HelpName = "SHA256",
        };
        public Option<bool> Exclusive { get; } = new("--exclusive") { Description = "One client per board, as a board itself: a second client is refused instead of joining." };
        public Option<int?> MaxSessions { get; } = new("--max-sessions") { Description = "Boards connected at once (default 100).", HelpName = "N" };
        public Option<int?> MaxClients { get; } = new("--max-clients") { Description = "Clients sharing one board (default 32).", HelpName = "N" };
        public Option<int?> MaxMessage { get; } = new("--max-message") { Description = "The largest message a client may send, in bytes (default 1048576).", HelpName = "BYTES" };
        public Option<double?> Idle { get; } = new("--idle-timeout") { Description = "Close a session after this many seconds without a message (default 3600; 0: never).", HelpName = "SECONDS" };
        public Option<double?> KeepAlive { get; } = new("--client-keepalive")
        {
            Description = "Ping a client that has been sent nothing for this many seconds, so that a proxy (nginx) keeps an idle session open (default 20; 0: no pings). Boards are never pinged.",
            HelpName = "SECONDS",
        };
        public Option<bool> NoReadAhead { get; } = new("--no-read-ahead")
        {
            Description = "Forward a GET's chunk requests only as clients send them (by default the gateway asks the board for the next chunk as soon as one arrives).",
        };
        public Option<int?> LoginFailures { get; } = new("--login-failures")
        {
            Description = "Wrong passwords from one address within 10 minutes after which it is refused for 5 minutes (default 10; 0: no limit).",
            HelpName = "N",
        };
        public Option<double?> LoginTimeout { get; } = new("--login-timeout")
        {
            Description = "Close a client that has not logged in after this many seconds (default 60).",
            HelpName = "SECONDS",
        };
        public Option<int?> MaxPendingLogins { get; } = new("--max-pending-logins")
        {
            Description = "Clients from one address (an IPv6 /64) that may be logging in at once (default 32; 0: no limit).",
            HelpName = "N",
        };
        public Option<string[]> TrustProxy { get; } = new("--trust-proxy")
        {
            Description = "A reverse proxy (address or CIDR block, e.g. 127.0.0.1 for nginx on this machine) whose X-Forwarded-For names the client for --login-failures (repeatable). Without it the header is ignored.",
            HelpName = "ADDRESS",
        };
        public Option<bool> Verbose { get; } = new("--verbose") { Description = "Log more (debug level). Terminal data and passwords are never logged." };

        /// <summary>Every option above, in the order the help lists them.</summary>
        public Option[] All => [Port, Bind, Boards, Config, VirtualBoard, AllowTarget, AllowOrigin, Cert, Key, SelfSigned, TargetFingerprint, Exclusive, MaxSessions, MaxClients, MaxMessage, Idle, KeepAlive, NoReadAhead, LoginFailures, LoginTimeout, MaxPendingLogins, TrustProxy, Verbose];

        /// <summary>The options given, over the settings file's, over the defaults.</summary>
        public GatewayOptions ToGatewayOptions(ParseResult parse, GatewayConfigFile file, ILoggerFactory logging)
        {
            var named = new Dictionary<string, string>(file.Boards, StringComparer.Ordinal);
            foreach (string entry in parse.GetValue(Boards) ?? [])
            {
                int equals = entry.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    throw CliException.Usage($"--board takes NAME=URL (e.g. lab1=ws://192.168.2.197:8266), not '{entry}'.");
                }

                named[entry[..equals]] = entry[(equals + 1)..];
            }

            GatewayTlsOptions? tls = file.Tls;
            if (parse.GetValue(Cert) is not null || parse.GetValue(Key) is not null || parse.GetValue(SelfSigned))
            {
                tls = new GatewayTlsOptions { CertificatePath = parse.GetValue(Cert), KeyPath = parse.GetValue(Key), SelfSigned = parse.GetValue(SelfSigned) };
            }

            return new GatewayOptions
            {
                Listen = Load(() => GatewayConfigFile.ParseListen(parse.GetValue(Bind) ?? file.Bind ?? "127.0.0.1", parse.GetValue(Port) ?? file.Port ?? GatewayOptions.DefaultPort)),
                Boards = named,
                AllowedTargets = [.. file.AllowTargets, .. parse.GetValue(AllowTarget) ?? []],
                AllowedOrigins = [.. file.AllowOrigins, .. parse.GetValue(AllowOrigin) ?? []],
                Exclusive = parse.GetValue(Exclusive) || (file.Exclusive ?? false),
                Tls = tls,
                TargetCertificateValidation = TargetValidation([.. file.TargetCertFingerprints, .. parse.GetValue(TargetFingerprint) ?? []]),
                MaxSessions = parse.GetValue(MaxSessions) ?? file.MaxSessions ?? GatewayOptions.Default.MaxSessions,
                MaxClientsPerSession = parse.GetValue(MaxClients) ?? file.MaxClients ?? GatewayOptions.Default.MaxClientsPerSession,
                MaxMessageBytes = parse.GetValue(MaxMessage) ?? file.MaxMessageBytes ?? GatewayOptions.Default.MaxMessageBytes,
                IdleTimeout = (parse.GetValue(Idle) ?? file.IdleTimeoutSeconds) is double seconds ? TimeSpan.FromSeconds(seconds) : GatewayOptions.Default.IdleTimeout,
                ClientKeepAlive = (parse.GetValue(KeepAlive) ?? file.ClientKeepAliveSeconds) is double every
                    ? (every >= 0 && double.IsFinite(every) ? TimeSpan.FromSeconds(every) : throw CliException.Usage("--client-keepalive takes a number of seconds, 0 or more."))
                    : GatewayOptions.Default.ClientKeepAlive,
                GetReadAhead = !parse.GetValue(NoReadAhead) && (file.ReadAhead ?? true),
                LoginFailureLimit = parse.GetValue(LoginFailures) ?? file.LoginFailureLimit ?? GatewayOptions.Default.LoginFailureLimit,
                LoginTimeout = (parse.GetValue(LoginTimeout) ?? file.LoginTimeoutSeconds) is double login ? TimeSpan.FromSeconds(login) : GatewayOptions.Default.LoginTimeout,
                MaxPendingLoginsPerAddress = parse.GetValue(MaxPendingLogins) ?? file.MaxPendingLogins ?? GatewayOptions.Default.MaxPendingLoginsPerAddress,
                BoardPasswords = file.BoardPasswords,
                TrustedProxies = [.. file.TrustedProxies, .. parse.GetValue(TrustProxy) ?? []],
                LoggerFactory = logging,
            };
        }
    }

    /// <summary>
    /// System trust, else a pinned fingerprint. The refusal is a client's close reason (at most 123 bytes): the
    /// fingerprint without colons, and the option that pins it.
    /// </summary>
    private static System.Net.Security.RemoteCertificateValidationCallback TargetValidation(string[] fingerprints)
    {
        CertificatePins pins;
        try
        {
            pins = CertificatePins.Parse(fingerprints);
        }
        catch (FormatException ex)
        {
            throw CliException.Usage("--target-cert-fingerprint: " + ex.Message);
        }

        return pins.CreateValidation(certificate =>
        {
            string fingerprint = CertificatePins.Fingerprint(certificate).Replace(":", string.Empty, StringComparison.Ordinal);
            return pins.Count == 0
                ? $"untrusted certificate {fingerprint}: pin with --target-cert-fingerprint"
                : $"certificate {fingerprint} matches no --target-cert-fingerprint";
        });
    }

    private static T Load<T>(Func<T> load)
    {
        try
        {
            return load();
        }
        catch (GatewayConfigurationException ex)
        {
            throw CliException.Usage(ex.Message);
        }
    }

    private static async Task<int> RunAsync(CliContext context, GatewayOptions options, bool startVirtualBoard, string? password, CancellationToken cancellationToken)
    {
        // Ctrl-C and SIGTERM cancel the token (StopSignals, for every command): sessions are closed with a reason, then the board.
        VirtualBoard? board = null;
        try
        {
            if (startVirtualBoard)
            {
                board = await VirtualBoard.StartAsync(
                    // Its own session lines (logged in from the gateway's side of the connection, not the client's port) would double
                    // the gateway's: only its warnings (an interpreter restarted) are shown.
                    new VirtualBoardOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), Password = password, LoggerFactory = new WarningsOnly(options.LoggerFactory) },
                    cancellationToken);
                options = options with { Boards = new Dictionary<string, string>(options.Boards) { ["virtual"] = board.Url } };
            }

            WebReplGateway gateway;
            try
            {
                gateway = await WebReplGateway.StartAsync(options, cancellationToken);
            }
            catch (GatewayConfigurationException ex)
            {
                throw CliException.Usage(ex.Message);
            }
            catch (GatewayStartException ex)
            {
                throw new CliException(ex.Message, StartFailure.ExitCode(ex));
            }

            await using (gateway)
            {
                await context.Out.WriteLineAsync(Banner(gateway, options, board));
                await context.Out.FlushAsync(cancellationToken);
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    await context.Error.WriteLineAsync("Stopping the gateway: closing sessions.");
                }
            }
        }
        catch (VirtualBoardException ex)
        {
            throw new CliException(ex.Message, StartFailure.ExitCode(ex));
        }
        finally
        {
            if (board is not null)
            {
                await board.DisposeAsync();
            }
        }

        return ExitCodes.Success;
    }

    private static string Banner(WebReplGateway gateway, GatewayOptions options, VirtualBoard? board)
    {
        string ws = gateway.WebSocketUrls[0];
        var lines = new List<string> { "WebREPL gateway ready" };
        lines.AddRange(gateway.WebSocketUrls.Select((u, i) => $"  {(i == 0 ? "listening" : "         "),-10}{u}/"));
        lines.Add($"  {"forward",-10}{ws}/ws://HOST:8266  ->  ws://HOST:8266  (or /wss://...)");
        foreach (var (name, target) in gateway.Boards.OrderBy(b => b.Key, StringComparer.Ordinal))
        {
            lines.Add($"  {"board",-10}{ws}/boards/{name}  ->  {target}");
        }

        lines.Add($"  {"targets",-10}{gateway.AllowedTargetsDescription}");
        lines.Add($"  {"origins",-10}{gateway.AllowedOriginsDescription}");
        lines.Add($"  {"sessions",-10}{(options.Exclusive ? "exclusive: one client per board" : "shared: a second client joins (after the password); ?view joins read-only")}");
        if (gateway.CertificateFingerprint is { } fingerprint)
        {
            lines.Add($"  {"TLS",-10}{(options.Tls?.SelfSigned == true ? "self-signed certificate" + (gateway.CertificateGenerated ? " (new)" : " (cached)") : "certificate")} SHA-256 {fingerprint}");
            if (options.Tls?.SelfSigned == true)
            {
                lines.Add($"  {string.Empty,-10}open {gateway.Urls[0]}healthz once in the browser and accept the certificate; then pages can use {ws}/...");
            }
        }

        if (board is not null)
        {
            // A password the user gave is theirs to know: only a generated one is printed.
            lines.Add($"  {"virtual",-10}MicroPython {board.Version}, password {(board.PasswordGenerated ? board.Password + " (generated; choose one with -p)" : "the one given with -p")}, files in {board.Root} (kept between runs; delete the folder to start clean)");
            // Through the environment, not -p: a command line is visible to every user of the computer (ps).
            lines.Add($"Connect:    {(board.PasswordGenerated ? "WEBREPL_PASSWORD=" + board.Password + " " : string.Empty)}webrepl -t {ws}/boards/virtual repl");
        }
        else
        {
            lines.Add($"Connect:    webrepl -t {ws}/ws://HOST:8266 repl");
        }

        lines.Add($"Terminal:   open {gateway.Urls[0]} in a browser (the Edrys module: {gateway.Urls[0]}edrys/)");
        lines.Add($"Sessions:   {gateway.Urls[0]}api/sessions");
        lines.Add("Ctrl-C stops the gateway.");
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>Only warnings and errors of every category.</summary>
    private sealed class WarningsOnly(ILoggerFactory inner) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => new GatewayLoggerFactory.AtLeast(inner.CreateLogger(categoryName), LogLevel.Warning);

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        public void Dispose()
        {
            // The gateway's factory: disposed by its owner.
        }
    }

    /// <summary>The gateway's own log lines at the chosen level; ASP.NET Core's only from warnings up (its per-request lines are noise here).</summary>
    private sealed class GatewayLoggerFactory(ILoggerFactory inner) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) =>
            categoryName.StartsWith("Microsoft.Extensions.Hosting", StringComparison.Ordinal)
                ? new AtLeast(inner.CreateLogger(categoryName), LogLevel.None) // "Hosting failed to start": the command says why, in one line
                : categoryName.StartsWith("Microsoft.", StringComparison.Ordinal) ? new AtLeast(inner.CreateLogger(categoryName), LogLevel.Warning) : inner.CreateLogger(categoryName);

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        public void Dispose() => inner.Dispose();

        internal sealed class AtLeast(ILogger inner, LogLevel minimum) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => inner.BeginScope(state);

            public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && inner.IsEnabled(logLevel);

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    inner.Log(logLevel, eventId, state, exception, formatter);
                }
            }
        }
    }
}
