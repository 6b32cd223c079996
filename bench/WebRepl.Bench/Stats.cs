using System.Diagnostics;
using System.Globalization;

namespace WebRepl.Bench;

/// <summary>Order statistics over a set of samples (nearest-rank percentiles: every figure is a measured sample).</summary>
internal sealed class Stats
{
    private readonly double[] _sorted;

    public Stats(IEnumerable<double> samples)
    {
        _sorted = [.. samples];
        Array.Sort(_sorted);
    }

    public int Count => _sorted.Length;

    public double Median => Percentile(50);

    public double Min => _sorted.Length == 0 ? double.NaN : _sorted[0];

    public double Max => _sorted.Length == 0 ? double.NaN : _sorted[^1];

    /// <summary>The nearest-rank percentile: the smallest sample with at least p% of the samples at or below it.</summary>
    public double Percentile(double p)
    {
        if (_sorted.Length == 0)
        {
            return double.NaN;
        }

        int rank = (int)Math.Ceiling(p / 100.0 * _sorted.Length);
        return _sorted[Math.Clamp(rank - 1, 0, _sorted.Length - 1)];
    }

    /// <summary>How many samples lie at or above <paramref name="threshold"/>.</summary>
    public int CountAtLeast(double threshold) => _sorted.Length - LowerBound(threshold);

    private int LowerBound(double value)
    {
        int lo = 0;
        int hi = _sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) / 2;
            if (_sorted[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }
}

/// <summary>Formatting helpers for the report.</summary>
internal static class Fmt
{
    public static double Milliseconds(long startTimestamp, long endTimestamp) =>
        (endTimestamp - startTimestamp) * 1000.0 / Stopwatch.Frequency;

    /// <summary>Milliseconds with precision that suits their size: 0.061, 1.23, 44.1, 1234.</summary>
    public static string Ms(double ms) => double.IsNaN(ms) ? "–" : ms switch
    {
        < 1 => ms.ToString("0.000", CultureInfo.InvariantCulture),
        < 10 => ms.ToString("0.00", CultureInfo.InvariantCulture),
        < 100 => ms.ToString("0.0", CultureInfo.InvariantCulture),
        _ => ms.ToString("0", CultureInfo.InvariantCulture),
    };

    /// <summary>A rate in MB/s (10^6 bytes per second), or in KB/s when below 1 MB/s.</summary>
    public static string Rate(double bytesPerSecond) => double.IsNaN(bytesPerSecond) ? "–" : bytesPerSecond switch
    {
        >= 1e6 => (bytesPerSecond / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + " MB/s",
        >= 1e4 => (bytesPerSecond / 1e3).ToString("0", CultureInfo.InvariantCulture) + " KB/s",
        _ => (bytesPerSecond / 1e3).ToString("0.0", CultureInfo.InvariantCulture) + " KB/s",
    };

    /// <summary>A size: 1 MiB, 64 KiB, 700 B.</summary>
    public static string Size(long bytes) => bytes switch
    {
        >= 1 << 20 when bytes % (1 << 20) == 0 => $"{bytes >> 20} MiB",
        >= 1 << 10 when bytes % (1 << 10) == 0 => $"{bytes >> 10} KiB",
        _ => $"{bytes} B",
    };

    public static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
