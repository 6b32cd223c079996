using System.Net;
using Microsoft.Extensions.Primitives;

namespace WebRepl.Gateway.Security;

/// <summary>
/// Which client address counts for the wrong-password lockout when the gateway sits behind a reverse proxy
/// (nginx): by default the connection's address, whatever <c>X-Forwarded-For</c> says (any client can send
/// one). Only a connection from a configured proxy has its <c>X-Forwarded-For</c> read, from the right: each
/// proxy appends the address it saw, so the first address that is not a trusted proxy is the client; what
/// stands left of it may have been made up by that client.
/// </summary>
internal sealed class ProxyTrust
{
    private readonly IPNetwork[] _proxies;

    private ProxyTrust(IPNetwork[] proxies) => _proxies = proxies;

    public bool IsEmpty => _proxies.Length == 0;

    /// <summary>Parses addresses (<c>127.0.0.1</c>, <c>::1</c>) and CIDR blocks (<c>10.0.0.0/8</c>).</summary>
    /// <exception cref="GatewayConfigurationException">An entry is neither.</exception>
    public static ProxyTrust Create(IReadOnlyList<string> entries)
    {
        var proxies = new List<IPNetwork>();
        foreach (string entry in entries)
        {
            string text = entry.Trim();
            if (IPAddress.TryParse(text.Trim('[', ']'), out var address))
            {
                address = Normalize(address);
                proxies.Add(new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            }
            else if (IPNetwork.TryParse(text, out var network))
            {
                proxies.Add(network);
            }
            else
            {
                throw new GatewayConfigurationException($"--trust-proxy takes an IP address or a CIDR block (127.0.0.1, 10.0.0.0/8), not '{entry}'.");
            }
        }

        return new ProxyTrust([.. proxies]);
    }

    /// <summary>The client's address: the connection's, or for a trusted proxy the one it forwarded.</summary>
    public IPAddress? ClientOf(IPAddress? peer, StringValues forwardedFor)
    {
        if (peer is null || _proxies.Length == 0 || !IsProxy(Normalize(peer)))
        {
            return peer;
        }

        var client = Normalize(peer);
        // Several headers count as one list, in order.
        var entries = string.Join(',', forwardedFor.ToArray()).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        for (int i = entries.Length - 1; i >= 0; i--)
        {
            if (!TryParseEntry(entries[i], out var address))
            {
                break; // garbage: keep the last address a trusted hop vouched for
            }

            client = address;
            if (!IsProxy(address))
            {
                break;
            }
        }

        return client;
    }

    private bool IsProxy(IPAddress address) => _proxies.Any(p => p.Contains(address));

    private static bool TryParseEntry(string entry, out IPAddress address)
    {
        // "1.2.3.4", "[2001:db8::1]", "[2001:db8::1]:443", "1.2.3.4:5678" (some proxies add the port).
        string text = entry;
        if (text.StartsWith('['))
        {
            int end = text.IndexOf(']', StringComparison.Ordinal);
            text = end > 0 ? text[1..end] : text;
        }
        else if (text.Count(c => c == ':') == 1)
        {
            text = text[..text.IndexOf(':', StringComparison.Ordinal)];
        }

        if (IPAddress.TryParse(text, out var parsed))
        {
            address = Normalize(parsed);
            return true;
        }

        address = IPAddress.None;
        return false;
    }

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
