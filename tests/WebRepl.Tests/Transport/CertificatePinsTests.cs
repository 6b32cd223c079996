using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using WebRepl.Tests.Support;
using WebRepl.Transport;

namespace WebRepl.Tests.Transport;

/// <summary>Pinned certificates for wss://, against a real TLS listener on loopback with a self-signed certificate.</summary>
public sealed class CertificatePinsTests
{
    [Fact]
    public void Parse_HexWithOrWithoutColons_AnyCase_SameCertificate()
    {
        using var certificate = SelfSigned();
        string colons = CertificatePins.Fingerprint(certificate);
        Assert.Matches("^([0-9A-F]{2}:){31}[0-9A-F]{2}$", colons);

        foreach (string form in new[] { colons, colons.Replace(":", string.Empty, StringComparison.Ordinal).ToLowerInvariant(), colons.Replace(':', ' ') })
        {
            var pins = CertificatePins.Parse([form]);
            Assert.Equal(1, pins.Count);
            Assert.True(pins.Contains(certificate), form);
        }

        using var other = SelfSigned();
        Assert.False(CertificatePins.Parse([colons]).Contains(other));
        Assert.Equal(0, CertificatePins.Parse([]).Count);
    }

    [Theory]
    [InlineData("")]
    [InlineData("AB:CD")]
    [InlineData("sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("GG00000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("000000000000000000000000000000000000000000000000000000000000000000")]
    public void Parse_NotASha256Fingerprint_FormatExceptionNamesIt(string text)
    {
        var ex = Assert.Throws<FormatException>(() => CertificatePins.Parse([text]));
        Assert.Contains($"'{text}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validation_UntrustedCertificate_RefusalMessageReachesTheCaller_PinnedOneIsAccepted()
    {
        using var cts = TestTimeout.Start();
        using var certificate = SelfSigned();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var target = WebReplTarget.Parse($"wss://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");
        var server = ServeTlsAsync(listener, certificate, cts.Token);

        // Not trusted by the system, not pinned: the refusal's own message, not TLS's generic one.
        string? seen = null;
        var refused = await Assert.ThrowsAsync<WebReplConnectionException>(() => WebSocketConnection.ConnectAsync(
            target,
            new WebSocketConnectOptions { RemoteCertificateValidation = CertificatePins.None.CreateValidation(c => "refused " + (seen = CertificatePins.Fingerprint(c))) },
            cts.Token));
        Assert.Equal("refused " + CertificatePins.Fingerprint(certificate), refused.Message);
        Assert.Equal(CertificatePins.Fingerprint(certificate), seen);

        // Pinned: TLS succeeds, and the listener (no WebSocket server) then closes during the handshake.
        var pins = CertificatePins.Parse([CertificatePins.Fingerprint(certificate)]);
        var accepted = await Assert.ThrowsAsync<WebReplConnectionException>(() => WebSocketConnection.ConnectAsync(
            target,
            new WebSocketConnectOptions { RemoteCertificateValidation = pins.CreateValidation(_ => "refused") },
            cts.Token));
        Assert.Contains("during the WebSocket handshake", accepted.Message, StringComparison.Ordinal);

        listener.Stop();
        await server;
    }

    /// <summary>Completes the TLS handshake with each client, then closes (no WebSocket server behind), until the listener stops.</summary>
    private static async Task ServeTlsAsync(TcpListener listener, X509Certificate2 certificate, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                using var socket = await listener.AcceptSocketAsync(cancellationToken);
                await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
                try
                {
                    await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }, cancellationToken);
                }
                catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException)
                {
                    // The client refused the certificate.
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The test is over.
        }
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=pinned test", key, HashAlgorithmName.SHA256);
        using var made = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // Exported and loaded again so that the key is usable by TLS on every platform.
        return X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pkcs12), null);
    }
}
