using System.Net;
using WebRepl.Gateway;

namespace WebRepl.Cli.Tests;

/// <summary>
/// <c>--cert-fingerprint</c> and <c>$WEBREPL_CERT_FINGERPRINT</c>: a wss:// target with a self-signed certificate (a gateway
/// started with <c>--self-signed</c>, here in-process) is refused with its fingerprint and the option, accepted once pinned.
/// </summary>
public sealed class CertFingerprintTests : IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(30));
    private readonly string _cache = Directory.CreateTempSubdirectory("webrepl-cli-cert-").FullName;
    private TestBoard _board = null!;
    private WebReplGateway _gateway = null!;

    private CancellationToken Token => _timeout.Token;

    /// <summary>The board through the TLS gateway.</summary>
    private string Target => $"{_gateway.WebSocketUrls[0]}/ws://{_board.Address}";

    /// <summary>As the gateway's banner prints it: AB:CD:...</summary>
    private string Fingerprint => _gateway.CertificateFingerprint!;

    public async ValueTask InitializeAsync()
    {
        _board = TestBoard.Start();
        _gateway = await WebReplGateway.StartAsync(
            new GatewayOptions
            {
                Listen = [new IPEndPoint(IPAddress.Loopback, 0)],
                Tls = new GatewayTlsOptions { SelfSigned = true, CacheFolder = _cache },
            },
            Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _board.DisposeAsync();
        Directory.Delete(_cache, recursive: true);
        _timeout.Dispose();
    }

    [Fact]
    public async Task WssTarget_SelfSignedWithoutPin_CannotConnect_MessageShowsFingerprintAndOption()
    {
        Assert.StartsWith("wss://", Target, StringComparison.Ordinal);

        var run = await Cli.RunAsync(["-t", Target, "-p", TestBoard.Password, "version"], cancellationToken: Token);

        Assert.Equal(3, run.ExitCode);
        Assert.Contains("not trusted", run.Error, StringComparison.Ordinal);
        Assert.Contains($"--cert-fingerprint {Fingerprint}", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(TestBoard.Password, run.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WssTarget_Pinned_WithOrWithoutColons_Connects()
    {
        var colons = await Cli.RunAsync(["-t", Target, "-p", TestBoard.Password, "--cert-fingerprint", Fingerprint, "version"], cancellationToken: Token);
        Assert.True(colons.ExitCode == 0, colons.All);
        Assert.Equal("1.24.1", colons.Out.Trim());

        string bare = Fingerprint.Replace(":", string.Empty, StringComparison.Ordinal).ToLowerInvariant();
        var other = new string('0', 64);
        var repeated = await Cli.RunAsync(["-t", Target, "-p", TestBoard.Password, "--cert-fingerprint", other, "--cert-fingerprint", bare, "version"], cancellationToken: Token);
        Assert.True(repeated.ExitCode == 0, repeated.All);
        Assert.Equal("1.24.1", repeated.Out.Trim());
    }

    [Fact]
    public async Task WssTarget_PinnedFromEnvironment_Connects()
    {
        var environment = new Dictionary<string, string>
        {
            [WebReplCli.TargetVariable] = Target,
            [WebReplCli.PasswordVariable] = TestBoard.Password,
            [WebReplCli.CertFingerprintVariable] = $"{new string('0', 64)}, {Fingerprint}",
        };

        var run = await Cli.RunAsync(["version"], environment: environment, cancellationToken: Token);

        Assert.True(run.ExitCode == 0, run.All);
        Assert.Equal("1.24.1", run.Out.Trim());
    }

    [Fact]
    public async Task WssTarget_WrongPin_CannotConnect_MessageShowsTheActualFingerprint()
    {
        var run = await Cli.RunAsync(["-t", Target, "-p", TestBoard.Password, "--cert-fingerprint", new string('a', 64), "version"], cancellationToken: Token);

        Assert.Equal(3, run.ExitCode);
        Assert.Contains($"SHA-256 {Fingerprint}", run.Error, StringComparison.Ordinal);
        Assert.Contains("--cert-fingerprint", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedFingerprint_IsAUsageError()
    {
        var run = await Cli.RunAsync(["-t", Target, "-p", TestBoard.Password, "--cert-fingerprint", "AB:CD", "version"], cancellationToken: Token);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--cert-fingerprint", run.Error, StringComparison.Ordinal);
        Assert.Contains("'AB:CD'", run.Error, StringComparison.Ordinal);
    }
}
