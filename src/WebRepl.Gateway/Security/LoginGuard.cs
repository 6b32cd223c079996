using System.Net;

namespace WebRepl.Gateway.Security;

/// <summary>
/// Counts wrong passwords (a joiner's line the gateway refused, or the board's <c>Access denied</c> to the client
/// that opened it) two ways, so that guessing through the gateway stays slow however many connections or
/// addresses a guesser uses:
/// <list type="bullet">
/// <item>By client: its address, an IPv6 address by its /64 (one host's share of a network); every loopback
/// address counts as one, told apart only by the page's <c>Origin</c>. A client with too many within the window is
/// refused at every board for a while.</item>
/// <item>By board: too many from all clients together lock the board for a while, except for clients (as above)
/// that have logged in to it before; their sessions, and sessions already open, go on.</item>
/// </list>
/// Loopback: every program on this machine shares one address, so a local program that guesses locks out the
/// local programs (programs send no <c>Origin</c>) for the lockout, and a page that guesses only its own origin.
/// That is kept on purpose: a local program could as well hold the board itself (a board takes one connection)
/// or guess at it directly, so exempting loopback would protect nobody from it, while every page on the machine
/// (and every client behind a reverse proxy on the same machine) would guess freely.
/// </summary>
internal sealed class LoginGuard(int limit, TimeSpan window, TimeSpan lockout)
{
    /// <summary>Clients (and boards) remembered at most; the oldest are forgotten first.</summary>
    private const int MaxEntries = 10_000;

    /// <summary>Clients remembered per board as having logged in to it.</summary>
    private const int MaxKnownPerBoard = 1024;

    /// <summary>The wrong passwords at one board, from all clients, within the window that lock the board: this many times the per-client limit.</summary>
    public const int BoardFactor = 3;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _clients = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Entry> _boards = new(StringComparer.Ordinal);

    /// <summary>What a wrong password locked.</summary>
    [Flags]
    public enum Locked
    {
        None = 0,
        Client = 1,
        Board = 2,
    }

    /// <summary>
    /// The key wrong passwords are counted by: the IPv4 address, an IPv6 address's /64, or <c>loopback</c> with
    /// the page's origin (<c>loopback</c> alone for programs).
    /// </summary>
    public static string ClientKey(IPAddress? address, string? origin)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return origin is null ? "loopback" : "loopback " + origin;
        }

        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            byte[] bytes = address.GetAddressBytes();
            Array.Clear(bytes, 8, 8);
            return new IPAddress(bytes) + "/64";
        }

        return address.ToString();
    }

    /// <summary>The key of an address alone (the per-address limit on clients logging in): as <see cref="ClientKey"/> without the origin.</summary>
    public static string AddressKey(IPAddress? address) => ClientKey(address, null);

    /// <summary>True while the client is refused at <paramref name="board"/>; <paramref name="reason"/> says why and for how long.</summary>
    public bool IsLockedOut(IPAddress? address, string? origin, string board, out string reason)
    {
        reason = string.Empty;
        if (limit <= 0)
        {
            return false;
        }

        string key = ClientKey(address, origin);
        long now = Environment.TickCount64;
        lock (_gate)
        {
            if (_clients.TryGetValue(key, out var client) && client.LockedUntil > now)
            {
                reason = $"too many wrong passwords from {Shown(address, key)}: try again in {Minutes(client.LockedUntil - now)} min";
                return true;
            }

            if (_boards.TryGetValue(board, out var entry) && entry.LockedUntil > now && !entry.Known.Contains(key))
            {
                reason = $"too many wrong passwords at this board from many addresses: it takes clients that logged in to it before only, for {Minutes(entry.LockedUntil - now)} min";
                return true;
            }
        }

        return false;
    }

    /// <summary>Counts a wrong password from a client at a board; says what that locked.</summary>
    public Locked RecordFailure(IPAddress? address, string? origin, string board)
    {
        if (limit <= 0)
        {
            return Locked.None;
        }

        long now = Environment.TickCount64;
        var locked = Locked.None;
        lock (_gate)
        {
            if (Count(_clients, ClientKey(address, origin), now, limit))
            {
                locked |= Locked.Client;
            }

            if (Count(_boards, board, now, limit * BoardFactor))
            {
                locked |= Locked.Board;
            }
        }

        return locked;
    }

    /// <summary>Remembers that a client logged in to a board: a board locked by others' guesses still takes it.</summary>
    public void RecordSuccess(IPAddress? address, string? origin, string board)
    {
        if (limit <= 0)
        {
            return;
        }

        long now = Environment.TickCount64;
        lock (_gate)
        {
            var entry = Find(_boards, board, now);
            if (entry.Known.Count >= MaxKnownPerBoard)
            {
                entry.Known.Clear(); // a rare reset; those clients are only asked to wait like anyone else
            }

            entry.Known.Add(ClientKey(address, origin));
        }
    }

    private static string Shown(IPAddress? address, string key) =>
        address is null || key.EndsWith("/64", StringComparison.Ordinal) ? key
        : key.StartsWith("loopback ", StringComparison.Ordinal) ? $"{address} (origin {key["loopback ".Length..]})"
        : address.ToString();

    private static long Minutes(long milliseconds) => (long)Math.Ceiling(milliseconds / 60_000.0);

    private bool Count(Dictionary<string, Entry> entries, string key, long now, int max)
    {
        var entry = Find(entries, key, now);
        entry.Failures.Enqueue(now);
        entry.Last = now;
        while (entry.Failures.Count > 0 && now - entry.Failures.Peek() > (long)window.TotalMilliseconds)
        {
            entry.Failures.Dequeue();
        }

        if (entry.Failures.Count >= max)
        {
            entry.Failures.Clear();
            entry.LockedUntil = now + (long)lockout.TotalMilliseconds;
            return true;
        }

        return false;
    }

    private Entry Find(Dictionary<string, Entry> entries, string key, long now)
    {
        if (!entries.TryGetValue(key, out var entry))
        {
            if (entries.Count >= MaxEntries)
            {
                Forget(entries, now);
            }

            entry = new Entry();
            entries[key] = entry;
        }

        return entry;
    }

    /// <summary>Drops entries that are neither locked nor recently failing (nor remember logins), then, if still full, the oldest.</summary>
    private void Forget(Dictionary<string, Entry> entries, long now)
    {
        foreach (var (key, entry) in entries.ToArray())
        {
            if (entry.LockedUntil <= now && now - entry.Last > (long)window.TotalMilliseconds && entry.Known.Count == 0)
            {
                entries.Remove(key);
            }
        }

        // Then the oldest that are not locked out (a lockout is never forgotten early).
        foreach (var (key, _) in entries.Where(e => e.Value.LockedUntil <= now).OrderBy(e => e.Value.Last)
            .Take(Math.Max(0, entries.Count - (MaxEntries / 2))).ToArray())
        {
            entries.Remove(key);
        }
    }

    private sealed class Entry
    {
        public Queue<long> Failures { get; } = new();

        public HashSet<string> Known { get; } = new(StringComparer.Ordinal);

        public long LockedUntil { get; set; }

        public long Last { get; set; }
    }
}
