using System.Text;
using System.Text.Json;
using Microsoft.Playwright;
using WebRepl.Web.Tests.Support;

namespace WebRepl.Web.Tests;

/// <summary>
/// The Edrys module (<c>/edrys/</c>) in two frames of a harness page that plays the Edrys host (harness.html,
/// with a stand-in edrys.js that behaves as the real one: Edrys/README.md): one station connected to the
/// virtual board through the gateway, one student.
/// </summary>
public sealed class EdrysModuleTests(BrowserFixture browser)
{
    // Served (by routing, not by the gateway) beside the module: Chromium refuses frames of a loopback page inside a page of a name it cannot resolve.
    private const string HarnessPath = "test-harness/harness.html";
    private const string EdrysScriptUrl = "https://edrys-labs.github.io/module/edrys.js";

    private static async Task<(IBrowserContext Context, IPage Page, IFrame Station, IFrame Student)> OpenAsync(
        BrowserFixture browser, WebLab lab, object stationConfig, object? config = null, bool settingsAsText = false)
    {
        var context = await browser.Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1400, Height = 640 } });
        string folder = Path.Combine(AppContext.BaseDirectory, "Edrys");
        // Nothing leaves this machine: the harness and Edrys's script are served from the test's files.
        string harnessUrl = lab.PageUrl + HarnessPath;
        await context.RouteAsync(harnessUrl + "**", route => route.FulfillAsync(new() { Path = Path.Combine(folder, "harness.html"), ContentType = "text/html" }));
        await context.RouteAsync(EdrysScriptUrl, route => route.FulfillAsync(new() { Path = Path.Combine(folder, "edrys-standin.js"), ContentType = "text/javascript" }));
        var page = await context.NewPageAsync();
        string query = $"?module={Uri.EscapeDataString(lab.PageUrl + "edrys/")}&stationConfig={Uri.EscapeDataString(JsonSerializer.Serialize(stationConfig))}"
            + (config is null ? "" : $"&config={Uri.EscapeDataString(JsonSerializer.Serialize(config))}")
            + (settingsAsText ? "&settingsAsText=1" : "");
        await page.GotoAsync(harnessUrl + query);
        var station = await FrameAsync(page, "role=station");
        var student = await FrameAsync(page, "role=student");
        return (context, page, station, student);
    }

    private static async Task<IFrame> FrameAsync(IPage page, string marker)
    {
        for (int i = 0; i < 200; i++)
        {
            var frame = page.Frames.FirstOrDefault(f => f.Url.Contains(marker, StringComparison.Ordinal));
            if (frame is not null)
            {
                await frame.WaitForFunctionAsync("() => window.webrepl !== undefined");
                return frame;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"no frame with {marker}; frames: {string.Join(", ", page.Frames.Select(f => f.Url))}; page: {await page.ContentAsync()}");
    }

    [Fact]
    public async Task StationAndStudent_StudentTypes_ExecuteStringAndFileBodies_OutputReachesStudent()
    {
        using var timeout = TestTimeout.Start(120);
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        await File.WriteAllTextAsync(Path.Combine(lab.Root, "idle.py"), "print('IDLE', 'RAN')\n", timeout.Token);
        var (context, page, station, student) = await OpenAsync(browser, lab, new { websocket = lab.BoardWebSocketUrl, execute = "run-code", on_idle = "idle.py" });
        await using var _ = context;

        // The station connects by itself (stationConfig.websocket); the student types the password at the board's prompt.
        await station.WaitForTextAsync("Password: ");
        await student.WaitForTextAsync("Password: ");
        await student.TypeAsync(page, WebLab.Password + "\n");
        await student.WaitForTextAsync("WebREPL connected");
        await Assertions.Expect(student.Locator("#version")).ToHaveTextAsync($"MicroPython {lab.Board.Version}");

        // The student types; the station's board answers; the student sees it.
        await student.TypeAsync(page, "print(6*7)\n");
        await student.WaitForLineAsync("42");
        await station.WaitForLineAsync("42");

        // Execute, string body: a long program (far over the board's input buffer) runs whole.
        var code = new StringBuilder("t = 0\n");
        int expected = 0;
        for (int i = 0; i < 150; i++)
        {
            code.Append("t += ").Append(i).Append("  # a line of an editor's program, long enough to matter\n");
            expected += i;
        }

        code.Append("for k in range(2):\n    print('string body', k, t)\n");
        Assert.True(code.Length > 8000);
        await page.EvaluateAsync("code => window.host.publish('run-code', code)", code.ToString());
        await student.WaitForLineAsync($"string body 1 {expected}", 60000);

        // Execute, file body: the files are written on the board, and main.py runs.
        await page.EvaluateAsync(
            "() => window.host.publish('run-code', { file: { 'main.py': 'import helper\\nprint(\"file body\", helper.VALUE)\\n', 'helper.py': 'VALUE = 6 * 7\\n' } })");
        await student.WaitForLineAsync("file body 42", 60000);
        Assert.Equal("VALUE = 6 * 7\n", await File.ReadAllTextAsync(Path.Combine(lab.Root, "helper.py"), timeout.Token));

        // A run interrupts the one before it: a program that never ends, then another.
        await page.EvaluateAsync("() => window.host.publish('run-code', \"import time\\nprint('looping')\\nwhile True:\\n    time.sleep_ms(10)\\n\")");
        await student.WaitForLineAsync("looping");
        await page.EvaluateAsync("() => window.host.publish('run-code', \"print('second', 'run')\")");
        await student.WaitForLineAsync("second run", 60000);
        await student.WaitForTextAsync("KeyboardInterrupt");

        // Two runs at once: the first is stopped before it starts, the second runs.
        await page.EvaluateAsync("() => { window.host.publish('run-code', \"print('never')\"); window.host.publish('run-code', \"print('third', 'run')\"); }");
        await student.WaitForLineAsync("third run", 60000);

        // Back in the friendly REPL: the student types again.
        await student.TypeAsync(page, "print('typed', 2 * 21)\n");
        await student.WaitForLineAsync("typed 42");
        await Screenshots.TakeAsync(page, "edrys-module.png");

        // The last user leaves the station: the on-idle script runs.
        await page.EvaluateAsync("() => window.host.leave('student')");
        await station.WaitForLineAsync("IDLE RAN", 30000);
    }

    [Fact]
    public async Task Student_PutFileAndGetFile_GoThroughTheStation()
    {
        using var timeout = TestTimeout.Start(120);
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        await File.WriteAllTextAsync(Path.Combine(lab.Root, "notes.txt"), "from the board\n", timeout.Token);
        var (context, page, station, student) = await OpenAsync(browser, lab, new { websocket = lab.BoardWebSocketUrl });
        await using var _ = context;
        await student.WaitForTextAsync("Password: ");
        await student.TypeAsync(page, WebLab.Password + "\n");
        await station.WaitForTextAsync("WebREPL connected");

        byte[] content = [.. Enumerable.Range(0, 3000).Select(i => (byte)i)];
        await student.SetInputFilesAsync("#put-input", new FilePayload { Name = "up.bin", MimeType = "application/octet-stream", Buffer = content });
        await Assertions.Expect(student.Locator("#file-status")).ToHaveTextAsync("Sent up.bin, 3000 bytes", new() { Timeout = 30000 });
        Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(lab.Root, "up.bin"), timeout.Token));

        await student.FillAsync("#get-name", "notes.txt");
        var download = await page.RunAndWaitForDownloadAsync(() => student.ClickAsync("#get-button"), new() { Timeout = 30000 });
        string saved = Path.Combine(Path.GetTempPath(), $"webrepl-edrys-{Guid.NewGuid():N}.txt");
        await download.SaveAsAsync(saved);
        Assert.Equal("from the board\n", await File.ReadAllTextAsync(saved, timeout.Token));
        File.Delete(saved);

        // The file went to the student who asked, not to the whole room.
        var gotFile = await page.EvaluateAsync<JsonElement>("() => window.messages.filter(m => m.subject === 'got_file')");
        var message = Assert.Single(gotFile.EnumerateArray());
        Assert.Equal("Station 1", message.GetProperty("from").GetString());
        Assert.Equal("student", message.GetProperty("user").GetString());
        Assert.Equal(["student"], message.GetProperty("to").EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public async Task Execute_StudentTypesAndPastesMeanwhile_InputHeldUntilTheRunEnds_RunIntact()
    {
        using var timeout = TestTimeout.Start(120);
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        var (context, page, station, student) = await OpenAsync(browser, lab, new { websocket = lab.BoardWebSocketUrl });
        await using var _ = context;
        await student.WaitForTextAsync("Password: ");
        await student.TypeAsync(page, WebLab.Password + "\n");
        await station.WaitForTextAsync("WebREPL connected");

        // Keys typed while a run goes on (in the raw REPL) wait, and reach the friendly REPL after it.
        await page.EvaluateAsync(
            "() => window.host.publish('execute', \"import time\\nprint('run', 'begins')\\nfor i in range(150):\\n    time.sleep_ms(10)\\nprint('run', 'ends')\\n\")");
        await student.WaitForLineAsync("run begins", 30000);
        await student.TypeAsync(page, "print('typed', 6 * 7)\n");
        await student.WaitForLineAsync("typed 42", 30000);
        string text = await student.TerminalTextAsync();
        Assert.True(text.IndexOf("run ends", StringComparison.Ordinal) < text.IndexOf("typed 42", StringComparison.Ordinal), text);
        Assert.DoesNotContain("Error", text, StringComparison.Ordinal);

        // A paste under way when a run arrives (both in one go): the paste ends first, whole, then the run goes
        // through the raw REPL, with none of the paste in its code.
        var paste = new StringBuilder("def pasted():\n    n = 0\n");
        for (int i = 1; i <= 40; i++)
        {
            paste.Append("    n += ").Append(i).Append("  # a pasted line, long enough that the paste takes a while\n");
        }

        paste.Append("    return 'PASTE OK %d' % n\n");
        await page.EvaluateAsync(
            "paste => { window.host.sendAs('student', 'data', paste.replace(/\\n/g, '\\r')); window.host.publish('execute', \"print('EXEC', 'OK', 6 * 7)\"); }",
            paste.ToString());
        await student.WaitForLineAsync("EXEC OK 42", 30000);
        await student.TypeAsync(page, "print(pasted())\n");
        await student.WaitForLineAsync("PASTE OK 820", 30000);
        text = await student.TerminalTextAsync();
        Assert.DoesNotContain("Error", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Run failed", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Settings_AsJsonText_ConfigUnderStationConfig()
    {
        using var timeout = TestTimeout.Start(120);
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        // The module's config (for everyone) names the board; the station's settings name the topic.
        var (context, page, station, student) = await OpenAsync(
            browser, lab, stationConfig: new { execute = "go", password = WebLab.Password }, config: new { websocket = lab.BoardWebSocketUrl, execute = "not-this" }, settingsAsText: true);
        await using var _ = context;

        // stationConfig.password: the station answers the prompt itself, and warns that every role can read it.
        await student.WaitForTextAsync("WebREPL connected");
        await station.WaitForTextAsync("stationConfig.password is visible to every role");
        Assert.DoesNotContain("stationConfig.password is visible", await student.TerminalTextAsync(), StringComparison.Ordinal);
        await page.EvaluateAsync("() => { window.host.publish('not-this', \"print('wrong', 'topic')\"); window.host.publish('go', \"print('right', 'topic')\"); }");
        await student.WaitForLineAsync("right topic", 30000);
        Assert.DoesNotContain("wrong topic", await student.TerminalTextAsync(), StringComparison.Ordinal);
    }
}
