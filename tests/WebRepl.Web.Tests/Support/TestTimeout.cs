namespace WebRepl.Web.Tests.Support;

/// <summary>Every test runs under one of these: a hang fails the test instead of the run.</summary>
internal static class TestTimeout
{
    public static CancellationTokenSource Start(int seconds = 90)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(seconds));
        return cts;
    }
}
