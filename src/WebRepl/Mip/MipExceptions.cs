namespace WebRepl.Mip;

/// <summary>A package could not be installed; the message says which package or file and why. Nothing was left on the board.</summary>
public class MipException : WebReplException
{
    /// <inheritdoc/>
    public MipException(string message)
        : base(message)
    {
    }

    /// <inheritdoc/>
    public MipException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <inheritdoc/>
    public MipException()
        : this("A package could not be installed.")
    {
    }
}

/// <summary>The index (or the server a URL names) has no such package or file: HTTP 404, or a missing local file.</summary>
public sealed class MipNotFoundException : MipException
{
    /// <inheritdoc/>
    public MipNotFoundException(string message)
        : base(message)
    {
    }

    /// <inheritdoc/>
    public MipNotFoundException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <inheritdoc/>
    public MipNotFoundException()
        : this("No such package.")
    {
    }
}

/// <summary>The index or a package's server could not be reached, or answered with an HTTP error other than 404.</summary>
public sealed class MipNetworkException : MipException
{
    /// <inheritdoc/>
    public MipNetworkException(string message)
        : base(message)
    {
    }

    /// <inheritdoc/>
    public MipNetworkException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <inheritdoc/>
    public MipNetworkException()
        : this("The package index could not be reached.")
    {
    }
}

/// <summary>
/// What a package (its package.json or its files) holds was refused: a path that leaves the target folder, a file
/// whose SHA-256 is not the one the package names, a file or package over the size limits, or JSON that is not a package.
/// </summary>
public sealed class MipPackageException : MipException
{
    /// <inheritdoc/>
    public MipPackageException(string message)
        : base(message)
    {
    }

    /// <inheritdoc/>
    public MipPackageException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <inheritdoc/>
    public MipPackageException()
        : this("The package was refused.")
    {
    }
}
