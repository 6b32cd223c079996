using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;

namespace WebRepl.Gateway;

/// <summary>
/// The gateway's settings from a JSON file (<c>appsettings.json</c> style), all under <c>"Gateway"</c>:
/// <code>
/// {
///   "Gateway": {
///     "Port": 8765, "Bind": "127.0.0.1",
///     "Boards": { "lab1": "ws://192.168.2.197:8266" },
///     "BoardPasswords": { "lab1": "secret" },
///     "AllowTargets": [ "192.168.2.0/24" ],
///     "AllowOrigins": [ "https://edrys-labs.github.io" ],
///     "Exclusive": false,
///     "Tls": { "Cert": "gateway.pem", "Key": "gateway.key", "SelfSigned": false },
///     "TargetCertFingerprints": [ "AB:CD:..." ],
///     "MaxSessions": 100, "MaxClients": 32, "MaxMessageBytes": 1048576, "IdleTimeoutSeconds": 3600,
///     "ClientKeepAliveSeconds": 20
///   }
/// }
/// </code>
/// Every key is optional; relative certificate paths are relative to the file.
/// </summary>
public sealed record GatewayConfigFile
{
    /// <summary>The port.</summary>
    public int? Port { get; init; }

    /// <summary>The listen address (an IP address, or <c>localhost</c> for 127.0.0.1 and ::1).</summary>
    public string? Bind { get; init; }

    /// <summary>Named boards.</summary>
    public IReadOnlyDictionary<string, string> Boards { get; init; } = new Dictionary<string, string>();

    /// <summary>Passwords of named boards, typed by the gateway for the station (see <see cref="GatewayOptions.BoardPasswords"/>).</summary>
    public IReadOnlyDictionary<string, string> BoardPasswords { get; init; } = new Dictionary<string, string>();

    /// <summary>See <see cref="GatewayOptions.LoginTimeout"/>, in seconds.</summary>
    public int? LoginTimeoutSeconds { get; init; }

    /// <summary>See <see cref="GatewayOptions.MaxPendingLoginsPerAddress"/> (0: no limit).</summary>
    public int? MaxPendingLogins { get; init; }

    /// <summary>Target allow-list entries.</summary>
    public IReadOnlyList<string> AllowTargets { get; init; } = [];

    /// <summary>Allowed browser origins.</summary>
    public IReadOnlyList<string> AllowOrigins { get; init; } = [];

    /// <summary>One client per board.</summary>
    public bool? Exclusive { get; init; }

    /// <summary>TLS settings (paths resolved against the file's folder).</summary>
    public GatewayTlsOptions? Tls { get; init; }

    /// <summary>
    /// SHA-256 fingerprints of certificates trusted for <c>wss://</c> targets besides the system's trust (64 hex
    /// digits, with or without colons): see <see cref="WebRepl.Transport.CertificatePins"/>.
    /// </summary>
    public IReadOnlyList<string> TargetCertFingerprints { get; init; } = [];

    /// <summary>See <see cref="GatewayOptions.MaxSessions"/>.</summary>
    public int? MaxSessions { get; init; }

    /// <summary>See <see cref="GatewayOptions.MaxClientsPerSession"/>.</summary>
    public int? MaxClients { get; init; }

    /// <summary>See <see cref="GatewayOptions.MaxMessageBytes"/>.</summary>
    public int? MaxMessageBytes { get; init; }

    /// <summary>See <see cref="GatewayOptions.IdleTimeout"/>, in seconds (0: none).</summary>
    public double? IdleTimeoutSeconds { get; init; }

    /// <summary>See <see cref="GatewayOptions.TrustedProxies"/>.</summary>
    public IReadOnlyList<string> TrustedProxies { get; init; } = [];

    /// <summary>See <see cref="GatewayOptions.ClientKeepAlive"/>, in seconds (0: no pings).</summary>
    public double? ClientKeepAliveSeconds { get; init; }

    /// <summary>See <see cref="GatewayOptions.GetReadAhead"/>.</summary>
    public bool? ReadAhead { get; init; }

    /// <summary>See <see cref="GatewayOptions.LoginFailureLimit"/> (0: no limit).</summary>
    public int? LoginFailureLimit { get; init; }

    /// <summary>Reads a file.</summary>
    /// <exception cref="GatewayConfigurationException">The file is missing, not JSON, or has a value of the wrong kind.</exception>
    public static GatewayConfigFile Load(string path)
    {
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new GatewayConfigurationException($"No such configuration file: '{path}'.");
        }

        IConfigurationSection section;
        try
        {
            section = new ConfigurationBuilder().AddJsonFile(full, optional: false, reloadOnChange: false).Build().GetSection("Gateway");
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException or IOException)
        {
            throw new GatewayConfigurationException($"'{path}' is not a valid JSON settings file: {ex.Message}", ex);
        }

        string folder = Path.GetDirectoryName(full)!;
        var tls = section.GetSection("Tls");
        return new GatewayConfigFile
        {
            Port = Number(section, "Port", path),
            Bind = section["Bind"],
            Boards = section.GetSection("Boards").GetChildren().ToDictionary(c => c.Key, c => c.Value ?? string.Empty, StringComparer.Ordinal),
            BoardPasswords = section.GetSection("BoardPasswords").GetChildren().ToDictionary(c => c.Key, c => c.Value ?? string.Empty, StringComparer.Ordinal),
            LoginTimeoutSeconds = Number(section, "LoginTimeoutSeconds", path),
            MaxPendingLogins = Number(section, "MaxPendingLogins", path),
            AllowTargets = [.. section.GetSection("AllowTargets").GetChildren().Select(c => c.Value).OfType<string>()],
            AllowOrigins = [.. section.GetSection("AllowOrigins").GetChildren().Select(c => c.Value).OfType<string>()],
            Exclusive = Flag(section, "Exclusive", path),
            Tls = tls.Exists()
                ? new GatewayTlsOptions
                {
                    CertificatePath = tls["Cert"] is { } cert ? Path.GetFullPath(cert, folder) : null,
                    KeyPath = tls["Key"] is { } key ? Path.GetFullPath(key, folder) : null,
                    SelfSigned = Flag(tls, "SelfSigned", path) ?? false,
                }
                : null,
            TargetCertFingerprints = Fingerprints(section, "TargetCertFingerprints", path),
            MaxSessions = Number(section, "MaxSessions", path),
            MaxClients = Number(section, "MaxClients", path),
            MaxMessageBytes = Number(section, "MaxMessageBytes", path),
            IdleTimeoutSeconds = Number(section, "IdleTimeoutSeconds", path),
            TrustedProxies = [.. section.GetSection("TrustedProxies").GetChildren().Select(c => c.Value).OfType<string>()],
            ClientKeepAliveSeconds = Seconds(section, "ClientKeepAliveSeconds", path),
            ReadAhead = Flag(section, "ReadAhead", path),
            LoginFailureLimit = Number(section, "LoginFailureLimit", path),
        };
    }

    /// <summary>Parses a listen address: an IP address, or <c>localhost</c> (127.0.0.1 and ::1).</summary>
    /// <exception cref="GatewayConfigurationException">Not an address.</exception>
    public static IReadOnlyList<IPEndPoint> ParseListen(string bind, int port)
    {
        if (bind.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return port == 0
                ? [new IPEndPoint(IPAddress.Loopback, 0)]
                : [new IPEndPoint(IPAddress.Loopback, port), new IPEndPoint(IPAddress.IPv6Loopback, port)];
        }

        if (!IPAddress.TryParse(bind.Trim('[', ']'), out var address))
        {
            throw new GatewayConfigurationException($"--bind takes an IP address (127.0.0.1, ::1, 0.0.0.0) or 'localhost', not '{bind}'.");
        }

        if (port is < 0 or > 65535)
        {
            throw new GatewayConfigurationException("--port takes a number from 0 to 65535.");
        }

        return [new IPEndPoint(address, port)];
    }

    private static int? Number(IConfigurationSection section, string key, string path) =>
        section[key] is not { } text ? null
        : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) ? value
        : throw new GatewayConfigurationException($"'{path}': Gateway:{key} must be a whole number, not '{text}'.");

    private static double? Seconds(IConfigurationSection section, string key, string path) =>
        section[key] is not { } text ? null
        : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && value >= 0 && double.IsFinite(value) ? value
        : throw new GatewayConfigurationException($"'{path}': Gateway:{key} must be a number of seconds (0 or more), not '{text}'.");

    private static string[] Fingerprints(IConfigurationSection section, string key, string path)
    {
        string[] values = [.. section.GetSection(key).GetChildren().Select(c => c.Value).OfType<string>()];
        foreach (string value in values)
        {
            if (!WebRepl.Transport.CertificatePins.TryParseFingerprint(value, out _))
            {
                throw new GatewayConfigurationException(
                    $"'{path}': Gateway:{key} takes SHA-256 fingerprints (64 hex digits, with or without colons), not '{value}'.");
            }
        }

        return values;
    }

    private static bool? Flag(IConfigurationSection section, string key, string path) =>
        section[key] is not { } text ? null
        : bool.TryParse(text, out bool value) ? value
        : throw new GatewayConfigurationException($"'{path}': {section.Path}:{key} must be true or false, not '{text}'.");
}
