using WebRepl.Protocol;

namespace WebRepl.Gateway.Sessions;

/// <summary>What the board's text said of the opener's password (<see cref="LoginGate.OnBoardText"/>).</summary>
/// <param name="Denied">The board refused it (<c>Access denied</c>), said once per session.</param>
/// <param name="Accepted">The board let it in (<c>WebREPL connected</c>): the gateway keeps the line for joiners.</param>
internal readonly record struct LoginProgress(bool Denied, bool Accepted);

/// <summary>
/// The session's login (extmod/modwebrepl.c asks <c>Password: </c> once per connection). The client that opened the
/// board answers the board itself; once the board accepts the line (<see cref="Accept"/>) the gateway keeps it, in
/// memory only, and checks every joiner's line against it as the board would (<see cref="Admits"/>), answering with
/// the board's own words: sharing never skips the password. Pure: no I/O; the session calls it under its lock,
/// answers the clients and counts wrong passwords.
/// </summary>
internal sealed class LoginGate : IDisposable
{
    /// <summary>The board's question, which the gateway asks a joiner.</summary>
    public static readonly byte[] Prompt = "Password: "u8.ToArray();

    /// <summary>The board's answer to a right password.</summary>
    public static readonly byte[] ConnectedReply = "\r\nWebREPL connected\r\n>>> "u8.ToArray();

    /// <summary>The board's answer to a wrong password (it then drops the connection).</summary>
    public static readonly byte[] DeniedReply = "\r\nAccess denied\r\n"u8.ToArray();

    private static readonly byte[] ConnectedMarker = "WebREPL connected"u8.ToArray();
    private static readonly byte[] DeniedMarker = "Access denied"u8.ToArray();

    private readonly OutputWindow _window = new(64);
    private PasswordLine? _accepted;
    private bool _closed;

    /// <summary>True once the board has refused the opener's password.</summary>
    public bool DeniedSeen { get; private set; }

    /// <summary>True once the board has accepted a password (and the gateway holds it).</summary>
    public bool IsOpen => _accepted is not null;

    /// <summary>The board's text while the opener logs in: its answer may be split across frames.</summary>
    public LoginProgress OnBoardText(ReadOnlySpan<byte> output)
    {
        var window = _window.Add(output);
        bool denied = !DeniedSeen && window.IndexOf(DeniedMarker) >= 0;
        DeniedSeen |= denied;
        return new LoginProgress(denied, !IsOpen && window.IndexOf(ConnectedMarker) >= 0);
    }

    /// <summary>The board accepted the opener's line: a copy is kept for the joiners (none once the session is closed).</summary>
    public void Accept(PasswordLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (!_closed && _accepted is null)
        {
            _accepted = line.Clone();
        }
    }

    /// <summary>True when a joiner's complete line is the one the board accepted, compared as the board compares.</summary>
    public bool Admits(PasswordLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        return line.IsComplete && _accepted is not null && _accepted.Matches(line);
    }

    /// <summary>The session ends: the kept line is wiped, and nobody is admitted any more.</summary>
    public void Dispose()
    {
        _closed = true;
        _accepted?.Dispose();
        _accepted = null;
    }
}
