using System.Net;
using WebRepl.Gateway.Tests.Support;

namespace WebRepl.Gateway.Tests;

/// <summary>The gateway's static pages (<c>wwwroot</c>): public files that other sites' pages (Edrys) read.</summary>
public sealed class StaticPageTests
{
    private static string WebRoot()
    {
        string root = Directory.CreateTempSubdirectory("webrepl-wwwroot-").FullName;
        Directory.CreateDirectory(Path.Combine(root, "edrys"));
        File.WriteAllText(Path.Combine(root, "edrys", "index.html"), "<title>WebREPL module</title>\n");
        File.WriteAllText(Path.Combine(root, "index.html"), "<title>terminal</title>\n");
        return root;
    }

    [Fact]
    public async Task EdrysPage_FetchedFromAnotherOrigin_AllowedByCors()
    {
        using var cts = TestTimeout.Start();
        string root = WebRoot();
        await using var gateway = await TestGateway.StartAsync(o => o with { WebRoot = root }, cts.Token);
        using var http = new HttpClient { BaseAddress = gateway.Url };

        using var request = new HttpRequestMessage(HttpMethod.Get, "/edrys/");
        request.Headers.Add("Origin", "https://edrys-labs.github.io");
        using var response = await http.SendAsync(request, cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("*", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Contains("WebREPL module", await response.Content.ReadAsStringAsync(cts.Token), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Options_Preflight_Answered204WithCors()
    {
        using var cts = TestTimeout.Start();
        string root = WebRoot();
        await using var gateway = await TestGateway.StartAsync(o => o with { WebRoot = root }, cts.Token);
        using var http = new HttpClient { BaseAddress = gateway.Url };

        using var request = new HttpRequestMessage(HttpMethod.Options, "/edrys/");
        request.Headers.Add("Origin", "https://edrys-labs.github.io");
        request.Headers.Add("Access-Control-Request-Method", "GET");
        request.Headers.Add("Access-Control-Request-Headers", "x-requested-with");
        using var response = await http.SendAsync(request, cts.Token);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("*", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Contains("GET", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Methods")), StringComparison.Ordinal);
        Assert.Equal("x-requested-with", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Headers")));
    }

    [Fact]
    public async Task BoardAndSessionLists_NoCorsHeader()
    {
        using var cts = TestTimeout.Start();
        string root = WebRoot();
        await using var gateway = await TestGateway.StartAsync(o => o with { WebRoot = root }, cts.Token);
        using var http = new HttpClient { BaseAddress = gateway.Url };

        foreach (string path in new[] { "/api/sessions", "/api/boards" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("Origin", "https://elsewhere.example");
            using var response = await http.SendAsync(request, cts.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"), path);
        }
    }
}
