namespace WebRepl.Gateway.Security;

/// <summary>
/// Defence against cross-site WebSocket hijacking: any page a station's browser visits could open
/// <c>ws://localhost:8765/ws://BOARD</c> and drive the board. Browsers send an <c>Origin</c>; it must be the
/// gateway's own origin (its listen addresses, <c>localhost</c> and this machine's names, never the request's
/// <c>Host</c>, which a DNS-rebinding page controls) or one given with <c>--allow-origin</c>. Clients that send
/// no <c>Origin</c> are programs, not pages, and are allowed.
/// </summary>
internal sealed class OriginPolicy
{
    private static readonly string[] AlwaysAllowed = ["the gateway's own", "clients without an Origin"];

    private readonly HashSet<string> _allowed = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _own = new(StringComparer.OrdinalIgnoreCase);
    private readonly bool _any;
    private readonly bool _null;

    /// <exception cref="GatewayConfigurationException">An entry is not an origin (scheme://host[:port]).</exception>
    public OriginPolicy(IEnumerable<string> allowed)
    {
        foreach (string entry in allowed)
        {
            string text = entry.Trim();
            if (text == "*")
            {
                _any = true;
            }
            else if (text.Equals("null", StringComparison.OrdinalIgnoreCase))
            {
                _null = true;
            }
            else if (Normalize(text) is { } origin)
            {
                _allowed.Add(origin);
            }
            else
            {
                throw new GatewayConfigurationException(
                    $"'{entry}' is not an origin: use SCHEME://HOST[:PORT] as a browser sends it (e.g. https://edrys-labs.github.io), 'null', or '*'.");
            }
        }
    }

    /// <summary>The extra origins allowed, for the start-up banner.</summary>
    public string Describe() =>
        string.Join(", ", AlwaysAllowed
            .Concat(_allowed.Order(StringComparer.Ordinal))
            .Concat(_null ? ["null"] : [])
            .Concat(_any ? ["any (*)"] : []));

    /// <summary>Adds the gateway's own origins: every host name it is known by, with the scheme and port it listens on.</summary>
    public void AddOwn(string scheme, IEnumerable<string> hosts, int port)
    {
        foreach (string host in hosts)
        {
            string authority = host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;
            if (Normalize($"{scheme}://{authority}:{port}") is { } origin)
            {
                _own.Add(origin);
            }
        }
    }

    /// <summary>True when a request with this <c>Origin</c> header (null: none) may open a session.</summary>
    public bool IsAllowed(string? origin)
    {
        if (origin is null || _any)
        {
            return true;
        }

        if (origin.Equals("null", StringComparison.OrdinalIgnoreCase))
        {
            return _null;
        }

        return Normalize(origin) is { } normalized && (_own.Contains(normalized) || _allowed.Contains(normalized));
    }

    /// <summary>
    /// True for a page's origin that is the gateway's own or one named in the allowed list: not a program (no
    /// <c>Origin</c>), not <c>null</c>, not one let in only by <c>*</c>. The gateway types a named board's password for these.
    /// </summary>
    public bool IsNamed(string? origin) =>
        origin is not null && Normalize(origin) is { } normalized && (_own.Contains(normalized) || _allowed.Contains(normalized));

    /// <summary><c>scheme://host:port</c> in lower case with the default port written out, or null when it is not an origin.</summary>
    internal static string? Normalize(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") ||
            uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            return null;
        }

        return $"{uri.Scheme}://{uri.Host.ToLowerInvariant()}:{uri.Port}";
    }
}
