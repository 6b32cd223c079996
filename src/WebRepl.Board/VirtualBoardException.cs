namespace WebRepl.Board;

/// <summary>The virtual board cannot start; the message says why and what to do.</summary>
public sealed class VirtualBoardException : WebReplException
{
    /// <inheritdoc/>
    public VirtualBoardException(string message)
        : base(message)
    {
    }

    /// <inheritdoc/>
    public VirtualBoardException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <inheritdoc/>
    public VirtualBoardException()
    {
    }
}
