namespace WebRepl;

/// <summary>Base of every error the library reports; the message says what happened and what to do.</summary>
public class WebReplException : Exception
{
    /// <summary>Creates the exception.</summary>
    public WebReplException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public WebReplException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public WebReplException()
    {
    }
}

/// <summary>The board could not be reached, or the connection was lost.</summary>
public class WebReplConnectionException : WebReplException
{
    /// <inheritdoc/>
    public WebReplConnectionException(string message)
        : base(message)
    {
    }

    /// <inheritdoc/>
    public WebReplConnectionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <inheritdoc/>
    public WebReplConnectionException()
    {
    }
}

/// <summary>The board refused the password (or the password cannot be sent at all).</summary>
public sealed class WebReplAuthenticationException : WebReplException
{
    /// <inheritdoc/>
    public WebReplAuthenticationException(string message)
        : base(message)
    {
    }

    /// <inheritdoc/>
    public WebReplAuthenticationException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <inheritdoc/>
    public WebReplAuthenticationException()
    {
    }
}

/// <summary>The board did not answer within the configured time.</summary>
public sealed class WebReplTimeoutException : WebReplException
{
    /// <inheritdoc/>
    public WebReplTimeoutException(string message)
        : base(message)
    {
    }

    /// <inheritdoc/>
    public WebReplTimeoutException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <inheritdoc/>
    public WebReplTimeoutException()
    {
    }
}

/// <summary>The board reported or caused an error for a request (a missing file, for instance).</summary>
public class WebReplRemoteException : WebReplException
{
    /// <inheritdoc/>
    public WebReplRemoteException(string message)
        : base(message)
    {
    }

    /// <inheritdoc/>
    public WebReplRemoteException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <inheritdoc/>
    public WebReplRemoteException()
    {
    }
}

/// <summary>The peer sent something the protocol does not allow.</summary>
public class WebReplProtocolException : WebReplException
{
    /// <inheritdoc/>
    public WebReplProtocolException(string message)
        : base(message)
    {
    }

    /// <inheritdoc/>
    public WebReplProtocolException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <inheritdoc/>
    public WebReplProtocolException()
    {
    }
}

/// <summary>The board's file changed size while it was being fetched; nothing was kept of it.</summary>
public sealed class WebReplFileChangedException : WebReplRemoteException
{
    /// <summary>Creates the exception.</summary>
    public WebReplFileChangedException(string message, bool connectionKept)
        : base(message)
    {
        ConnectionKept = connectionKept;
    }

    /// <inheritdoc/>
    public WebReplFileChangedException(string message)
        : base(message)
    {
    }

    /// <inheritdoc/>
    public WebReplFileChangedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <inheritdoc/>
    public WebReplFileChangedException()
    {
    }

    /// <summary>True when the session was brought back to a clean state and can be used on; false when it was closed.</summary>
    public bool ConnectionKept { get; }
}

/// <summary>A WebSocket frame announced more bytes than the connection accepts; the connection cannot go on.</summary>
public sealed class WebReplFrameTooLargeException : WebReplProtocolException
{
    /// <summary>Creates the exception for a frame of <paramref name="length"/> bytes against <paramref name="limit"/>.</summary>
    public WebReplFrameTooLargeException(long length, long limit)
        : base($"A frame of {length} bytes is larger than the limit of {limit} bytes.")
    {
        Length = length;
        Limit = limit;
    }

    /// <inheritdoc/>
    public WebReplFrameTooLargeException(string message)
        : base(message)
    {
    }

    /// <inheritdoc/>
    public WebReplFrameTooLargeException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <inheritdoc/>
    public WebReplFrameTooLargeException()
    {
    }

    /// <summary>The length the frame announced.</summary>
    public long Length { get; }

    /// <summary>The largest frame the connection accepts.</summary>
    public long Limit { get; }
}
