using System.Runtime.InteropServices;

namespace WebRepl.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM cancel the running command's token, for every command, so that it stops
/// cleanly: a fetch's temporary file removed, the board's session closed, the terminal restored, a board or
/// gateway stopped with its clients told and its port released. Without this the runtime ends the process at
/// once (System.CommandLine 2.0 handles no signal unless <c>ProcessTerminationTimeout</c> is set, and with it
/// ends the process after that timeout, mid-clean-up), which a script or a service manager sees as a crash. A
/// second signal while stopping ends the process as usual, in case the stop itself hangs.
/// </summary>
/// <remarks>
/// In the raw-terminal REPL a Ctrl-C typed is a byte for the board, not a signal (the terminal sends none);
/// only a signal sent from elsewhere (kill) reaches this.
/// </remarks>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;
    private int _received;

    public StopSignals(CancellationToken cancellationToken)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>Cancelled by the first signal, or by the token given.</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>The first signal received; null before one came.</summary>
    public PosixSignal? Received => Volatile.Read(ref _received) is int signal and not 0 ? (PosixSignal)signal : null;

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _stop.Dispose();
    }

    private void OnSignal(PosixSignalContext signal)
    {
        try
        {
            if (!_stop.IsCancellationRequested)
            {
                signal.Cancel = true;
                Interlocked.CompareExchange(ref _received, (int)signal.Signal, 0);
                _stop.Cancel();
            }
        }
        catch (ObjectDisposedException)
        {
            // Stopped already: the signal takes its usual course.
        }
    }
}
