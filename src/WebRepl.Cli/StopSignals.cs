using System.Runtime.InteropServices;

namespace WebRepl.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM stop a command that runs until stopped (<c>board</c>, <c>gateway</c>) through its
/// cancellation token, so that it stops cleanly: clients told, the Node.js child ended, the port released. Without
/// this the runtime ends the process at once (System.CommandLine handles no signal unless configured to), which
/// a script or a service manager sees as a crash and which may leave a child behind. A second signal while
/// stopping ends the process as usual, in case the stop itself hangs.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;

    public StopSignals(CancellationToken cancellationToken)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>Cancelled by the first signal, or by the token given.</summary>
    public CancellationToken Token => _stop.Token;

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
                _stop.Cancel();
            }
        }
        catch (ObjectDisposedException)
        {
            // Stopped already: the signal takes its usual course.
        }
    }
}
