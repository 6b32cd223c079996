using Microsoft.Playwright;
using WebRepl.Web.Tests.Support;

namespace WebRepl.Web.Tests;

/// <summary>Two people on one board through the gateway: what each sees of the other's file panel and programs.</summary>
public sealed class SharedSessionPageTests(BrowserFixture browser)
{
    private static async Task<(IBrowserContext Context, IPage Page)> LoginAsync(BrowserFixture browser, WebLab lab)
    {
        var context = await browser.Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1200, Height = 720 } });
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

    [Fact]
    public async Task SecondTabListsFilesAndAProgramRuns_FirstTabSeesTheProgramsOutputNotTheRawReplProtocol()
    {
        using var timeout = TestTimeout.Start(120);
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        await File.WriteAllTextAsync(Path.Combine(lab.Root, "hello_newcomer.py"), "print('hello')\n", timeout.Token);
        var (firstContext, first) = await LoginAsync(browser, lab);
        await using var _ = firstContext;
        await Assertions.Expect(first.Locator("#file-list tr[data-name='hello_newcomer.py']")).ToBeVisibleAsync();

        // The second tab joins; its file panel lists the folder through the raw REPL.
        var (secondContext, second) = await LoginAsync(browser, lab);
        await using var __ = secondContext;
        await Assertions.Expect(second.Locator("#file-list tr[data-name='hello_newcomer.py']")).ToBeVisibleAsync();
        await Assertions.Expect(second.Locator("#list-status")).ToHaveTextAsync("/: 1 entry");

        // The first tab is told once, sees the listing program's printed line, and is back at a prompt: nothing of
        // the raw REPL around it (its banner, prompts, raw-paste's bytes, the banner after Ctrl-B).
        const string Since = "() => window.webrepl.terminalText().split('WebREPL connected').pop()";
        try
        {
            await first.WaitForFunctionAsync($"() => {{ const t = ({Since})(); return t.includes('[gateway]') && t.trimEnd().endsWith('>>>'); }}");
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"the first tab shows:\n{await first.EvaluateAsync<string>(Since)}");
        }

        string listing = await first.EvaluateAsync<string>(Since);
        Assert.Equal(
            [">>>", "[gateway] Another client is running code on the board (raw REPL): you see what its programs print.", "F 15 'hello_newcomer.py'", ">>>"],
            listing.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0));

        // A program run by another client (webrepl exec through the gateway): the first tab sees what it prints.
        await using (var client = await WebReplClient.ConnectAndLoginAsync(lab.BoardWebSocketUrl, WebLab.Password, cancellationToken: timeout.Token))
        {
            Assert.Equal("for people 42\r\n", await client.ExecAsync("print('for people', 6 * 7)", timeout.Token));
        }

        await first.MainFrame.WaitForLineAsync("for people 42");
        await first.MainFrame.TypeAsync(first, "print('mine', 2 * 21)\n");
        await first.MainFrame.WaitForLineAsync("mine 42");

        string[] parts = (await first.MainFrame.TerminalTextAsync()).Split("[gateway] Another client is running code on the board (raw REPL): you see what its programs print.");
        Assert.Equal(2, parts.Length); // told once
        string seen = parts[1];
        Assert.DoesNotContain("raw REPL", seen, StringComparison.Ordinal);
        Assert.DoesNotContain("CTRL-B", seen, StringComparison.Ordinal);
        Assert.DoesNotContain("help()", seen, StringComparison.Ordinal); // the banner after Ctrl-B
        Assert.DoesNotContain('\uFFFD', seen); // raw-paste's window size bytes
        Assert.DoesNotContain(seen.Split('\n'), line => line.Trim() is "OK" or ">");
    }
}
