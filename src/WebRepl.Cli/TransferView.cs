using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace WebRepl.Cli;

/// <summary>One file to send or fetch.</summary>
/// <param name="label">What the user sees: <c>main.py -> :main.py</c>.</param>
/// <param name="size">The size when known (puts), else null (a GET learns it at the end).</param>
/// <remarks>A class, not a record: items are told apart by identity (two may have the same label and size).</remarks>
internal sealed class TransferItem(string label, long? size)
{
    public string Label { get; } = label;

    public long? Size { get; } = size;

    /// <summary>Said after the label once the transfer is done: " (verified)".</summary>
    public string DoneSuffix { get; set; } = string.Empty;
}

/// <summary>
/// Shows transfers: a live progress display (bytes, rate, time left) on stderr when it is a terminal, plain
/// lines when it is not, nothing with --quiet. Standard output stays free for results.
/// </summary>
internal static class TransferView
{
    private static readonly SynchronousProgress NoProgress = new(_ => { });

    public static async Task RunAsync(CliContext context, bool quiet, IReadOnlyList<TransferItem> items, Func<TransferItem, IProgress<long>, CancellationToken, Task<long>> transfer, CancellationToken cancellationToken)
    {
        if (quiet)
        {
            foreach (var item in items)
            {
                await transfer(item, NoProgress, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        if (!context.ErrorIsTerminal)
        {
            foreach (var item in items)
            {
                var watch = Stopwatch.StartNew();
                long bytes = await transfer(item, NoProgress, cancellationToken).ConfigureAwait(false);
                await context.Error.WriteLineAsync(Describe(item.Label + item.DoneSuffix, bytes, watch.Elapsed)).ConfigureAwait(false);
            }

            return;
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(context.Error) });
        await console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(
                new TaskDescriptionColumn(),
                new ProgressBarColumn(),
                new PercentageColumn(),
                new DownloadedColumn(),
                new TransferSpeedColumn(),
                new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                foreach (var item in items)
                {
                    var task = progress.AddTask(Markup.Escape(PrintableText.Escape(item.Label)), maxValue: Math.Max(1, item.Size ?? 1));
                    task.IsIndeterminate = item.Size is null;
                    var reporter = new SynchronousProgress(value =>
                    {
                        if (item.Size is null && value > task.MaxValue)
                        {
                            task.MaxValue = value;
                        }

                        task.Value = value;
                    });
                    long bytes = await transfer(item, reporter, cancellationToken).ConfigureAwait(false);
                    task.IsIndeterminate = false;
                    task.MaxValue = Math.Max(1, bytes);
                    task.Value = task.MaxValue;
                    task.Description = Markup.Escape(item.Label + item.DoneSuffix);
                    task.StopTask();
                }
            }).ConfigureAwait(false);
    }

    public static string Describe(string label, long bytes, TimeSpan elapsed)
    {
        double seconds = Math.Max(elapsed.TotalSeconds, 1e-6);
        return string.Create(CultureInfo.InvariantCulture, $"{PrintableText.Escape(label)}  {bytes:N0} bytes in {elapsed.TotalSeconds:0.00} s ({bytes / seconds / 1024:0.0} KiB/s)");
    }

    /// <summary>Reports on the calling thread: <see cref="Progress{T}"/> would post, and arrive after the end.</summary>
    private sealed class SynchronousProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
