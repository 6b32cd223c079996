using System.Net;

namespace WebRepl.Gateway.Security;

/// <summary>
/// Counts wrong passwords by client address (a joiner's line the gateway refused, or the board's
/// <c>Access denied</c> to the client that opened it). An address with too many within the window is refused
/// for a while, at every board: guessing a password through the gateway, even over many connections at once,
/// stays slow. Loopback clients count too (a page on this machine could guess as fast as any).
/// </summary>
internal sealed class LoginGuard(int limit, TimeSpan window, TimeSpan lockout)
{
    /// <summary>Addresses remembered at most; the oldest are forgotten first.</summary>
    private const int MaxAddresses = 10_000;

    private readonly Lock _gate = new();
    private readonly Dictionary<IPAddress, Entry> _entries = [];

    /// <summary>True while <paramref name="address"/> is refused; <paramref name="remaining"/> says for how long.</summary>
    public bool IsLockedOut(IPAddress? address, out TimeSpan remaining)
    {
        remaining = TimeSpan.Zero;
        if (limit <= 0 || address is null)
        {
            return false;
        }

        long now = Environment.TickCount64;
        lock (_gate)
        {
            if (_entries.TryGetValue(Normalize(address), out var entry) && entry.LockedUntil > now)
            {
                remaining = TimeSpan.FromMilliseconds(entry.LockedUntil - now);
                return true;
            }
        }

        return false;
    }

    /// <summary>Counts a wrong password from <paramref name="address"/>; true when that locks the address out.</summary>
    public bool RecordFailure(IPAddress? address)
    {
        if (limit <= 0 || address is null)
        {
            return false;
        }

        long now = Environment.TickCount64;
        lock (_gate)
        {
            address = Normalize(address);
            if (!_entries.TryGetValue(address, out var entry))
            {
                if (_entries.Count >= MaxAddresses)
                {
                    Forget(now);
                }

                entry = new Entry();
                _entries[address] = entry;
            }

            entry.Failures.Enqueue(now);
            entry.Last = now;
            while (entry.Failures.Count > 0 && now - entry.Failures.Peek() > (long)window.TotalMilliseconds)
            {
                entry.Failures.Dequeue();
            }

            if (entry.Failures.Count >= limit)
            {
                entry.Failures.Clear();
                entry.LockedUntil = now + (long)lockout.TotalMilliseconds;
                return true;
            }

            return false;
        }
    }

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>Drops addresses that are neither locked nor recently failing, then, if still full, the oldest.</summary>
    private void Forget(long now)
    {
        foreach (var (address, entry) in _entries.ToArray())
        {
            if (entry.LockedUntil <= now && now - entry.Last > (long)window.TotalMilliseconds)
            {
                _entries.Remove(address);
            }
        }

        // Then the oldest that are not locked out (a lockout is never forgotten early).
        foreach (var (address, _) in _entries.Where(e => e.Value.LockedUntil <= now).OrderBy(e => e.Value.Last)
            .Take(Math.Max(0, _entries.Count - (MaxAddresses / 2))).ToArray())
        {
            _entries.Remove(address);
        }
    }

    private sealed class Entry
    {
        public Queue<long> Failures { get; } = new();

        public long LockedUntil { get; set; }

        public long Last { get; set; }
    }
}
