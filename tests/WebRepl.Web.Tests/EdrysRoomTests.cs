using System.Text.Json;
using Microsoft.Playwright;
using WebRepl.Web.Tests.Support;

namespace WebRepl.Web.Tests;

/// <summary>The Edrys module with people coming and going: what a joiner sees, who drives the board's connection.</summary>
public sealed class EdrysRoomTests(BrowserFixture browser)
{
    private const string HarnessPath = "test-harness/harness.html";
    private const string EdrysScriptUrl = "https://edrys-labs.github.io/module/edrys.js";

    // As EdrysModuleTests opens the harness (Edrys/README.md): the module in a station's frame and a student's.
    private static async Task<(IBrowserContext Context, IPage Page, IFrame Station, IFrame Student)> OpenAsync(BrowserFixture browser, WebLab lab, object stationConfig)
    {
        var context = await browser.Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1400, Height = 640 } });
        string folder = Path.Combine(AppContext.BaseDirectory, "Edrys");
        string harnessUrl = lab.PageUrl + HarnessPath;
        await context.RouteAsync(harnessUrl + "**", route => route.FulfillAsync(new() { Path = Path.Combine(folder, "harness.html"), ContentType = "text/html" }));
        await context.RouteAsync(EdrysScriptUrl, route => route.FulfillAsync(new() { Path = Path.Combine(folder, "edrys-standin.js"), ContentType = "text/javascript" }));
        var page = await context.NewPageAsync();
        await page.GotoAsync($"{harnessUrl}?module={Uri.EscapeDataString(lab.PageUrl + "edrys/")}&stationConfig={Uri.EscapeDataString(JsonSerializer.Serialize(stationConfig))}");
        return (context, page, await FrameAsync(page, "role=station"), await FrameAsync(page, "role=student"));
    }

    private static async Task<IFrame> FrameAsync(IPage page, string marker)
    {
        for (int i = 0; i < 200; i++)
        {
            var frame = page.Frames.FirstOrDefault(f => f.Url.Contains(marker, StringComparison.Ordinal) && !f.IsDetached);
            if (frame is not null)
            {
                await frame.WaitForFunctionAsync("() => window.webrepl !== undefined");
                return frame;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"no frame with {marker}; frames: {string.Join(", ", page.Frames.Select(f => f.Url))}");
    }

    private static async Task<(IBrowserContext, IPage, IFrame, IFrame)> LoggedInAsync(BrowserFixture browser, WebLab lab)
    {
        var (context, page, station, student) = await OpenAsync(browser, lab, new { websocket = lab.BoardWebSocketUrl, password = WebLab.Password });
        await station.WaitForTextAsync("WebREPL connected");
        await Assertions.Expect(station.Locator("#status")).ToHaveTextAsync("Connected");
        return (context, page, station, student);
    }

    [Fact]
    public async Task StudentJoinsLate_SeesTheRecentOutputAndThePrompt()
    {
        using var timeout = TestTimeout.Start(120);
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        var (context, page, station, student) = await LoggedInAsync(browser, lab);
        await using var _ = context;

        await station.TypeAsync(page, "print('before', 6 * 7)\n");
        await station.WaitForLineAsync("before 42");
        await student.WaitForLineAsync("before 42");

        // The student's page comes again (a reload, or someone new at the station): its terminal starts empty.
        await page.EvaluateAsync("() => window.host.reload('student')");
        var joined = await FrameAsync(page, "reload=");
        await joined.WaitForLineAsync("before 42");
        string text = await joined.TerminalTextAsync();
        Assert.EndsWith(">>>", text.TrimEnd(), StringComparison.Ordinal);
        Assert.Single(text.Split("before 42")[1..]); // shown once, not once per message

        // And it goes on from there.
        await joined.TypeAsync(page, "print('after', 2 * 21)\n");
        await joined.WaitForLineAsync("after 42");
    }

    [Fact]
    public async Task Student_SeesTheStateNotAConnectButton_StudentRequestIgnored_TeacherDisconnects()
    {
        using var timeout = TestTimeout.Start(120);
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        var (context, page, station, student) = await LoggedInAsync(browser, lab);
        await using var _ = context;

        await Assertions.Expect(student.Locator("#status")).ToHaveTextAsync("Connected");
        await Assertions.Expect(student.Locator("#connect")).ToBeHiddenAsync();
        await Assertions.Expect(station.Locator("#connect")).ToBeVisibleAsync();

        // A disconnect from a student (an older page sends one) changes nothing; the station says so.
        await page.EvaluateAsync("() => window.host.sendAs('student', 'disconnect', '')");
        await station.WaitForTextAsync("student may not disconnect the board");
        await student.TypeAsync(page, "print('still', 6 * 7)\n");
        await student.WaitForLineAsync("still 42");
        Assert.Equal("connected", await station.EvaluateAsync<string>("() => window.webrepl.state()"));

        // A teacher may.
        await page.EvaluateAsync("() => window.host.join('teacher', 'teacher')");
        await page.EvaluateAsync("() => window.host.sendAs('teacher', 'disconnect', '')");
        await Assertions.Expect(station.Locator("#status")).ToHaveTextAsync("Disconnected");
        await Assertions.Expect(student.Locator("#status")).ToHaveTextAsync("Disconnected");
        await Assertions.Expect(student.Locator("#connect")).ToBeHiddenAsync();
    }
}
