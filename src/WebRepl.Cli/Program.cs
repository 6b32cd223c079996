using WebRepl.Cli;
using WebRepl.Gateway;

if (args.Length > 0 && args[0] == "gateway")
{
    // Before anything uses the thread pool or a socket: the runtime reads these settings once.
    WebReplGateway.TuneProcessForRelay();
}

return await WebReplCli.RunAsync(args, CliContext.FromConsole(), handleSignals: true).ConfigureAwait(false);
