using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using WebRepl.Transport;

namespace WebRepl.Gateway.Hosting;

/// <summary>The gateway's TLS certificate: read from PEM files, or self-signed, made once and cached.</summary>
internal static class GatewayCertificates
{
    /// <summary>Loads or makes the certificate; <paramref name="generated"/> is true when a self-signed one was made now.</summary>
    /// <exception cref="GatewayConfigurationException">Neither files nor self-signed, or only one of the two files.</exception>
    /// <exception cref="GatewayStartException">A file cannot be read or is not a certificate or key.</exception>
    public static X509Certificate2 Load(GatewayTlsOptions tls, IEnumerable<IPEndPoint> listen, out bool generated, out string? cachePath)
    {
        generated = false;
        cachePath = null;
        if (tls.SelfSigned)
        {
            if (tls.CertificatePath is not null || tls.KeyPath is not null)
            {
                throw new GatewayConfigurationException("Give either --cert and --key, or --self-signed, not both.");
            }

            return LoadOrCreateSelfSigned(tls.CacheFolder ?? GatewayTlsOptions.DefaultCacheFolder, listen, out generated, out cachePath);
        }

        if (tls.CertificatePath is null || tls.KeyPath is null)
        {
            throw new GatewayConfigurationException("TLS needs both --cert (the certificate, PEM) and --key (its private key, PEM), or --self-signed.");
        }

        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(tls.CertificatePath, tls.KeyPath);
            // Exported and loaded again so that the key is usable by TLS on every platform.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new GatewayStartException(
                $"Cannot use the certificate '{tls.CertificatePath}' with the key '{tls.KeyPath}': {ex.Message} Both must be PEM files, the key unencrypted.", ex);
        }
    }

    /// <summary>The certificate's SHA-256 fingerprint, as browsers show it (AA:BB:...).</summary>
    public static string Fingerprint(X509Certificate2 certificate) => CertificatePins.Fingerprint(certificate);

    private static X509Certificate2 LoadOrCreateSelfSigned(string folder, IEnumerable<IPEndPoint> listen, out bool generated, out string path)
    {
        var names = new SortedSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost", Dns.GetHostName() };
        var addresses = new SortedSet<string>(StringComparer.Ordinal) { IPAddress.Loopback.ToString(), IPAddress.IPv6Loopback.ToString() };
        foreach (var endPoint in listen)
        {
            if (!endPoint.Address.Equals(IPAddress.Any) && !endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                addresses.Add(endPoint.Address.ToString());
            }
        }

        // One file per set of names: a different --bind gets a certificate that names it.
        string subjectKey = string.Join(',', names.Concat(addresses));
        string id = Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(subjectKey)))[..12].ToLowerInvariant();
        path = Path.Combine(folder, $"self-signed-{id}.pfx");
        generated = false;
        try
        {
            if (File.Exists(path))
            {
                var cached = X509CertificateLoader.LoadPkcs12FromFile(path, null);
                if (cached.NotAfter > DateTime.Now.AddDays(30) && cached.HasPrivateKey)
                {
                    return cached;
                }

                cached.Dispose();
            }

            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=webrepl gateway (self-signed)", key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            foreach (string name in names)
            {
                san.AddDnsName(name);
            }

            foreach (string address in addresses)
            {
                san.AddIpAddress(IPAddress.Parse(address));
            }

            request.CertificateExtensions.Add(san.Build());
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
            using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(365));
            byte[] pfx = created.Export(X509ContentType.Pkcs12);
            Directory.CreateDirectory(folder);
            string temporary = path + ".tmp";
            File.WriteAllBytes(temporary, pfx);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite); // it holds the private key
            }

            File.Move(temporary, path, overwrite: true);
            generated = true;
            return X509CertificateLoader.LoadPkcs12(pfx, null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new GatewayStartException($"Cannot make or read the self-signed certificate in '{folder}': {ex.Message}", ex);
        }
    }
}
