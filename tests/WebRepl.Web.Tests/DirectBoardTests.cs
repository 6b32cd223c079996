using System.Diagnostics;
using System.Globalization;
using Microsoft.Playwright;
using WebRepl.Web.Tests.Support;

namespace WebRepl.Web.Tests;

/// <summary>
/// The terminal page straight to a board (its WebSocket to the virtual board's <c>WebReplServer</c>, no gateway
/// between: the page is only served by the gateway), and its GET, pipelined, through the gateway and direct.
/// The virtual board answers raw-paste as an ESP8266 does: <c>R\x01</c> and the window size 128 as the raw
/// bytes <c>80 00</c> in a text frame, which is not UTF-8 (a browser drops the connection on it).
/// </summary>
public sealed class DirectBoardTests(BrowserFixture browser)
{
    private static async Task<(IBrowserContext Context, IPage Page)> LoginAsync(BrowserFixture browser, WebLab lab, bool direct)
    {
        var context = await browser.Browser.NewContextAsync(new() { AcceptDownloads = true, ViewportSize = new() { Width = 1200, Height = 720 } });
        var page = await context.NewPageAsync();
        await page.GotoAsync(lab.PageUrl);
        await page.EvaluateAsync("() => window.webrepl.prefilled()");
        await page.FillAsync("#url", direct ? lab.Board.Url : lab.BoardWebSocketUrl);
        await page.ClickAsync("#connect");
        await page.MainFrame.WaitForTextAsync("Password: ");
        await page.MainFrame.TypeAsync(page, WebLab.Password + "\n");
        await page.MainFrame.WaitForTextAsync("WebREPL connected");
        await page.MainFrame.WaitForTextAsync(">>> ");
        return (context, page);
    }

    /// <summary>The file panel lists the board's root after login (through the raw REPL); waits for the row.</summary>
    private static Task WaitForListedAsync(IPage page, string name) =>
        Assertions.Expect(page.Locator($"#file-list tr[data-name='{name}']")).ToBeVisibleAsync(new() { Timeout = 30000 });

    private static async Task<byte[]> DownloadAsync(IPage page, Func<Task> action, CancellationToken cancellationToken)
    {
        var download = await page.RunAndWaitForDownloadAsync(action, new() { Timeout = 60000 });
        string saved = Path.Combine(Path.GetTempPath(), $"webrepl-get-{Guid.NewGuid():N}.bin");
        await download.SaveAsAsync(saved);
        try
        {
            return await File.ReadAllBytesAsync(saved, cancellationToken);
        }
        finally
        {
            File.Delete(saved);
        }
    }

    private static byte[] Pattern(int length, int seed) => [.. Enumerable.Range(0, length).Select(i => (byte)((i * 31) ^ (i >> 8) ^ seed))];

    [Fact]
    public async Task DirectToBoard_AfterLogin_FileListingKeepsTheConnection_TerminalWorks()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        await File.WriteAllTextAsync(Path.Combine(lab.Root, "hello.txt"), "hi\n", timeout.Token);
        var (context, page) = await LoginAsync(browser, lab, direct: true);
        await using var _ = context;

        // The listing runs through the raw REPL right after login: raw-paste's answer would end the connection here.
        await WaitForListedAsync(page, "hello.txt");
        await page.ClickAsync("#list-button");
        await WaitForListedAsync(page, "hello.txt");

        await page.MainFrame.TypeAsync(page, "print(6*7)\n");
        await page.MainFrame.WaitForLineAsync("42");
        Assert.Equal("connected", await page.EvaluateAsync<string>("() => window.webrepl.state()"));
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("Connected");
    }

    [Fact]
    public async Task DirectToBoard_BoardPrintsBytesNotUtf8_DisconnectNamesTheCauseAndTheGateway()
    {
        using var timeout = TestTimeout.Start();
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        await File.WriteAllTextAsync(Path.Combine(lab.Root, "hello.txt"), "hi\n", timeout.Token);
        var (context, page) = await LoginAsync(browser, lab, direct: true);
        await using var _ = context;
        await WaitForListedAsync(page, "hello.txt");

        await page.MainFrame.TypeAsync(page, "import sys; sys.stdout.buffer.write(b'\\xff\\xfe')\n");
        await page.MainFrame.WaitForTextAsync("not valid UTF-8");
        string text = await page.MainFrame.TerminalTextAsync();
        Assert.Contains("through the WebREPL gateway", text, StringComparison.Ordinal);
        await Assertions.Expect(page.Locator("#status")).ToContainTextAsync("Disconnected: the connection dropped: the board printed bytes that are not valid UTF-8");
        Assert.Equal("disconnected", await page.EvaluateAsync<string>("() => window.webrepl.state()"));
    }

    /// <summary>
    /// A 1 MB file (not a whole number of chunks) and one of exactly 64 KiB, by the Get field and by the file panel,
    /// byte-exact; the session goes on after each (a surplus request would have started a broken record).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task GetFile_Pipelined_SameBytes_SessionGoesOn(bool direct)
    {
        using var timeout = TestTimeout.Start(120);
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        byte[] big = Pattern((1 << 20) + 100, 5);
        byte[] whole = Pattern(65536, 9);
        await File.WriteAllBytesAsync(Path.Combine(lab.Root, "big.bin"), big, timeout.Token);
        await File.WriteAllBytesAsync(Path.Combine(lab.Root, "whole.bin"), whole, timeout.Token);
        var (context, page) = await LoginAsync(browser, lab, direct);
        await using var _ = context;
        await WaitForListedAsync(page, "whole.bin");

        await page.FillAsync("#get-name", "/big.bin");
        var clock = Stopwatch.StartNew();
        Assert.Equal(big, await DownloadAsync(page, () => page.ClickAsync("#get-button"), timeout.Token));
        TestContext.Current.SendDiagnosticMessage(string.Create(CultureInfo.InvariantCulture, $"GET of {big.Length} bytes ({(direct ? "direct" : "gateway")}), stat included: {clock.ElapsedMilliseconds} ms"));
        await Assertions.Expect(page.Locator("#get-status")).ToHaveTextAsync($"Got /big.bin, {big.Length} bytes");

        Assert.Equal(whole, await DownloadAsync(page, () => page.Locator("#file-list tr[data-name='whole.bin'] button.download").ClickAsync(), timeout.Token));
        await Assertions.Expect(page.Locator("#get-status")).ToHaveTextAsync($"Got /whole.bin, {whole.Length} bytes");

        await page.MainFrame.TypeAsync(page, "print(6*7)\n");
        await page.MainFrame.WaitForLineAsync("42");
        await page.FillAsync("#get-name", "/whole.bin");
        Assert.Equal(whole, await DownloadAsync(page, () => page.ClickAsync("#get-button"), timeout.Token));
        await Assertions.Expect(page.Locator("#version")).ToHaveTextAsync($"MicroPython {lab.Board.Version}");
        Assert.Equal("connected", await page.EvaluateAsync<string>("() => window.webrepl.state()"));
    }

    /// <summary>
    /// The panel listed 10,000 bytes; the file changes before its download while a program runs (the page cannot
    /// ask the board for the size then, and goes by the listing). It grew: the whole file comes.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task GetFile_FileGrewSinceListed_WholeFile_SessionGoesOn(bool direct)
    {
        using var timeout = TestTimeout.Start(120);
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        string path = Path.Combine(lab.Root, "log.bin");
        await File.WriteAllBytesAsync(path, Pattern(10000, 1), timeout.Token);
        var (context, page) = await LoginAsync(browser, lab, direct);
        await using var _ = context;
        await WaitForListedAsync(page, "log.bin");

        byte[] grown = Pattern(30000, 2);
        await File.WriteAllBytesAsync(path, grown, timeout.Token);
        await page.MainFrame.TypeAsync(page, "x = input()\n"); // a program waits: not at the prompt
        await page.MainFrame.WaitForTextAsync("x = input()");
        Assert.Equal(grown, await DownloadAsync(page, () => page.Locator("#file-list tr[data-name='log.bin'] button.download").ClickAsync(), timeout.Token));
        await page.MainFrame.TypeAsync(page, "done\nprint(x, 6*7)\n");
        await page.MainFrame.WaitForLineAsync("done 42");
    }

    /// <summary>It shrank by far more than two chunks: the page says so, and closes the connection (the board would read the surplus requests as a record).</summary>
    [Fact]
    public async Task GetFile_FileShrankSinceListed_ClearErrorAndConnectionClosed()
    {
        using var timeout = TestTimeout.Start(120);
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        string path = Path.Combine(lab.Root, "log.bin");
        await File.WriteAllBytesAsync(path, Pattern(10000, 1), timeout.Token);
        var (context, page) = await LoginAsync(browser, lab, direct: true);
        await using var _ = context;
        await WaitForListedAsync(page, "log.bin");

        await File.WriteAllBytesAsync(path, Pattern(100, 2), timeout.Token);
        await page.MainFrame.TypeAsync(page, "x = input()\n");
        await page.MainFrame.WaitForTextAsync("x = input()");
        await page.Locator("#file-list tr[data-name='log.bin'] button.download").ClickAsync();
        await Assertions.Expect(page.Locator("#get-status")).ToContainTextAsync("got smaller while it was read", new() { Timeout = 30000 });
        await Assertions.Expect(page.Locator("#get-status")).ToContainTextAsync("connect again");
        await Assertions.Expect(page.Locator("#status")).ToContainTextAsync("Disconnected");

        // A new connection works. The terminal still shows the first login's prompt: wait for the second one, or
        // the password is typed while the new connection is still opening and only its tail reaches the board.
        await page.ClickAsync("#connect");
        await page.MainFrame.WaitForTextCountAsync("Password: ", 2);
        await page.MainFrame.TypeAsync(page, WebLab.Password + "\n");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("Connected", new() { Timeout = 30000 });
    }

    /// <summary>
    /// It shrank by one chunk: the one surplus request is completed as a GET_VER record; the data is the file's, and
    /// the session goes on (WebReplServer reads records as the firmware does: op at byte 2, signature not checked).
    /// </summary>
    [Fact]
    public async Task GetFile_FileShrankByOneChunk_RightData_SessionGoesOn()
    {
        using var timeout = TestTimeout.Start(120);
        await using var lab = await WebLab.StartAsync(cancellationToken: timeout.Token);
        string path = Path.Combine(lab.Root, "log.bin");
        await File.WriteAllBytesAsync(path, Pattern(10000, 1), timeout.Token); // 40 data chunks
        var (context, page) = await LoginAsync(browser, lab, direct: true);
        await using var _ = context;
        await WaitForListedAsync(page, "log.bin");

        byte[] shrunk = Pattern(9800, 3); // 39 data chunks
        await File.WriteAllBytesAsync(path, shrunk, timeout.Token);
        await page.MainFrame.TypeAsync(page, "x = input()\n");
        await page.MainFrame.WaitForTextAsync("x = input()");
        Assert.Equal(shrunk, await DownloadAsync(page, () => page.Locator("#file-list tr[data-name='log.bin'] button.download").ClickAsync(), timeout.Token));
        await page.MainFrame.TypeAsync(page, "done\nprint(x, 6*7)\n");
        await page.MainFrame.WaitForLineAsync("done 42");

        // Binary requests still line up: another GET.
        await page.FillAsync("#get-name", "/log.bin");
        Assert.Equal(shrunk, await DownloadAsync(page, () => page.ClickAsync("#get-button"), timeout.Token));
    }
}
