using System.Globalization;
using System.Net;
using System.Net.Sockets;
using WebRepl.Transport;

namespace WebRepl.Gateway.Security;

/// <summary>The outcome of checking a target: allowed, with the one address to connect to, or refused with a reason.</summary>
/// <param name="Allowed">True when the gateway may connect.</param>
/// <param name="Address">The checked address to connect to (never resolved again, so DNS cannot change it in between).</param>
/// <param name="Reason">Why the target was refused.</param>
internal readonly record struct TargetDecision(bool Allowed, IPAddress? Address, string? Reason)
{
    public static TargetDecision Allow(IPAddress address) => new(true, address, null);

    public static TargetDecision Refuse(string reason) => new(false, null, reason);
}

/// <summary>
/// Which boards the gateway may connect to. Without rules: loopback, private (RFC 1918, IPv6 unique local) and
/// link-local addresses, and names that resolve only to such addresses. With rules, exactly what they allow.
/// A name is resolved once; every address it resolves to must be allowed, and the gateway connects to the
/// checked address, so a name cannot point elsewhere between the check and the connection.
/// </summary>
internal sealed class TargetPolicy
{
    private static readonly TargetRule[] DefaultRules =
    [
        TargetRule.Parse("127.0.0.0/8"),
        TargetRule.Parse("10.0.0.0/8"),
        TargetRule.Parse("172.16.0.0/12"),
        TargetRule.Parse("192.168.0.0/16"),
        TargetRule.Parse("169.254.0.0/16"),
        TargetRule.Parse("::1/128"),
        TargetRule.Parse("fc00::/7"),
        TargetRule.Parse("fe80::/10"),
    ];

    private readonly TargetRule[] _rules;
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _resolve;

    private TargetPolicy(TargetRule[] rules, bool isDefault, Func<string, CancellationToken, Task<IPAddress[]>>? resolve)
    {
        _rules = rules;
        IsDefault = isDefault;
        _resolve = resolve ?? Dns.GetHostAddressesAsync;
    }

    /// <summary>True when no rules were given and the default ranges apply.</summary>
    public bool IsDefault { get; }

    /// <summary>Builds the policy; an empty list gives the default.</summary>
    /// <exception cref="GatewayConfigurationException">A rule is not a CIDR block, an address or a host name.</exception>
    public static TargetPolicy Create(IReadOnlyList<string> rules, Func<string, CancellationToken, Task<IPAddress[]>>? resolve = null)
    {
        if (rules.Count == 0)
        {
            return new TargetPolicy(DefaultRules, isDefault: true, resolve);
        }

        var parsed = new TargetRule[rules.Count];
        for (int i = 0; i < rules.Count; i++)
        {
            if (!TargetRule.TryParse(rules[i], out var rule, out string? error))
            {
                throw new GatewayConfigurationException(error);
            }

            parsed[i] = rule;
        }

        return new TargetPolicy(parsed, isDefault: false, resolve);
    }

    /// <summary>What the policy allows, for the start-up banner.</summary>
    public string Describe() => IsDefault
        ? "loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7) and link-local addresses"
        : string.Join(", ", _rules.Select(r => r.Text));

    /// <summary>True when an address (and port) is allowed by an address rule.</summary>
    public bool IsAllowed(IPAddress address, int port)
    {
        address = Normalize(address);
        return _rules.Any(r => r.Matches(address, port));
    }

    /// <summary>Checks a target, resolving its name if it has one; never connects.</summary>
    public async ValueTask<TargetDecision> CheckAsync(WebReplTarget target, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(target.Host, out var literal))
        {
            return IsAllowed(literal, target.Port)
                ? TargetDecision.Allow(Normalize(literal))
                : TargetDecision.Refuse($"{target.Authority} is not an allowed target ({(IsDefault ? "only local-network boards by default; use --allow-target" : "not in --allow-target")})");
        }

        bool nameAllowed = _rules.Any(r => r.MatchesName(target.Host, target.Port));
        IPAddress[] addresses;
        try
        {
            addresses = await _resolve(target.Host, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            return TargetDecision.Refuse($"the host name '{target.Host}' does not resolve");
        }

        if (addresses.Length == 0)
        {
            return TargetDecision.Refuse($"the host name '{target.Host}' does not resolve");
        }

        if (nameAllowed)
        {
            return TargetDecision.Allow(Normalize(addresses[0]));
        }

        var refused = addresses.FirstOrDefault(a => !IsAllowed(a, target.Port));
        return refused is null
            ? TargetDecision.Allow(Normalize(addresses[0]))
            : TargetDecision.Refuse($"'{target.Host}' resolves to {Normalize(refused)}, which is not an allowed target ({(IsDefault ? "only local-network boards by default; use --allow-target" : "not in --allow-target")})");
    }

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}

/// <summary>One allow-list entry: a CIDR block or an address (optionally with a port), or a host name (optionally with a port).</summary>
internal sealed class TargetRule
{
    private readonly byte[]? _network;
    private readonly int _prefix;
    private readonly string? _host;
    private readonly int? _port;

    private TargetRule(string text, byte[]? network, int prefix, string? host, int? port)
    {
        Text = text;
        _network = network;
        _prefix = prefix;
        _host = host;
        _port = port;
    }

    /// <summary>The rule as written.</summary>
    public string Text { get; }

    public static TargetRule Parse(string text) =>
        TryParse(text, out var rule, out string? error) ? rule : throw new GatewayConfigurationException(error);

    public static bool TryParse(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TargetRule? rule, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        rule = null;
        error = null;
        string trimmed = text.Trim();
        int slash = trimmed.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            if (IPAddress.TryParse(trimmed[..slash], out var network) &&
                int.TryParse(trimmed[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int prefix) &&
                prefix <= network.GetAddressBytes().Length * 8)
            {
                rule = new TargetRule(trimmed, Mask(network.GetAddressBytes(), prefix), prefix, null, null);
                return true;
            }

            error = $"'{text}' is not a target rule: a CIDR block is ADDRESS/PREFIX (e.g. 192.168.2.0/24 or fd00::/8).";
            return false;
        }

        if (IPAddress.TryParse(trimmed, out var bare))
        {
            byte[] bytes = bare.GetAddressBytes();
            rule = new TargetRule(trimmed, bytes, bytes.Length * 8, null, null);
            return true;
        }

        if (!TrySplitHostPort(trimmed, out string host, out int? port) ||
            host.AsSpan().IndexOfAny("/?#@ ") >= 0)
        {
            error = $"'{text}' is not a target rule: use a CIDR block (192.168.2.0/24), an address with an optional port (192.168.2.197:8266, [fd00::7]:8266) or a host name (esp32.local, esp32.local:8266).";
            return false;
        }

        if (IPAddress.TryParse(host, out var address))
        {
            byte[] bytes = address.GetAddressBytes();
            rule = new TargetRule(trimmed, bytes, bytes.Length * 8, null, port);
            return true;
        }

        rule = new TargetRule(trimmed, null, 0, host, port);
        return true;
    }

    /// <summary>Splits <c>HOST[:PORT]</c>, <c>[V6][:PORT]</c> (a bare IPv6 address was handled before).</summary>
    private static bool TrySplitHostPort(string text, out string host, out int? port)
    {
        host = text;
        port = null;
        string portText = string.Empty;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }

            host = text[1..close];
            string after = text[(close + 1)..];
            if (after.Length > 0)
            {
                if (after[0] != ':')
                {
                    return false;
                }

                portText = after[1..];
            }
        }
        else
        {
            int colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0)
            {
                host = text[..colon];
                portText = text[(colon + 1)..];
            }
        }

        if (portText.Length > 0)
        {
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value is < 1 or > 65535)
            {
                return false;
            }

            port = value;
        }

        return host.Length > 0;
    }

    public bool Matches(IPAddress address, int port)
    {
        if (_network is null || (_port is int only && only != port))
        {
            return false;
        }

        byte[] bytes = address.GetAddressBytes();
        return bytes.Length == _network.Length && Mask(bytes, _prefix).AsSpan().SequenceEqual(_network);
    }

    public bool MatchesName(string host, int port) =>
        _host is not null && string.Equals(_host.TrimEnd('.'), host.TrimEnd('.'), StringComparison.OrdinalIgnoreCase) && (_port is null || _port == port);

    private static byte[] Mask(byte[] address, int prefix)
    {
        byte[] masked = (byte[])address.Clone();
        for (int i = 0; i < masked.Length; i++)
        {
            int bits = Math.Clamp(prefix - (i * 8), 0, 8);
            masked[i] &= (byte)(0xff << (8 - bits));
        }

        return masked;
    }
}
