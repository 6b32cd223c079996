using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace WebRepl.Gateway.Tests.Support;

/// <summary>
/// Real nginx (Debian's) on 127.0.0.1 with TLS, running the site of docs/nginx/webrepl-gateway.conf in front of
/// a gateway: only the port, the certificate, the name and the read timeout are changed for the test.
/// </summary>
internal sealed class NginxProxy : IAsyncDisposable
{
    public const string Missing = "nginx is not installed (Debian: apt-get install nginx); these tests run the gateway behind real nginx.";

    private readonly Process _process;
    private readonly string _folder;

    private NginxProxy(Process process, string folder, int port, string fingerprint)
    {
        _process = process;
        _folder = folder;
        Port = port;
        Fingerprint = fingerprint;
    }

    public int Port { get; }

    /// <summary>The SHA-256 fingerprint of nginx's certificate (hex, no colons).</summary>
    public string Fingerprint { get; }

    /// <summary>The WebSocket base through nginx, e.g. wss://localhost:12345.</summary>
    public string WssBase => $"wss://localhost:{Port}";

    /// <summary>The origin of pages nginx serves.</summary>
    public string Origin => $"https://localhost:{Port}";

    /// <summary>Accepts nginx's certificate (self-signed for the test) and no other.</summary>
    public RemoteCertificateValidationCallback Validation => (_, certificate, _, _) =>
        certificate is not null && Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData())) == Fingerprint;

    public static string? FindNginx()
    {
        foreach (string folder in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':').Append("/usr/sbin").Append("/usr/local/sbin"))
        {
            string candidate = Path.Combine(folder, "nginx");
            if (folder.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>A free port on 127.0.0.1 (for nginx, whose port the gateway must know as an allowed origin first).</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public static async Task<NginxProxy> StartAsync(int port, int gatewayPort, int readTimeoutSeconds, CancellationToken cancellationToken)
    {
        string nginx = FindNginx() ?? throw new InvalidOperationException(Missing);
        string folder = Directory.CreateTempSubdirectory("webrepl-nginx-").FullName;

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        string certPath = Path.Combine(folder, "gateway.pem");
        string keyPath = Path.Combine(folder, "gateway.key");
        await File.WriteAllTextAsync(certPath, certificate.ExportCertificatePem(), cancellationToken);
        await File.WriteAllTextAsync(keyPath, key.ExportPkcs8PrivateKeyPem(), cancellationToken);

        string site = await File.ReadAllTextAsync(SiteFile(), cancellationToken);
        site = Replace(site, "listen 443 ssl default_server;", $"listen 127.0.0.1:{port} ssl default_server;");
        site = Replace(site, "listen [::]:443 ssl default_server;", string.Empty);
        site = Replace(site, "listen 443 ssl;", $"listen 127.0.0.1:{port} ssl;");
        site = Replace(site, "listen [::]:443 ssl;", string.Empty);
        site = Replace(site, "/etc/ssl/webrepl/gateway.pem", certPath);
        site = Replace(site, "/etc/ssl/webrepl/gateway.key", keyPath);
        site = Replace(site, "server_name gateway.example.org;", "server_name localhost;");
        site = Replace(site, "127.0.0.1:8765", $"127.0.0.1:{gatewayPort}");
        site = Replace(site, "proxy_read_timeout 60s;", $"proxy_read_timeout {readTimeoutSeconds}s;");
        await File.WriteAllTextAsync(Path.Combine(folder, "site.conf"), site, cancellationToken);

        // The main file of a Debian install, reduced to what the site needs, with every path in the test's folder.
        string main = $$"""
            worker_processes 1;
            daemon off;
            pid {{folder}}/nginx.pid;
            error_log {{folder}}/error.log info;
            events { worker_connections 256; }
            http {
                access_log off;
                client_body_temp_path {{folder}}/client_body;
                proxy_temp_path {{folder}}/proxy;
                fastcgi_temp_path {{folder}}/fastcgi;
                uwsgi_temp_path {{folder}}/uwsgi;
                scgi_temp_path {{folder}}/scgi;
                include {{folder}}/site.conf;
            }
            """;
        string conf = Path.Combine(folder, "nginx.conf");
        await File.WriteAllTextAsync(conf, main, cancellationToken);

        var start = new ProcessStartInfo(nginx) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string argument in new[] { "-e", Path.Combine(folder, "error.log"), "-p", folder, "-c", conf })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("nginx did not start.");
        var proxy = new NginxProxy(process, folder, port, Convert.ToHexString(SHA256.HashData(certificate.RawData)));
        try
        {
            await proxy.WaitListeningAsync(cancellationToken);
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }

        return proxy;
    }

    /// <summary>What nginx logged (for failure messages).</summary>
    public string ErrorLog()
    {
        try
        {
            return File.ReadAllText(Path.Combine(_folder, "error.log"));
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // TERM: the master stops its worker too (a KILL would leave the worker behind).
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string Replace(string text, string old, string replacement) =>
        text.Contains(old, StringComparison.Ordinal)
            ? text.Replace(old, replacement, StringComparison.Ordinal)
            : throw new InvalidOperationException($"docs/nginx/webrepl-gateway.conf no longer has '{old}': update NginxProxy, which runs that file.");

    private static string SiteFile()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            string candidate = Path.Combine(folder.FullName, "docs", "nginx", "webrepl-gateway.conf");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("docs/nginx/webrepl-gateway.conf not found above " + AppContext.BaseDirectory);
    }

    private async Task WaitListeningAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"nginx exited with {_process.ExitCode}: {await _process.StandardError.ReadToEndAsync(cancellationToken)} {ErrorLog()}");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
    }
}
