using System.Net;
using WebRepl.Device;

namespace WebRepl.Tests.Support;

/// <summary>A real <see cref="WebReplServer"/> on 127.0.0.1 and a port the system picks, serving a fresh temporary folder.</summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    public const string Password = "secret";

    private readonly string _ownedFolder;

    private LoopbackServer(WebReplServer server, EchoConsole console, string root, string ownedFolder)
    {
        Server = server;
        Console = console;
        Root = root;
        _ownedFolder = ownedFolder;
    }

    public WebReplServer Server { get; }

    public EchoConsole Console { get; }

    /// <summary>The folder that is the board's <c>/</c>.</summary>
    public string Root { get; }

    /// <summary>A folder outside the root, beside it, for escape attempts to aim at.</summary>
    public string Outside => Path.Combine(_ownedFolder, "outside");

    public IPEndPoint EndPoint => Server.LocalEndPoint;

    public string Target => $"127.0.0.1:{EndPoint.Port}";

    /// <summary>Starts a server. <paramref name="files"/> defaults to a <see cref="DirectoryFileStore"/> on <see cref="Root"/>.</summary>
    public static LoopbackServer Start(
        Func<string, IWebReplFileStore>? files = null,
        Func<WebReplServerOptions, WebReplServerOptions>? configure = null,
        EchoConsole? console = null)
    {
        string owned = Directory.CreateTempSubdirectory("webrepl-tests-").FullName;
        string root = Directory.CreateDirectory(Path.Combine(owned, "root")).FullName;
        Directory.CreateDirectory(Path.Combine(owned, "outside"));
        var options = new WebReplServerOptions { Password = Password, EndPoint = new IPEndPoint(IPAddress.Loopback, 0) };
        options = configure?.Invoke(options) ?? options;
        console ??= new EchoConsole();
        var server = new WebReplServer(options, console, files?.Invoke(root) ?? new DirectoryFileStore(root));
        server.Start();
        return new LoopbackServer(server, console, root, owned);
    }

    public Task<WebReplClient> ConnectAndLoginAsync(CancellationToken cancellationToken, WebReplClientOptions? options = null) =>
        WebReplClient.ConnectAndLoginAsync(Target, Password, options, cancellationToken);

    /// <summary>Every file under the owned folder (root and outside), temporary ones included.</summary>
    public string[] AllFiles() =>
        [.. Directory.EnumerateFiles(_ownedFolder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(_ownedFolder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
