using System.Text;
using WebRepl.Gateway.Tests.Support;

namespace WebRepl.Gateway.Tests;

/// <summary>
/// <c>webrepl gateway --target-cert-fingerprint</c> (and the settings file's <c>TargetCertFingerprints</c>): the gateway,
/// run as a process, forwards to a second gateway with a self-signed certificate (in front of a board) over wss://.
/// </summary>
public sealed class TargetPinningTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("webrepl-gateway-pin-").FullName;
    private TestBoard _board = null!;
    private TestGateway _tls = null!;

    /// <summary>The self-signed gateway's fingerprint as its banner prints it (AB:CD:...).</summary>
    private string Fingerprint => _tls.Gateway.CertificateFingerprint!;

    private string BareFingerprint => Fingerprint.Replace(":", string.Empty, StringComparison.Ordinal);

    public async ValueTask InitializeAsync()
    {
        _board = TestBoard.Start();
        _tls = await TestGateway.StartAsync(
            o => o with { Tls = new GatewayTlsOptions { SelfSigned = true, CacheFolder = Path.Combine(_folder, "cache") } },
            TestContext.Current.CancellationToken);
        Assert.StartsWith("wss://", _tls.WsBase, StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        await _tls.DisposeAsync();
        await _board.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task NoPin_Refused_ReasonNamesTheFlagAndShowsTheFingerprint()
    {
        using var cts = TestTimeout.Start(60);
        await using var gateway = await GatewayProcess.StartAsync(["--port", "0"], cts.Token);

        var close = await ConnectAndReadCloseAsync(gateway, cts.Token);

        Assert.Equal(1011, close.CloseStatus);
        // Whole (a close reason holds 123 bytes): the fingerprint as the flag takes it, and the flag.
        Assert.Equal($"untrusted certificate {BareFingerprint}: pin with --target-cert-fingerprint", close.CloseReason);
        Assert.Empty(_tls.Gateway.Sessions);

        // What a user of the command sees.
        var ex = await Assert.ThrowsAsync<WebReplConnectionException>(() => WebReplClient.ConnectAndLoginAsync(Forward(gateway), TestBoard.Password, cancellationToken: cts.Token));
        Assert.Contains($"{BareFingerprint}: pin with --target-cert-fingerprint", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RightPin_LogsIn_TextRoundTrip_AndFileVersion()
    {
        using var cts = TestTimeout.Start(60);
        await using var gateway = await GatewayProcess.StartAsync(["--port", "0", "--target-cert-fingerprint", Fingerprint], cts.Token);

        await AssertForwardsAsync(gateway, cts.Token);
    }

    [Fact]
    public async Task PinInSettingsFile_WithoutColons_LogsIn()
    {
        using var cts = TestTimeout.Start(60);
        string config = Path.Combine(_folder, "gateway.json");
        await File.WriteAllTextAsync(config, $$"""{ "Gateway": { "TargetCertFingerprints": [ "{{BareFingerprint.ToLowerInvariant()}}" ] } }""", cts.Token);
        await using var gateway = await GatewayProcess.StartAsync(["--port", "0", "--config", config], cts.Token);

        await AssertForwardsAsync(gateway, cts.Token);
    }

    [Fact]
    public async Task WrongPin_Refused_ReasonShowsTheActualFingerprint()
    {
        using var cts = TestTimeout.Start(60);
        await using var gateway = await GatewayProcess.StartAsync(["--port", "0", "--target-cert-fingerprint", new string('0', 64)], cts.Token);

        var close = await ConnectAndReadCloseAsync(gateway, cts.Token);

        Assert.Equal(1011, close.CloseStatus);
        Assert.Equal($"certificate {BareFingerprint} matches no --target-cert-fingerprint", close.CloseReason);
        Assert.Empty(_tls.Gateway.Sessions);
    }

    [Fact]
    public async Task MalformedPin_OnTheCommandLineOrInTheSettingsFile_UsageError()
    {
        using var cts = TestTimeout.Start(60);
        var flag = await GatewayProcess.RunToEndAsync(["--port", "0", "--target-cert-fingerprint", "AB:CD"], cts.Token);
        Assert.Equal(2, flag.ExitCode);
        Assert.Contains("--target-cert-fingerprint", flag.Error, StringComparison.Ordinal);
        Assert.Contains("'AB:CD'", flag.Error, StringComparison.Ordinal);

        string config = Path.Combine(_folder, "bad.json");
        await File.WriteAllTextAsync(config, """{ "Gateway": { "TargetCertFingerprints": [ "nope" ] } }""", cts.Token);
        var file = await GatewayProcess.RunToEndAsync(["--port", "0", "--config", config], cts.Token);
        Assert.Equal(2, file.ExitCode);
        Assert.Contains("Gateway:TargetCertFingerprints", file.Error, StringComparison.Ordinal);
        Assert.Contains("'nope'", file.Error, StringComparison.Ordinal);
    }

    /// <summary>Through the process gateway, over wss:// to the self-signed one, to the board.</summary>
    private string Forward(GatewayProcess gateway) => $"{gateway.Url}/{_tls.WsBase}/{_board.Url}";

    private async Task<Transport.WebSocketFrame> ConnectAndReadCloseAsync(GatewayProcess gateway, CancellationToken cancellationToken)
    {
        await using var client = await RawClient.ConnectAsync(Forward(gateway), cancellationToken);
        return await client.ReadCloseAsync(cancellationToken);
    }

    private async Task AssertForwardsAsync(GatewayProcess gateway, CancellationToken cancellationToken)
    {
        await using var client = await WebReplClient.ConnectAndLoginAsync(Forward(gateway), TestBoard.Password, cancellationToken: cancellationToken);
        await client.SendInputAsync("hello\r", cancellationToken);
        var seen = new List<byte>();
        while (!Encoding.ASCII.GetString([.. seen]).Contains("hello\r", StringComparison.Ordinal))
        {
            seen.AddRange((await client.Output.ReadAsync(cancellationToken)).Span);
        }

        Assert.Equal(new Protocol.WebReplVersion(1, 24, 1), await client.GetVersionAsync(cancellationToken));
        Assert.StartsWith(_board.Url, Assert.Single(_tls.Gateway.Sessions).Board, StringComparison.Ordinal);
    }
}
