using System.Globalization;
using System.Text;
using Microsoft.Playwright;
using WebRepl.Web.Tests.Support;

namespace WebRepl.Web.Tests;

/// <summary>The terminal page (<c>/</c>) in Chromium, served by the gateway, against a virtual board behind it.</summary>
public sealed class TerminalPageTests(BrowserFixture browser)
{
    private static async Task<(IBrowserContext Context, IPage Page)> OpenAsync(BrowserFixture browser, string url, bool ignoreHttpsErrors = false)
    {
        var context = await browser.Browser.NewContextAsync(new() { AcceptDownloads = true, IgnoreHTTPSErrors = ignoreHttpsErrors, ViewportSize = new() { Width = 1200, Height = 720 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(url);
        return (context, page);
    }

    /// <summary>Opens the page, connects to the gateway's board, types the password; returns at the prompt.</summary>
    private static async Task<(IBrowserContext Context, IPage Page)> LoginAsync(BrowserFixture browser, WebLab lab)
    {
        var (context, page) = await OpenAsync(browser, lab.PageUrl);
        await Assertions.Expect(page.Locator("#url")).ToHaveValueAsync(lab.BoardWebSocketUrl);
        await page.ClickAsync("#connect");
        await page.MainFrame.WaitForTextAsync("Password: ");
        await page.MainFrame.TypeAsync(page, WebLab.Password + "\n");
        await page.MainFrame.WaitForTextAsync("WebREPL connected");
        await page.MainFrame.WaitForTextAsync(">>> ");
        return (context, page);
    }

    [Fact]
    public async Task Connect_PasswordTypedInTerminal_PrintShows42AndVersion()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        var (context, page) = await LoginAsync(browser, lab);
        await using var _ = context;

        await page.MainFrame.TypeAsync(page, "print(6*7)\n");
        await page.MainFrame.WaitForLineAsync("42");

        await Assertions.Expect(page.Locator("#version")).ToHaveTextAsync($"MicroPython {lab.Board.Version}");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("Connected");
        Assert.Equal("#" + lab.BoardWebSocketUrl, new Uri(page.Url).Fragment);
    }

    [Fact]
    public async Task Hash_KeepsTheUrlAcrossReloads_AndDisconnectShowsReason()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        var (context, page) = await LoginAsync(browser, lab);
        await using var _ = context;

        await page.ClickAsync("#connect"); // Disconnect
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("Disconnected");
        await page.MainFrame.WaitForTextAsync("Disconnected");

        await page.ReloadAsync();
        await page.EvaluateAsync("() => window.webrepl.prefilled()");
        Assert.Equal(lab.BoardWebSocketUrl, await page.InputValueAsync("#url"));

        // Reconnect: the board asks for the password again.
        await page.ClickAsync("#connect");
        await page.MainFrame.WaitForTextAsync("Password: ");
        await page.MainFrame.TypeAsync(page, WebLab.Password + "\n");
        await page.MainFrame.WaitForTextAsync("WebREPL connected");
    }

    [Fact]
    public async Task Paste_2KBProgram_RunsWhole()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        var (context, page) = await LoginAsync(browser, lab);
        await using var _ = context;

        // Every line counts: a line lost anywhere changes the sum or breaks the indentation.
        var program = new StringBuilder("def run():\n    s = 0\n");
        int lines = 30, expected = 0;
        for (int i = 1; i <= lines; i++)
        {
            program.Append(CultureInfo.InvariantCulture, $"    s += {i}  # line {i,2} of a pasted program, padded so that the whole is over 2 KB\n");
            expected += i;
        }

        program.Append("    return s\n\ntotal = run()\nfor i in range(3):\n    if i == 2:\n        print('PASTE', 'OK', total * 1000 + i)\n");
        Assert.True(program.Length > 2048, $"the program is {program.Length} bytes");

        await page.MainFrame.PasteAsync(program.ToString());
        await page.MainFrame.WaitForLineAsync($"PASTE OK {(expected * 1000) + 2}", 60000);
        Assert.DoesNotContain("Error", await page.MainFrame.TerminalTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SendFiles_ToAFolder_ReadBackOnTheBoard_AndListed()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        var (context, page) = await LoginAsync(browser, lab);
        await using var _ = context;

        byte[] first = Encoding.UTF8.GetBytes("print('hello from a sent file')\n");
        byte[] second = [.. Enumerable.Range(0, 5000).Select(i => (byte)(i * 7))];
        await page.FillAsync("#put-folder", "/lib/sent");
        await page.SetInputFilesAsync("#put-input", new[]
        {
            new FilePayload { Name = "hello.py", MimeType = "text/x-python", Buffer = first },
            new FilePayload { Name = "data.bin", MimeType = "application/octet-stream", Buffer = second },
        });
        await Assertions.Expect(page.Locator("#put-status")).ToHaveTextAsync("Sent 2 files to /lib/sent", new() { Timeout = 30000 });

        Assert.Equal(first, await File.ReadAllBytesAsync(Path.Combine(lab.Root, "lib", "sent", "hello.py"), timeout.Token));
        Assert.Equal(second, await File.ReadAllBytesAsync(Path.Combine(lab.Root, "lib", "sent", "data.bin"), timeout.Token));

        // Read back on the board itself.
        await page.MainFrame.TypeAsync(page, "exec(open('/lib/sent/hello.py').read())\n");
        await page.MainFrame.WaitForLineAsync("hello from a sent file");
        await page.MainFrame.TypeAsync(page, "import os; print('size', os.stat('/lib/sent/data.bin')[6])\n");
        await page.MainFrame.WaitForLineAsync("size 5000");

        // The file panel lists the folder (through the REPL) and deletes.
        await page.FillAsync("#list-folder", "/lib/sent");
        await page.ClickAsync("#list-button");
        await Assertions.Expect(page.Locator("#file-list tr[data-name='hello.py']")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#file-list tr[data-name='data.bin'] td").Nth(1)).ToHaveTextAsync("4.9 KB");
        page.Dialog += (_, dialog) => _ = dialog.AcceptAsync(); // the page asks before deleting
        await page.Locator("#file-list tr[data-name='data.bin'] button.delete").ClickAsync();
        await Assertions.Expect(page.Locator("#file-list tr[data-name='data.bin']")).ToHaveCountAsync(0);
        Assert.False(File.Exists(Path.Combine(lab.Root, "lib", "sent", "data.bin")));

        // The terminal still works after the panel's raw REPL operations.
        await page.MainFrame.TypeAsync(page, "print(7*6)\n");
        await page.MainFrame.WaitForLineAsync("42");
        await Screenshots.TakeAsync(page, "terminal-page.png");
    }

    [Fact]
    public async Task DropFiles_OnTheDropZone_HighlightedWhileDragged_ReadBackOnTheBoard()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        var (context, page) = await LoginAsync(browser, lab);
        await using var _ = context;

        byte[] first = Encoding.UTF8.GetBytes("print('dropped', 6 * 7)\n");
        byte[] second = [.. Enumerable.Range(0, 3000).Select(i => (byte)((i * 13) ^ 0x5a))];
        await page.FillAsync("#put-folder", "/drop");
        // What the browser hands the page when files are dragged in from the desktop: a DataTransfer holding them.
        var files = await page.EvaluateHandleAsync(
            @"([first, second]) => {
                const data = new DataTransfer();
                data.items.add(new File([new Uint8Array(first)], 'dropped.py', { type: 'text/x-python' }));
                data.items.add(new File([new Uint8Array(second)], 'dropped.bin', { type: 'application/octet-stream' }));
                return data;
            }",
            new[] { first.Select(b => (int)b).ToArray(), second.Select(b => (int)b).ToArray() });
        var zone = page.Locator("#drop-zone");

        // The zone lights up while files are dragged over it, and goes back when they leave the page.
        await zone.DispatchEventAsync("dragenter", new { dataTransfer = files });
        await zone.DispatchEventAsync("dragover", new { dataTransfer = files });
        await Assertions.Expect(zone).ToHaveClassAsync("over");
        await page.DispatchEventAsync("body", "dragleave", new { dataTransfer = files });
        await Assertions.Expect(zone).Not.ToHaveClassAsync("over");

        // Text dragged within the page is not a file drop: no highlight, and the page leaves it to the browser.
        var text = await page.EvaluateHandleAsync("() => { const d = new DataTransfer(); d.setData('text/plain', 'x'); return d; }");
        await zone.DispatchEventAsync("dragover", new { dataTransfer = text });
        await Assertions.Expect(zone).Not.ToHaveClassAsync("over");

        await zone.DispatchEventAsync("dragenter", new { dataTransfer = files });
        await zone.DispatchEventAsync("dragover", new { dataTransfer = files });
        await Assertions.Expect(zone).ToHaveClassAsync("over");
        await zone.DispatchEventAsync("drop", new { dataTransfer = files });
        await Assertions.Expect(zone).Not.ToHaveClassAsync("over");
        await Assertions.Expect(page.Locator("#put-status")).ToHaveTextAsync("Sent 2 files to /drop", new() { Timeout = 30000 });

        Assert.Equal(first, await File.ReadAllBytesAsync(Path.Combine(lab.Root, "drop", "dropped.py"), timeout.Token));
        Assert.Equal(second, await File.ReadAllBytesAsync(Path.Combine(lab.Root, "drop", "dropped.bin"), timeout.Token));
        await page.MainFrame.TypeAsync(page, "exec(open('/drop/dropped.py').read())\n");
        await page.MainFrame.WaitForLineAsync("dropped 42");

        // A file dropped anywhere on the page (here, on the terminal) is sent too.
        var third = await page.EvaluateHandleAsync("() => { const d = new DataTransfer(); d.items.add(new File(['on the terminal\\n'], 'third.txt')); return d; }");
        await page.Locator("#terminal").DispatchEventAsync("dragover", new { dataTransfer = third });
        await Assertions.Expect(zone).ToHaveClassAsync("over");
        await page.Locator("#terminal").DispatchEventAsync("drop", new { dataTransfer = third });
        await Assertions.Expect(page.Locator("#put-status")).ToHaveTextAsync("Sent /drop/third.txt, 16 bytes", new() { Timeout = 30000 });
        Assert.Equal("on the terminal\n", await File.ReadAllTextAsync(Path.Combine(lab.Root, "drop", "third.txt"), timeout.Token));
        await Assertions.Expect(zone).Not.ToHaveClassAsync("over");
    }

    [Fact]
    public async Task GatewayBoardNamedLab_UrlPrefilledFromApiBoards_Connects()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(boardName: "lab", cancellationToken: timeout.Token);
        Assert.EndsWith("/boards/lab", lab.BoardWebSocketUrl, StringComparison.Ordinal);
        var (context, page) = await LoginAsync(browser, lab); // checks the field, connects, logs in
        await using var _ = context;

        await page.MainFrame.TypeAsync(page, "print(6*7)\n");
        await page.MainFrame.WaitForLineAsync("42");
        Assert.Equal("#" + lab.BoardWebSocketUrl, new Uri(page.Url).Fragment);
    }

    [Fact]
    public async Task GatewayWithoutNamedBoards_FieldEmptyWithExampleAndHint_HashStillWins()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(boardName: null, cancellationToken: timeout.Token);
        var (context, page) = await OpenAsync(browser, lab.PageUrl);
        await using var _ = context;

        await page.EvaluateAsync("() => window.webrepl.prefilled()");
        var url = page.Locator("#url");
        await Assertions.Expect(url).ToHaveValueAsync("");
        await Assertions.Expect(url).ToHaveAttributeAsync("placeholder", "ws://192.168.4.1:8266");
        await page.MainFrame.WaitForTextAsync("Type the board's address");

        // Connect with nothing typed: the hint again, no connection attempt.
        await page.ClickAsync("#connect");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("Disconnected");
        await page.MainFrame.WaitForTextCountAsync("Type the board's address", 2);

        // The gateway's forwarding URL, typed in, works.
        await url.FillAsync(lab.BoardWebSocketUrl);
        await page.ClickAsync("#connect");
        await page.MainFrame.WaitForTextAsync("Password: ");
        await page.MainFrame.TypeAsync(page, WebLab.Password + "\n");
        await page.MainFrame.WaitForTextAsync("WebREPL connected");

        // A URL in the hash is offered as it is.
        await page.GotoAsync(lab.PageUrl + "#ws://10.0.0.7:8266");
        await page.ReloadAsync();
        await page.EvaluateAsync("() => window.webrepl.prefilled()");
        Assert.Equal("ws://10.0.0.7:8266", await url.InputValueAsync());
    }

    [Fact]
    public async Task SendFile_NameLongerThan63Bytes_RefusedBeforeSending()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        var (context, page) = await LoginAsync(browser, lab);
        await using var _ = context;

        string name = new string('é', 30) + ".py"; // 63 bytes of UTF-8 alone; with the folder, 68: too long
        await page.FillAsync("#put-folder", "/lib");
        await page.SetInputFilesAsync("#put-input", new FilePayload { Name = name, MimeType = "text/plain", Buffer = [1, 2, 3] });
        await Assertions.Expect(page.Locator("#put-status")).ToContainTextAsync("at most 63");
        Assert.False(Directory.Exists(Path.Combine(lab.Root, "lib")) && Directory.EnumerateFiles(Path.Combine(lab.Root, "lib")).Any());
    }

    [Fact]
    public async Task GetFile_SavedThroughTheBrowser_SameBytes()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        byte[] content = [.. Enumerable.Range(0, 70000).Select(i => (byte)((i * 31) ^ (i >> 8)))];
        await File.WriteAllBytesAsync(Path.Combine(lab.Root, "blob.bin"), content, timeout.Token);
        var (context, page) = await LoginAsync(browser, lab);
        await using var _ = context;

        await page.FillAsync("#get-name", "/blob.bin");
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("#get-button"), new() { Timeout = 60000 });
        Assert.Equal("blob.bin", download.SuggestedFilename);
        string saved = Path.Combine(Path.GetTempPath(), $"webrepl-get-{Guid.NewGuid():N}.bin");
        await download.SaveAsAsync(saved);
        Assert.Equal(content, await File.ReadAllBytesAsync(saved, timeout.Token));
        File.Delete(saved);
        await Assertions.Expect(page.Locator("#get-status")).ToHaveTextAsync("Got /blob.bin, 70000 bytes");

        // A missing file is reported, and the session survives.
        await page.FillAsync("#get-name", "/nope.txt");
        await page.ClickAsync("#get-button");
        await Assertions.Expect(page.Locator("#get-status")).ToHaveTextAsync("The board has no file /nope.txt.");
        await page.MainFrame.TypeAsync(page, "print(6*7)\n");
        await page.MainFrame.WaitForLineAsync("42");
    }

    [Fact]
    public async Task BoardPrintsInvalidUtf8_PageStaysConnected()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        var (context, page) = await LoginAsync(browser, lab);
        await using var _ = context;

        await page.MainFrame.TypeAsync(page, "import sys; sys.stdout.buffer.write(b'\\xff\\xfe\\xc3'); print('|after')\n");
        await page.MainFrame.WaitForTextAsync("|after");
        // A character split across two writes (two frames) arrives whole.
        await page.MainFrame.TypeAsync(page, "_ = sys.stdout.buffer.write(b'\\xe2\\x82'); _ = sys.stdout.buffer.write(b'\\xac'); print('<euro')\n");
        await page.MainFrame.WaitForTextAsync("€<euro");

        await page.MainFrame.TypeAsync(page, "print(6*7)\n");
        await page.MainFrame.WaitForLineAsync("42");
        Assert.Equal("connected", await page.EvaluateAsync<string>("() => window.webrepl.state()"));
    }

    [Fact]
    public async Task HttpsPage_WsUrl_ExplainsTheProblemAndTheFix()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(tls: true, cancellationToken: timeout.Token);
        var (context, page) = await OpenAsync(browser, lab.PageUrl, ignoreHttpsErrors: true);
        await using var _ = context;
        Assert.StartsWith("https://", page.Url, StringComparison.Ordinal);
        await page.EvaluateAsync("() => window.webrepl.prefilled()");
        Assert.StartsWith("wss://", await page.InputValueAsync("#url"), StringComparison.Ordinal);

        await page.FillAsync("#url", "ws://127.0.0.1:8266");
        await page.ClickAsync("#connect");
        var warning = page.Locator("#warning");
        await Assertions.Expect(warning).ToBeVisibleAsync();
        await Assertions.Expect(warning).ToContainTextAsync("HTTPS");
        await Assertions.Expect(warning).ToContainTextAsync("wss://");
        await page.MainFrame.WaitForTextAsync("wss://GATEWAY/ws://127.0.0.1:8266");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("Disconnected");
    }
}
