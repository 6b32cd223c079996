using System.Runtime.InteropServices;
using System.Text;

namespace WebRepl.Cli;

/// <summary>
/// Puts the terminal into raw mode (every key, Ctrl-C included, reaches the board; no local echo) and
/// restores it. On Unix through termios: the settings are saved and restored as an opaque buffer and made raw
/// with cfmakeraw, so no structure layout is assumed. Elsewhere, .NET's console does what it can.
/// </summary>
internal sealed partial class RawTerminal : IDisposable
{
    private const int StdinFd = 0;
    private const int TcsaNow = 0;
    private const int TermiosBufferSize = 256; // larger than struct termios on every Unix

    private static readonly Lock Gate = new();
    private static byte[]? s_saved;
    private readonly bool _active;

    private RawTerminal(bool active) => _active = active;

    /// <summary>Enters raw mode when standard input is a terminal; the handle restores it.</summary>
    public static RawTerminal Enter()
    {
        if (OperatingSystem.IsWindows() || Console.IsInputRedirected)
        {
            if (OperatingSystem.IsWindows() && !Console.IsInputRedirected)
            {
                Console.TreatControlCAsInput = true;
            }

            return new RawTerminal(false);
        }

        byte[] saved = new byte[TermiosBufferSize];
        if (TcGetAttr(StdinFd, saved) != 0)
        {
            return new RawTerminal(false);
        }

        byte[] raw = (byte[])saved.Clone();
        CfMakeRaw(raw);
        lock (Gate)
        {
            s_saved = saved;
        }

        // Restored however the process ends: normal exit, an exception, or a signal that .NET handles.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Restore();
        _ = TcSetAttr(StdinFd, TcsaNow, raw);
        return new RawTerminal(true);
    }

    /// <summary>Restores the settings saved by <see cref="Enter"/>, once.</summary>
    public static void Restore()
    {
        lock (Gate)
        {
            if (s_saved is { } saved)
            {
                _ = TcSetAttr(StdinFd, TcsaNow, saved);
                s_saved = null;
            }
        }
    }

    public void Dispose()
    {
        if (_active)
        {
            Restore();
        }
        else if (OperatingSystem.IsWindows() && !Console.IsInputRedirected)
        {
            Console.TreatControlCAsInput = false;
        }
    }

    /// <summary>Asks on stderr for a secret and reads it without echo. Null when cancelled (Ctrl-C, Ctrl-D).</summary>
    public static string? ReadSecret(string prompt)
    {
        var text = new StringBuilder();
        if (OperatingSystem.IsWindows())
        {
            Console.Error.Write(prompt);
            Console.Error.Flush();
            while (true)
            {
                var key = Console.ReadKey(intercept: true);
                if (key.Key == ConsoleKey.Enter)
                {
                    Console.Error.WriteLine();
                    return text.ToString();
                }

                if (key.Key == ConsoleKey.Backspace && text.Length > 0)
                {
                    text.Length--;
                }
                else if (!char.IsControl(key.KeyChar))
                {
                    text.Append(key.KeyChar);
                }
            }
        }

        using (Enter())
        {
            // The prompt only once echo is off: what is typed as soon as it shows is never echoed.
            Console.Error.Write(prompt);
            Console.Error.Flush();
            using Stream input = OpenInput();
            var decoder = Encoding.UTF8.GetDecoder();
            byte[] one = new byte[1];
            char[] chars = new char[2];
            while (true)
            {
                int read = input.Read(one, 0, 1);
                if (read == 0 || one[0] is 0x03 or 0x04)
                {
                    Console.Error.Write("\r\n");
                    return null;
                }

                if (one[0] is (byte)'\r' or (byte)'\n')
                {
                    break;
                }

                if (one[0] is 0x7f or 0x08)
                {
                    if (text.Length > 0)
                    {
                        text.Length--;
                    }

                    continue;
                }

                int n = decoder.GetChars(one, 0, 1, chars, 0);
                text.Append(chars, 0, n);
            }
        }

        Console.Error.Write("\r\n");
        return text.ToString();
    }

    /// <summary>
    /// Standard input as raw bytes. On a Unix terminal, .NET's console stream edits and echoes input itself,
    /// which would echo passwords and swallow control keys, so the descriptor is read directly.
    /// </summary>
    public static Stream OpenInput() =>
        OperatingSystem.IsWindows() || Console.IsInputRedirected
            ? Console.OpenStandardInput()
            : new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(StdinFd, ownsHandle: false), FileAccess.Read, bufferSize: 0);

    [LibraryImport("libc", EntryPoint = "tcgetattr", SetLastError = true)]
    private static partial int TcGetAttr(int fd, [Out] byte[] termios);

    [LibraryImport("libc", EntryPoint = "tcsetattr", SetLastError = true)]
    private static partial int TcSetAttr(int fd, int optionalActions, byte[] termios);

    [LibraryImport("libc", EntryPoint = "cfmakeraw")]
    private static partial void CfMakeRaw([In, Out] byte[] termios);
}
