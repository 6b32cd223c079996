using Microsoft.Playwright;

namespace WebRepl.Web.Tests.Support;

/// <summary>Screenshots for the README: taken when WEBREPL_SCREENSHOTS names a folder (docs/ when refreshing them).</summary>
internal static class Screenshots
{
    public static async Task TakeAsync(IPage page, string name)
    {
        string? folder = Environment.GetEnvironmentVariable("WEBREPL_SCREENSHOTS");
        if (string.IsNullOrEmpty(folder))
        {
            return;
        }

        Directory.CreateDirectory(folder);
        await page.ScreenshotAsync(new() { Path = Path.Combine(folder, name) });
    }
}
