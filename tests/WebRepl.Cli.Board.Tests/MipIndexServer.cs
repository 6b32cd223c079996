using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace WebRepl.Cli.Board.Tests;

/// <summary>
/// A package index and a stand-in for raw.githubusercontent.com, on Kestrel at 127.0.0.1 (a port the OS picks),
/// built from <c>Fixtures/mip</c> (see its README): <see cref="Index"/> in micropython-lib's v2 layout, GitHub's
/// raw files under <see cref="GitHub"/>. Tests add hostile packages with <see cref="Put(string, byte[])"/>; every request is kept.
/// </summary>
public sealed class MipIndexServer : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, byte[]> _files = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _requests = new();
    private WebApplication? _app;

    public static string FixturePath(string relative) =>
        Path.Combine(AppContext.BaseDirectory, "Fixtures", "mip", relative.Replace('/', Path.DirectorySeparatorChar));

    public string BaseUrl { get; private set; } = string.Empty;

    /// <summary>The <c>--index</c> value.</summary>
    public string Index => BaseUrl + "/pi/v2";

    /// <summary>The <c>--github-base</c> value.</summary>
    public string GitHub => BaseUrl + "/gh/";

    /// <summary>False: answers without Content-Length (chunked), so a client learns the size only by reading.</summary>
    public bool SendLength { get; set; } = true;

    /// <summary>The paths asked for, in order.</summary>
    public IReadOnlyList<string> Requests => [.. _requests];

    public static async Task<MipIndexServer> StartAsync(CancellationToken cancellationToken)
    {
        var server = new MipIndexServer();
        server.LoadFixtures();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(server.ServeAsync);
        await app.StartAsync(cancellationToken);
        server._app = app;
        server.BaseUrl = app.Urls.Single().TrimEnd('/');
        return server;
    }

    /// <summary>Serves <paramref name="content"/> at <paramref name="path"/> (from the server's root: <c>/pi/v2/...</c>, <c>/gh/...</c>).</summary>
    public void Put(string path, byte[] content) => _files[path] = content;

    public void Put(string path, string content) => Put(path, Encoding.UTF8.GetBytes(content));

    /// <summary>Adds a file to the index's file store; returns its short hash.</summary>
    public string PutIndexFile(byte[] content)
    {
        string hash = ShortHash(content);
        Put($"/pi/v2/file/{hash[..2]}/{hash}", content);
        return hash;
    }

    public static string ShortHash(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content))[..8];

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private async Task ServeAsync(HttpContext context)
    {
        string path = context.Request.Path.Value ?? "/";
        _requests.Enqueue(path);
        if (context.Request.Method != "GET" || !_files.TryGetValue(path, out byte[]? content))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (SendLength)
        {
            context.Response.ContentLength = content.Length;
        }

        await context.Response.Body.WriteAsync(content, context.RequestAborted);
    }

    /// <summary>The index from <c>index/NAME/{package.txt,py/,6/}</c>, GitHub's files from <c>github/</c>.</summary>
    private void LoadFixtures()
    {
        foreach (string package in Directory.GetDirectories(FixturePath("index")))
        {
            string name = Path.GetFileName(package);
            string[] lines = File.ReadAllLines(Path.Combine(package, "package.txt")).Where(l => l.Length > 0).ToArray();
            foreach (string variant in new[] { "py", "6" })
            {
                var hashes = new JsonArray();
                string folder = Path.Combine(package, variant);
                foreach (string file in Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                {
                    hashes.Add(new JsonArray(Path.GetRelativePath(folder, file).Replace(Path.DirectorySeparatorChar, '/'), PutIndexFile(File.ReadAllBytes(file))));
                }

                var json = new JsonObject
                {
                    ["hashes"] = hashes,
                    ["deps"] = new JsonArray([.. lines.Skip(1).Select(d => (JsonNode)new JsonArray(d, "latest"))]),
                    ["version"] = lines[0],
                };
                Put($"/pi/v2/package/{variant}/{name}/latest.json", json.ToJsonString());
                Put($"/pi/v2/package/{variant}/{name}/{lines[0]}.json", json.ToJsonString());
            }
        }

        string github = FixturePath("github");
        foreach (string file in Directory.GetFiles(github, "*", SearchOption.AllDirectories))
        {
            Put("/gh/" + Path.GetRelativePath(github, file).Replace(Path.DirectorySeparatorChar, '/'), File.ReadAllBytes(file));
        }
    }
}
