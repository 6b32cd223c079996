using WebRepl.Protocol;

namespace WebRepl.Device;

/// <summary>
/// The board's console, as <see cref="WebReplServer"/> sees it: it takes the logged-in client's keystrokes,
/// and prints to whatever output is attached (a board copies everything it prints to the WebREPL socket).
/// </summary>
public interface IWebReplConsole
{
    /// <summary>The MicroPython version reported to GET_VER.</summary>
    WebReplVersion Version { get; }

    /// <summary>Bytes the client typed (text frames after login), unchanged.</summary>
    ValueTask WriteInputAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken);

    /// <summary>
    /// Sends everything the console prints to <paramref name="output"/> until the returned handle is disposed.
    /// What is printed while nothing is attached is the console's own business (a board prints it on its UART).
    /// </summary>
    IDisposable AttachOutput(Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> output);

    /// <summary>Prints a line of the board's own (e.g. "Concurrent WebREPL connection from ... rejected").</summary>
    void PrintNotice(string text);
}
