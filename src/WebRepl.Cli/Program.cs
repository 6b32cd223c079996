using WebRepl.Cli;

return await WebReplCli.RunAsync(args, CliContext.FromConsole(), handleSignals: true).ConfigureAwait(false);
