using Microsoft.Playwright;
using WebRepl.Web.Tests.Support;

namespace WebRepl.Web.Tests;

/// <summary>
/// A board file's name becomes the name the browser saves it as: a name the board chose with control characters
/// (or '\', '..') is not used as it is, and the page says so.
/// </summary>
public sealed class DownloadNameTests(BrowserFixture browser)
{
    [Fact]
    public async Task GetFile_NameWithAnEscapeSequence_SavedUnderASafeNameAndSaysSo()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        const string hostile = "evil\u001b]0;OWNED\u0007.txt";
        await File.WriteAllTextAsync(Path.Combine(lab.Root, hostile), "content", timeout.Token);
        var context = await browser.Browser.NewContextAsync(new() { AcceptDownloads = true });
        await using var _ = context;
        var page = await context.NewPageAsync();
        await page.GotoAsync(lab.PageUrl);
        await Assertions.Expect(page.Locator("#url")).ToHaveValueAsync(lab.BoardWebSocketUrl);
        await page.ClickAsync("#connect");
        await page.MainFrame.WaitForTextAsync("Password: ");
        await page.MainFrame.TypeAsync(page, WebLab.Password + "\n");
        await page.MainFrame.WaitForTextAsync(">>> ");

        await page.FillAsync("#get-name", "/" + hostile);
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("#get-button"), new() { Timeout = 60000 });

        Assert.Equal("evil_]0;OWNED_.txt", download.SuggestedFilename);
        await Assertions.Expect(page.Locator("#get-status")).ToContainTextAsync("saved as \"evil_]0;OWNED_.txt\"");
        await Assertions.Expect(page.Locator("#get-status")).ToContainTextAsync("not safe as a file name");
    }
}
