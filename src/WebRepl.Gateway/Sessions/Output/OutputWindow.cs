namespace WebRepl.Gateway.Sessions;

/// <summary>
/// The end of what a board printed, so that a marker split across frames (<c>WebREPL connected</c>, the raw
/// REPL banner) is still found: each frame is searched together with the bytes before it. Not thread-safe: the
/// session calls it under its lock.
/// </summary>
internal sealed class OutputWindow(int keep)
{
    private readonly byte[] _tail = new byte[keep];
    private int _length;

    /// <summary>Adds a frame's bytes; returns the kept bytes followed by them, to search.</summary>
    public ReadOnlySpan<byte> Add(ReadOnlySpan<byte> data)
    {
        byte[] window = new byte[_length + data.Length];
        _tail.AsSpan(0, _length).CopyTo(window);
        data.CopyTo(window.AsSpan(_length));
        _length = Math.Min(window.Length, _tail.Length);
        window.AsSpan(window.Length - _length).CopyTo(_tail);
        return window;
    }

    /// <summary>Forgets what was seen.</summary>
    public void Clear() => _length = 0;
}
