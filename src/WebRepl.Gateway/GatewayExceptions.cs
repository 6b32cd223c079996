namespace WebRepl.Gateway;

/// <summary>The gateway's options are wrong (a bad rule, a named board that is not a URL): the message says which and how to fix it.</summary>
public sealed class GatewayConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GatewayConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public GatewayConfigurationException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public GatewayConfigurationException()
    {
    }
}

/// <summary>The gateway could not start (the port is in use, a certificate cannot be read).</summary>
public sealed class GatewayStartException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GatewayStartException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public GatewayStartException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public GatewayStartException()
    {
    }
}
