using System.Net;
using Microsoft.Playwright;
using WebRepl.Web.Tests.Support;

namespace WebRepl.Web.Tests;

/// <summary>How the terminal page looks and reads: glyphs at 1x, narrow windows, status lines, the favicon.</summary>
public sealed class TerminalLayoutTests(BrowserFixture browser)
{
    private static async Task<(IBrowserContext Context, IPage Page)> LoginAsync(BrowserFixture browser, WebLab lab, int width = 1200, int height = 720, float scale = 1)
    {
        var context = await browser.Browser.NewContextAsync(new() { AcceptDownloads = true, ViewportSize = new() { Width = width, Height = height }, DeviceScaleFactor = scale });
        var page = await context.NewPageAsync();
        await page.GotoAsync(lab.PageUrl);
        await Assertions.Expect(page.Locator("#url")).ToHaveValueAsync(lab.BoardWebSocketUrl);
        await page.ClickAsync("#connect");
        await page.MainFrame.WaitForTextAsync("Password: ");
        await page.MainFrame.TypeAsync(page, WebLab.Password + "\n");
        await page.MainFrame.WaitForTextAsync("WebREPL connected");
        await page.MainFrame.WaitForTextAsync(">>> ");
        return (context, page);
    }

    /// <summary>Pixels in a cell of the terminal that differ clearly from the terminal's background.</summary>
    private static async Task<int> LitPixelsAsync(IPage page, int column, int row)
    {
        var box = await page.EvaluateAsync<double[]>(
            @"([column, row]) => {
                const screen = document.querySelector('#terminal .xterm-screen').getBoundingClientRect();
                const { cols, rows } = window.webrepl.size();
                const w = screen.width / cols, h = screen.height / rows;
                return [screen.left + column * w, screen.top + row * h, w, h];
            }",
            new[] { column, row });
        byte[] png = await page.ScreenshotAsync(new() { Clip = new() { X = (float)box[0], Y = (float)box[1], Width = (float)box[2], Height = (float)box[3] } });
        // Decoded by the browser itself: no image library for the test.
        return await page.EvaluateAsync<int>(
            @"async (data) => {
                const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
                const image = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
                const canvas = new OffscreenCanvas(image.width, image.height);
                const context = canvas.getContext('2d');
                context.drawImage(image, 0, 0);
                const pixels = context.getImageData(0, 0, image.width, image.height).data;
                let lit = 0;
                for (let i = 0; i < pixels.length; i += 4) {
                    // The background is #101418.
                    if (Math.abs(pixels[i] - 0x10) + Math.abs(pixels[i + 1] - 0x14) + Math.abs(pixels[i + 2] - 0x18) > 90) lit++;
                }
                return lit;
            }",
            Convert.ToBase64String(png));
    }

    [Fact]
    public async Task Underscore_AtDeviceScale1_DrawnInItsCell()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        var (context, page) = await LoginAsync(browser, lab, scale: 1);
        await using var _ = context;

        // Underscores typed at the prompt (not run): the cursor is after them; blank cells beyond.
        await page.MainFrame.TypeAsync(page, "___");
        await page.MainFrame.WaitForTextAsync(">>> ___");
        await page.Mouse.MoveAsync(0, 0);
        var cursor = await page.EvaluateAsync<int[]>("() => { const c = window.webrepl.cursor(); return [c.x, c.y]; }");
        int row = cursor[1];
        int underscore = cursor[0] - 2; // the middle one
        int lit = await LitPixelsAsync(page, underscore, row);
        int blank = await LitPixelsAsync(page, cursor[0] + 6, row);
        Assert.Equal(0, blank);
        Assert.True(lit >= 4, $"the underscore's cell has {lit} lit pixels: it is not drawn (clipped by the line height?)");
    }

    [Fact]
    public async Task NarrowWindow_420px_PanelBelowTheTerminal_TerminalKeepsItsWidth()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        var (context, page) = await LoginAsync(browser, lab, width: 420, height: 800);
        await using var _ = context;

        var size = await page.EvaluateAsync<int[]>("() => { const s = window.webrepl.size(); return [s.cols, s.rows]; }");
        Assert.True(size[0] >= 40, $"the terminal has {size[0]} columns at 420 px");
        Assert.True(size[1] >= 10, $"the terminal has {size[1]} rows at 420 px");
        var terminal = await page.Locator("#terminal").BoundingBoxAsync();
        var files = await page.Locator("#files").BoundingBoxAsync();
        Assert.NotNull(terminal);
        Assert.NotNull(files);
        Assert.True(files.Y >= terminal.Y + terminal.Height - 1, "the file panel is below the terminal");
        Assert.True(files.Width > 400, $"the file panel spans the window ({files.Width} px)");
        // Nothing sideways: the page is no wider than the window.
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"));

        // Still usable: typing works.
        await page.MainFrame.TypeAsync(page, "print(6*7)\n");
        await page.MainFrame.WaitForLineAsync("42");
    }

    [Fact]
    public async Task Disconnect_ByTheUser_SaysDisconnectedPlainly()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        var (context, page) = await LoginAsync(browser, lab);
        await using var _ = context;

        await page.ClickAsync("#connect");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("Disconnected");
        await page.MainFrame.WaitForTextAsync("Disconnected.");
        string text = await page.MainFrame.TerminalTextAsync();
        Assert.DoesNotContain("Disconnected: disconnected", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendWhileTheBoardIsBusy_SendsAndSaysSo_ListMarkedStaleOnItsOwnLine()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        var (context, page) = await LoginAsync(browser, lab);
        await using var _ = context;

        await page.SetInputFilesAsync("#put-input", new FilePayload { Name = "first.txt", MimeType = "text/plain", Buffer = "one\n"u8.ToArray() });
        await Assertions.Expect(page.Locator("#put-status")).ToHaveTextAsync("Sent /first.txt, 4 bytes", new() { Timeout = 30000 });
        await Assertions.Expect(page.Locator("#file-list tr[data-name='first.txt']")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#list-status")).ToHaveTextAsync("/: 1 entry");

        // A line half typed (the REPL's continuation prompt): the board is busy for the REPL, not for a transfer.
        await page.MainFrame.TypeAsync(page, "for i in range(3):\n");
        await page.MainFrame.WaitForTextAsync("... ");
        await page.SetInputFilesAsync("#put-input", new FilePayload { Name = "second.txt", MimeType = "text/plain", Buffer = "two!\n"u8.ToArray() });
        await Assertions.Expect(page.Locator("#put-status")).ToHaveTextAsync("Sent /second.txt, 5 bytes", new() { Timeout = 30000 });
        Assert.Equal("two!\n", await File.ReadAllTextAsync(Path.Combine(lab.Root, "second.txt"), timeout.Token));
        // The list could not follow: its own line says why, and the old list is marked as old.
        await Assertions.Expect(page.Locator("#list-status")).ToContainTextAsync("Not listed: the board is busy");
        await Assertions.Expect(page.Locator("#file-list").Locator("xpath=..")).ToHaveClassAsync("stale");
        await Assertions.Expect(page.Locator("#file-list button").First).ToBeDisabledAsync();

        // Back at the prompt, Refresh brings the list up to date.
        await page.Keyboard.PressAsync("Control+C");
        await page.WaitForFunctionAsync("() => window.webrepl.terminalText().trimEnd().endsWith('>>>')");
        await page.ClickAsync("#list-button");
        await Assertions.Expect(page.Locator("#list-status")).ToHaveTextAsync("/: 2 entries");
        await Assertions.Expect(page.Locator("#file-list").Locator("xpath=..")).Not.ToHaveClassAsync("stale");
        await Assertions.Expect(page.Locator("#file-list tr[data-name='second.txt']")).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Refresh_FolderMissing_ListClearedAndErrorOnTheListsLine()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        await File.WriteAllTextAsync(Path.Combine(lab.Root, "main.py"), "print(1)\n", timeout.Token);
        var (context, page) = await LoginAsync(browser, lab);
        await using var _ = context;
        await Assertions.Expect(page.Locator("#file-list tr[data-name='main.py']")).ToBeVisibleAsync();

        await page.FillAsync("#list-folder", "/no-such-folder");
        await page.ClickAsync("#list-button");
        await Assertions.Expect(page.Locator("#list-status")).ToContainTextAsync("Listing /no-such-folder failed");
        await Assertions.Expect(page.Locator("#file-list tr")).ToHaveCountAsync(0);
        // The other panels' lines are theirs: nothing there.
        await Assertions.Expect(page.Locator("#get-status")).ToHaveTextAsync("");
        await Assertions.Expect(page.Locator("#put-status")).ToHaveTextAsync("");
    }

    [Fact]
    public async Task GetAtTheContinuationPrompt_AsksFirst_DropNamesTheLikelyCause()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        var (context, page) = await LoginAsync(browser, lab);
        await using var owned = context;

        await page.MainFrame.TypeAsync(page, "for i in range(3):\n");
        await page.MainFrame.WaitForTextAsync("... ");
        await page.FillAsync("#get-name", "/nope.txt");

        // The page cannot check the name without interrupting the line: it asks first. No: nothing is risked.
        string? asked = null;
        void Dismiss(object? sender, IDialog dialog)
        {
            asked = dialog.Message;
            _ = dialog.DismissAsync();
        }

        page.Dialog += Dismiss;
        await page.ClickAsync("#get-button");
        await Assertions.Expect(page.Locator("#get-status")).ToContainTextAsync("Not asked: the board is busy");
        Assert.NotNull(asked);
        Assert.Contains("cannot check that /nope.txt exists", asked, StringComparison.Ordinal);
        Assert.Equal("connected", await page.EvaluateAsync<string>("() => window.webrepl.state()"));
        page.Dialog -= Dismiss;

        // Yes: the board drops the connection on a file it cannot open, and the page names the likely cause.
        page.Dialog += (_, dialog) => _ = dialog.AcceptAsync();
        await page.ClickAsync("#get-button");
        await Assertions.Expect(page.Locator("#get-status")).ToContainTextAsync("The board probably has no file /nope.txt", new() { Timeout = 30000 });
    }

    [Fact]
    public async Task Favicon_Served()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        using var http = new HttpClient();
        using var response = await http.GetAsync(new Uri(new Uri(lab.PageUrl), "/favicon.ico"), timeout.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        byte[] icon = await response.Content.ReadAsByteArrayAsync(timeout.Token);
        Assert.Equal(new byte[] { 0, 0, 1, 0 }, icon[..4]); // an ICO header
    }
}
