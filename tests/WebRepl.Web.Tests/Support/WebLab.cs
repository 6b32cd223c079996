using System.Net;
using Microsoft.Playwright;
using WebRepl.Board;
using WebRepl.Gateway;

[assembly: AssemblyFixture(typeof(WebRepl.Web.Tests.Support.BrowserFixture))]

namespace WebRepl.Web.Tests.Support;

/// <summary>Debian's Chromium, headless, driven by Playwright: one for the test run (pages are cheap, browsers are not).</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where Chromium is: CHROMIUM_PATH, else Debian's.</summary>
    public static string ChromiumPath => Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium";

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            // (dotnet test stops before this, in the project's CheckChromium target; other runners get the same line)
            throw new InvalidOperationException($"Chromium is missing ({ChromiumPath}): install it (apt-get install chromium) or set CHROMIUM_PATH.");
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

/// <summary>
/// A virtual board behind a gateway (named board 'virtual' by default, as <c>webrepl gateway --virtual-board</c>; another
/// name, or no named board at all, on request), both on loopback ports the system picks.
/// </summary>
internal sealed class WebLab : IAsyncDisposable
{
    public const string Password = "pyth0n";

    private WebLab(VirtualBoard board, WebReplGateway gateway, string root, string? boardName)
    {
        Board = board;
        Gateway = gateway;
        Root = root;
        BoardName = boardName;
    }

    public VirtualBoard Board { get; }

    public WebReplGateway Gateway { get; }

    /// <summary>The board's files on this machine (its <c>/</c>).</summary>
    public string Root { get; }

    /// <summary>The gateway's address, where the terminal page is (<c>/</c>) and the Edrys module (<c>/edrys/</c>).</summary>
    public string PageUrl => Gateway.Urls[0].ToString();

    /// <summary>The board's name at the gateway (<c>/boards/NAME</c>), or null when the gateway names no board.</summary>
    public string? BoardName { get; }

    /// <summary>The board through the gateway: <c>/boards/NAME</c>, or <c>/ws://HOST:PORT</c> when it has no name.</summary>
    public string BoardWebSocketUrl => BoardName is null ? $"{Gateway.WebSocketUrls[0]}/{Board.Url}" : $"{Gateway.WebSocketUrls[0]}/boards/{BoardName}";

    public static async Task<WebLab> StartAsync(bool tls = false, string? boardName = "virtual", CancellationToken cancellationToken = default)
    {
        string root = Directory.CreateTempSubdirectory("webrepl-web-").FullName;
        var board = await VirtualBoard.StartAsync(
            new VirtualBoardOptions { EndPoint = new IPEndPoint(IPAddress.Loopback, 0), Password = Password, Root = root },
            cancellationToken);
        try
        {
            var gateway = await WebReplGateway.StartAsync(
                new GatewayOptions
                {
                    Listen = [new IPEndPoint(IPAddress.Loopback, 0)],
                    Boards = boardName is null ? new Dictionary<string, string>() : new Dictionary<string, string> { [boardName] = board.Url },
                    Tls = tls ? new GatewayTlsOptions { SelfSigned = true, CacheFolder = Path.Combine(root, "..", Path.GetFileName(root) + "-tls") } : null,
                },
                cancellationToken);
            return new WebLab(board, gateway, root, boardName);
        }
        catch
        {
            await board.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Board.DisposeAsync();
    }
}

/// <summary>Reading and typing in a page's xterm.js terminal (the pages expose <c>window.webrepl.terminalText()</c>).</summary>
internal static class TerminalPage
{
    public const int Timeout = 20000;

    public static async Task WaitForTextAsync(this IFrame frame, string text, int timeout = Timeout)
    {
        try
        {
            await frame.WaitForFunctionAsync("t => window.webrepl && window.webrepl.terminalText().includes(t)", text, new() { Timeout = timeout, PollingInterval = 50 });
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"'{text}' did not appear in the terminal; it shows:\n{await frame.TerminalTextAsync()}");
        }
    }

    /// <summary>
    /// Waits until <paramref name="text"/> shows exactly <paramref name="count"/> times: for what appears again (a second
    /// password prompt, a hint repeated), where an earlier copy still on screen would satisfy <see cref="WaitForTextAsync"/>.
    /// </summary>
    public static async Task WaitForTextCountAsync(this IFrame frame, string text, int count, int timeout = Timeout)
    {
        try
        {
            await frame.WaitForFunctionAsync("a => window.webrepl && window.webrepl.terminalText().split(a[0]).length === a[1] + 1", new object[] { text, count }, new() { Timeout = timeout, PollingInterval = 50 });
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"'{text}' did not show {count} times in the terminal; it shows:\n{await frame.TerminalTextAsync()}");
        }
    }

    /// <summary>Waits for a line of output that is exactly <paramref name="line"/> (not the echo of the command that printed it).</summary>
    public static async Task WaitForLineAsync(this IFrame frame, string line, int timeout = Timeout)
    {
        try
        {
            await frame.WaitForFunctionAsync("l => window.webrepl && window.webrepl.terminalText().split('\\n').some(x => x.trimEnd() === l)", line, new() { Timeout = timeout, PollingInterval = 50 });
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"the line '{line}' did not appear in the terminal; it shows:\n{await frame.TerminalTextAsync()}");
        }
    }

    public static Task<string> TerminalTextAsync(this IFrame frame) => frame.EvaluateAsync<string>("() => window.webrepl.terminalText()");

    /// <summary>Clicks into the terminal and types, Enter at each '\n'.</summary>
    public static async Task TypeAsync(this IFrame frame, IPage page, string text)
    {
        await frame.Locator("#terminal").ClickAsync();
        string[] lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length > 0)
            {
                await page.Keyboard.TypeAsync(lines[i]);
            }

            if (i < lines.Length - 1)
            {
                await page.Keyboard.PressAsync("Enter");
            }
        }
    }

    /// <summary>A paste, as the browser delivers one (a ClipboardEvent on the terminal's text area).</summary>
    public static Task PasteAsync(this IFrame frame, string text) =>
        frame.EvaluateAsync(
            @"text => {
                const data = new DataTransfer();
                data.setData('text/plain', text);
                const target = document.querySelector('#terminal textarea');
                target.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
            }",
            text);
}
