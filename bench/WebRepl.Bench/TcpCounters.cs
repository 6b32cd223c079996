namespace WebRepl.Bench;

/// <summary>
/// The kernel's system-wide TCP counters that explain ACK timing (Linux <c>/proc/net/netstat</c> and
/// <c>/proc/net/snmp</c>): how many ACKs went out by the delayed-ACK timer, how many tail loss probes fired
/// (a probe sends data Nagle held back when no ACK came within about 2 ms), retransmissions. System-wide:
/// meaningful on a machine where the benchmark is the only TCP traffic.
/// </summary>
internal readonly record struct TcpCounters(long DelayedAcks, long LossProbes, long Retransmits)
{
    public static bool IsAvailable => File.Exists("/proc/net/netstat") && File.Exists("/proc/net/snmp");

    public static TcpCounters operator -(TcpCounters a, TcpCounters b) =>
        new(a.DelayedAcks - b.DelayedAcks, a.LossProbes - b.LossProbes, a.Retransmits - b.Retransmits);

    public static TcpCounters Read()
    {
        if (!IsAvailable)
        {
            return default;
        }

        try
        {
            var ext = ReadTable("/proc/net/netstat", "TcpExt:");
            var tcp = ReadTable("/proc/net/snmp", "Tcp:");
            return new TcpCounters(
                ext.GetValueOrDefault("DelayedACKs"),
                ext.GetValueOrDefault("TCPLossProbes"),
                tcp.GetValueOrDefault("RetransSegs"));
        }
        catch (IOException)
        {
            return default;
        }
    }

    /// <summary>Reads a "Prefix: names" line followed by a "Prefix: values" line.</summary>
    private static Dictionary<string, long> ReadTable(string path, string prefix)
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        string[] lines = File.ReadAllLines(path);
        for (int i = 0; i + 1 < lines.Length; i++)
        {
            if (lines[i].StartsWith(prefix, StringComparison.Ordinal) && lines[i + 1].StartsWith(prefix, StringComparison.Ordinal))
            {
                string[] names = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                string[] values = lines[i + 1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                for (int k = 1; k < Math.Min(names.Length, values.Length); k++)
                {
                    if (long.TryParse(values[k], System.Globalization.CultureInfo.InvariantCulture, out long v))
                    {
                        result[names[k]] = v;
                    }
                }

                break;
            }
        }

        return result;
    }
}

/// <summary>
/// CPU time from <c>/proc/stat</c>: on a virtual machine, "steal" is time the hypervisor gave this machine's
/// CPUs to someone else; it shows up as millisecond stalls in latency tails.
/// </summary>
internal readonly record struct CpuTimes(long Busy, long Idle, long Steal)
{
    public static CpuTimes Read()
    {
        try
        {
            string? line = File.Exists("/proc/stat") ? File.ReadLines("/proc/stat").FirstOrDefault() : null;
            if (line is null || !line.StartsWith("cpu ", StringComparison.Ordinal))
            {
                return default;
            }

            long[] f = [.. line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(s => long.Parse(s, System.Globalization.CultureInfo.InvariantCulture))];
            // user nice system idle iowait irq softirq steal ...
            long idle = f[3] + f[4];
            long steal = f.Length > 7 ? f[7] : 0;
            long busy = f[0] + f[1] + f[2] + f[5] + f[6];
            return new CpuTimes(busy, idle, steal);
        }
        catch (Exception ex) when (ex is IOException or FormatException)
        {
            return default;
        }
    }

    /// <summary>Steal as a share of all CPU time between two readings, or NaN when unknown.</summary>
    public static double StealShare(CpuTimes start, CpuTimes end)
    {
        long total = (end.Busy - start.Busy) + (end.Idle - start.Idle) + (end.Steal - start.Steal);
        return total <= 0 ? double.NaN : (double)(end.Steal - start.Steal) / total;
    }
}
