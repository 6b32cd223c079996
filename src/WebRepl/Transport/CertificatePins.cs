using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace WebRepl.Transport;

/// <summary>
/// Pinned certificates for <c>wss://</c>: a server's certificate is accepted when the system trusts it, or when
/// its SHA-256 fingerprint is one of the pins, so that a self-signed certificate (a gateway started with
/// <c>--self-signed</c>, a TLS terminator in front of a board) can be trusted without a certificate authority.
/// </summary>
public sealed class CertificatePins
{
    private readonly byte[][] _pins;

    private CertificatePins(byte[][] pins) => _pins = pins;

    /// <summary>No pins: the system's trust alone.</summary>
    public static CertificatePins None { get; } = new([]);

    /// <summary>How many fingerprints are pinned.</summary>
    public int Count => _pins.Length;

    /// <summary>Parses SHA-256 fingerprints: 64 hex digits each, with or without colons (<c>AB:CD:...</c> or <c>abcd...</c>).</summary>
    /// <exception cref="FormatException">One of them is not a SHA-256 fingerprint; the message names it.</exception>
    public static CertificatePins Parse(IEnumerable<string> fingerprints)
    {
        ArgumentNullException.ThrowIfNull(fingerprints);
        var pins = new List<byte[]>();
        foreach (string text in fingerprints)
        {
            if (!TryParseFingerprint(text, out byte[]? hash))
            {
                throw new FormatException(
                    $"'{text}' is not a SHA-256 certificate fingerprint: 64 hex digits, with or without colons (AB:CD:... as 'webrepl gateway --self-signed' prints it).");
            }

            pins.Add(hash);
        }

        return pins.Count == 0 ? None : new CertificatePins([.. pins]);
    }

    /// <summary>Parses one SHA-256 fingerprint (64 hex digits; colons and spaces between them are ignored).</summary>
    public static bool TryParseFingerprint(string? text, [NotNullWhen(true)] out byte[]? hash)
    {
        hash = null;
        if (text is null)
        {
            return false;
        }

        string digits = string.Concat(text.Where(c => c is not (':' or ' ')));
        if (digits.Length != SHA256.HashSizeInBytes * 2 || !digits.All(char.IsAsciiHexDigit))
        {
            return false;
        }

        hash = Convert.FromHexString(digits);
        return true;
    }

    /// <summary>A certificate's SHA-256 fingerprint as browsers show it: <c>AB:CD:...</c> (upper case, colons).</summary>
    public static string Fingerprint(X509Certificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return string.Join(':', certificate.GetCertHash(HashAlgorithmName.SHA256).Select(b => b.ToString("X2", CultureInfo.InvariantCulture)));
    }

    /// <summary>True when the certificate's SHA-256 fingerprint is pinned.</summary>
    public bool Contains(X509Certificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        byte[] hash = certificate.GetCertHash(HashAlgorithmName.SHA256);
        return _pins.Any(pin => CryptographicOperations.FixedTimeEquals(pin, hash));
    }

    /// <summary>
    /// A check for <see cref="WebSocketConnectOptions.RemoteCertificateValidation"/>: the system's trust, else a pin.
    /// Any other certificate fails the connection with a <see cref="WebReplConnectionException"/> whose message
    /// <paramref name="refusal"/> writes from the certificate (show its <see cref="Fingerprint"/>, say how to pin it).
    /// </summary>
    public RemoteCertificateValidationCallback CreateValidation(Func<X509Certificate, string> refusal)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        return (_, certificate, _, errors) => Accept(certificate, errors, refusal);
    }

    private bool Accept(X509Certificate? certificate, SslPolicyErrors errors, Func<X509Certificate, string> refusal)
    {
        if (errors == SslPolicyErrors.None || (certificate is not null && Contains(certificate)))
        {
            return true;
        }

        if (certificate is null)
        {
            return false;
        }

        // Thrown rather than returning false, so that the message (the fingerprint, how to pin it) reaches the
        // user instead of TLS's "rejected by the provided RemoteCertificateValidationCallback".
        throw new WebReplConnectionException(refusal(certificate));
    }
}
