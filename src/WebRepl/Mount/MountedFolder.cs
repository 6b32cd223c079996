using System.Globalization;
using System.Text;
using WebRepl.Repl;

namespace WebRepl.Mount;

/// <summary>
/// This computer's side of a mount: answers the board's requests from a local folder. Every path from the board is
/// checked before it is used: it must be <c>/</c> or <c>/a/b</c> with no empty, <c>.</c> or <c>..</c> part, no
/// <c>\</c> and no control character, and (unless unsafe links are allowed) no symbolic link on the way may lead
/// outside the folder. Replies fit the board's input window; sizes, offsets and lengths are bounded. Holds no open
/// files between requests, so a board that resets or goes away leaves nothing behind. Not thread-safe.
/// </summary>
public sealed class MountedFolder
{
    // Linux errno numbers, as MicroPython's OSError carries them.
    internal const int ENOENT = 2, EIO = 5, EACCES = 13, EEXIST = 17, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, EFBIG = 27, ENOTEMPTY = 39;

    private const int MaxLinkHops = 40;
    private readonly string _root;
    private readonly WebReplMountOptions _options;

    /// <summary>Serves <paramref name="localFolder"/> (which must exist) with <paramref name="options"/>.</summary>
    public MountedFolder(string localFolder, WebReplMountOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(localFolder);
        _options = options ?? WebReplMountOptions.Default;
        var root = new DirectoryInfo(Path.GetFullPath(localFolder));
        if (!root.Exists)
        {
            throw new DirectoryNotFoundException($"No such local folder: '{localFolder}'.");
        }

        // The folder itself may be a link (the user's choice); what lies below is judged against where it leads.
        _root = Path.TrimEndingDirectorySeparator(root.LinkTarget is null ? root.FullName : root.ResolveLinkTarget(true)!.FullName);
    }

    /// <summary>The folder served, as resolved.</summary>
    public string Root => _root;

    /// <summary>Requests answered so far.</summary>
    public long Requests { get; private set; }

    /// <summary>Called with a short description when a request is refused because its path would leave the folder.</summary>
    public Action<string>? Refused { get; init; }

    /// <summary>The reply to <paramref name="request"/> (a malformed one is null): always a reply, an error at worst.</summary>
    public byte[] Handle(MountRequest? request)
    {
        Requests++;
        if (request is null)
        {
            return MountWire.Error(EINVAL);
        }

        try
        {
            return request.Operation switch
            {
                'S' when request.Fields.Count == 1 => Stat(Local(request.Fields[0])),
                'L' when request.Fields.Count == 2 => List(Local(request.Fields[0]), Number(request.Fields[1], int.MaxValue)),
                'O' when request.Fields.Count == 2 => Open(Local(request.Fields[0]), request.Fields[1]),
                'R' when request.Fields.Count == 2 => Read(Local(request.Fields[0]), Number(request.Fields[1], _options.MaxFileSize)),
                'W' when request.Fields.Count == 3 => Write(Local(request.Fields[0]), Number(request.Fields[1], _options.MaxFileSize), request.Fields[2]),
                'D' when request.Fields.Count == 1 => Remove(Local(request.Fields[0])),
                'X' when request.Fields.Count == 1 => RemoveDirectory(Local(request.Fields[0])),
                'M' when request.Fields.Count == 1 => MakeDirectory(Local(request.Fields[0])),
                'N' when request.Fields.Count == 2 => Rename(Local(request.Fields[0]), Local(request.Fields[1])),
                _ => MountWire.Error(EINVAL),
            };
        }
        catch (MountErrorException ex)
        {
            return MountWire.Error(ex.Errno);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            return MountWire.Error(Errno(ex));
        }
    }

    /// <summary>The payload room of one reply, in bytes of hex, after <paramref name="used"/> bytes of other fields.</summary>
    private int HexRoom(int used) => Math.Max(0, (_options.ReplyWindow - MountWire.ReplyHeaderLength - used) / 2 * 2);

    private static byte[] Stat(LocalPath path)
    {
        if (path.IsRoot || Directory.Exists(path.Full))
        {
            return MountWire.Reply(0, "16384", "0", Seconds(Directory.GetLastWriteTimeUtc(path.Full)));
        }

        var file = new FileInfo(path.Full);
        if (!file.Exists)
        {
            return MountWire.Error(ENOENT);
        }

        return MountWire.Reply(0, "32768", Text(file.Length), Seconds(file.LastWriteTimeUtc));
    }

    private byte[] List(LocalPath path, long start)
    {
        if (!Directory.Exists(path.Full))
        {
            return MountWire.Error(File.Exists(path.Full) ? ENOTDIR : ENOENT);
        }

        // Sorted, so that the board's next page (from its count of entries) continues where this one stopped.
        var entries = new DirectoryInfo(path.Full).EnumerateFileSystemInfos().Select(e => e.Name).Order(StringComparer.Ordinal).Skip((int)start);
        var fields = new List<string> { "0" };
        int room = _options.ReplyWindow - MountWire.ReplyHeaderLength - 4;
        long index = start;
        bool more = false;
        foreach (string name in entries)
        {
            string field = Entry(path.Full, name);
            if (field.Length + 1 > _options.ReplyWindow - MountWire.ReplyHeaderLength - 4)
            {
                // A name too long for any reply: left out (said once), not sent in pieces the board cannot join.
                Refused?.Invoke($"'{name}' is left out of listings: its name is too long for one reply");
                index++;
                continue;
            }

            if (field.Length + 1 > room)
            {
                more = true;
                break;
            }

            fields.Add(field);
            room -= field.Length + 1;
            index++;
        }

        fields[0] = more ? "1" : "0";
        return MountWire.Reply(0, [.. fields]);
    }

    private static string Entry(string folder, string name)
    {
        string full = Path.Combine(folder, name);
        bool isDirectory = Directory.Exists(full);
        long size = isDirectory ? 0 : new FileInfo(full) is { Exists: true } f ? f.Length : 0;
        return string.Create(CultureInfo.InvariantCulture, $"{MountWire.Hex(Encoding.UTF8.GetBytes(name))}:{(isDirectory ? 16384 : 32768)}:{size}");
    }

    private byte[] Open(LocalPath path, string mode)
    {
        if (mode.Length is 0 or > 3 || mode.Count(c => c is 'r' or 'w' or 'a' or 'x') != 1 || mode.Any(c => c is not ('r' or 'w' or 'a' or 'x' or '+')))
        {
            return MountWire.Error(EINVAL);
        }

        if (path.IsRoot || Directory.Exists(path.Full))
        {
            return MountWire.Error(EISDIR);
        }

        bool exists = File.Exists(path.Full);
        switch (mode[0])
        {
            case 'r' when !exists:
                return MountWire.Error(ENOENT);
            case 'x' when exists:
                return MountWire.Error(EEXIST);
            case 'w' or 'a' or 'x':
                RequireParent(path);
                using (new FileStream(path.Full, mode[0] == 'w' ? FileMode.Create : FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite))
                {
                }

                break;
        }

        long size = new FileInfo(path.Full).Length;
        string sizeText = Text(size);
        if (mode[0] != 'r' && !mode.Contains('+', StringComparison.Ordinal))
        {
            return MountWire.Reply(0, sizeText);
        }

        // A file opened for reading comes with its first bytes: a small module costs one round trip, not two.
        return MountWire.Reply(0, sizeText, ReadHex(path.Full, 0, HexRoom(4 + sizeText.Length)));
    }

    private byte[] Read(LocalPath path, long offset)
    {
        if (!File.Exists(path.Full))
        {
            return MountWire.Error(Directory.Exists(path.Full) ? EISDIR : ENOENT);
        }

        return MountWire.Reply(0, ReadHex(path.Full, offset, HexRoom(2)));
    }

    private static string ReadHex(string file, long offset, int hexRoom)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (offset >= stream.Length)
        {
            return string.Empty;
        }

        stream.Position = offset;
        byte[] buffer = new byte[hexRoom / 2];
        int read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        return MountWire.Hex(buffer.AsSpan(0, read));
    }

    private byte[] Write(LocalPath path, long offset, string hex)
    {
        byte[] data = MountWire.FromHex(hex) ?? throw new MountErrorException(EINVAL);
        if (offset + data.Length > _options.MaxFileSize)
        {
            return MountWire.Error(EFBIG);
        }

        if (!File.Exists(path.Full))
        {
            return MountWire.Error(Directory.Exists(path.Full) ? EISDIR : ENOENT);
        }

        using var stream = new FileStream(path.Full, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        stream.Position = offset;
        stream.Write(data);
        return MountWire.Reply(0);
    }

    private static byte[] Remove(LocalPath path)
    {
        if (Directory.Exists(path.Full) || path.IsRoot)
        {
            return MountWire.Error(EISDIR);
        }

        if (!File.Exists(path.Full))
        {
            return MountWire.Error(ENOENT);
        }

        File.Delete(path.Full);
        return MountWire.Reply(0);
    }

    private static byte[] RemoveDirectory(LocalPath path)
    {
        if (path.IsRoot)
        {
            return MountWire.Error(EACCES);
        }

        if (!Directory.Exists(path.Full))
        {
            return MountWire.Error(File.Exists(path.Full) ? ENOTDIR : ENOENT);
        }

        if (Directory.EnumerateFileSystemEntries(path.Full).Any())
        {
            return MountWire.Error(ENOTEMPTY);
        }

        Directory.Delete(path.Full);
        return MountWire.Reply(0);
    }

    private static byte[] MakeDirectory(LocalPath path)
    {
        if (path.IsRoot || Directory.Exists(path.Full) || File.Exists(path.Full))
        {
            return MountWire.Error(EEXIST);
        }

        RequireParent(path);
        Directory.CreateDirectory(path.Full);
        return MountWire.Reply(0);
    }

    private static byte[] Rename(LocalPath from, LocalPath to)
    {
        if (from.IsRoot || to.IsRoot)
        {
            return MountWire.Error(EACCES);
        }

        RequireParent(to);
        if (Directory.Exists(from.Full))
        {
            if (File.Exists(to.Full) || Directory.Exists(to.Full))
            {
                return MountWire.Error(EEXIST);
            }

            Directory.Move(from.Full, to.Full);
            return MountWire.Reply(0);
        }

        if (!File.Exists(from.Full))
        {
            return MountWire.Error(ENOENT);
        }

        if (Directory.Exists(to.Full))
        {
            return MountWire.Error(EISDIR);
        }

        // As os.rename on a board: an existing file is replaced.
        File.Move(from.Full, to.Full, overwrite: true);
        return MountWire.Reply(0);
    }

    private static void RequireParent(LocalPath path)
    {
        string? parent = Path.GetDirectoryName(path.Full);
        if (parent is null || !Directory.Exists(parent))
        {
            throw new MountErrorException(parent is not null && File.Exists(parent) ? ENOTDIR : ENOENT);
        }
    }

    /// <summary>The local path of a board path (hex of UTF-8), or an error for a path that is not allowed.</summary>
    private LocalPath Local(string hex)
    {
        byte[] raw = MountWire.FromHex(hex) ?? throw new MountErrorException(EINVAL);
        if (raw.Length > _options.MaxPathBytes)
        {
            throw new MountErrorException(EINVAL);
        }

        string path;
        try
        {
            path = new UTF8Encoding(false, true).GetString(raw);
        }
        catch (DecoderFallbackException)
        {
            throw new MountErrorException(EINVAL);
        }

        if (path == "/")
        {
            return new LocalPath(_root, true);
        }

        if (!path.StartsWith('/') || LocalPaths.Problem(path[1..]) is { } problem)
        {
            Refused?.Invoke($"refused the board's path '{PrintableText.Escape(path)}': not a plain path below the mounted folder");
            throw new MountErrorException(EACCES);
        }

        string full = Path.Combine(_root, path[1..].Replace('/', Path.DirectorySeparatorChar));
        if (!_options.UnsafeLinks && LinkEscape(full) is { } target)
        {
            Refused?.Invoke($"refused the board's path '{PrintableText.Escape(path)}': a symbolic link leads outside the mounted folder (to '{PrintableText.Escape(target)}'); --unsafe-links allows it");
            throw new MountErrorException(EACCES);
        }

        return new LocalPath(full, false);
    }

    /// <summary>Where a link on the way to <paramref name="full"/> leads outside the root; null when none does.</summary>
    private string? LinkEscape(string full)
    {
        string current = _root;
        var pending = new Queue<string>(Path.GetRelativePath(_root, full).Split(Path.DirectorySeparatorChar));
        int hops = 0;
        while (pending.TryDequeue(out string? part))
        {
            string next = Path.Combine(current, part);
            var info = new FileInfo(next);
            if (info.LinkTarget is not { } link)
            {
                current = next;
                continue;
            }

            if (++hops > MaxLinkHops)
            {
                return link;
            }

            // The link's own target, made absolute and normalised, then walked afresh (a link through a link).
            string target = Path.GetFullPath(Path.IsPathRooted(link) ? link : Path.Combine(current, link));
            if (!IsInside(target))
            {
                return target;
            }

            var rest = Path.GetRelativePath(_root, target).Split(Path.DirectorySeparatorChar).Where(p => p != ".").Concat(pending).ToList();
            pending = new Queue<string>(rest);
            current = _root;
        }

        return null;
    }

    private bool IsInside(string path) =>
        path == _root || path.StartsWith(_root + Path.DirectorySeparatorChar, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    private static long Number(string field, long max)
    {
        if (field.Length is 0 or > 19 || !field.All(char.IsAsciiDigit) || !long.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value > max)
        {
            throw new MountErrorException(EINVAL);
        }

        return value;
    }

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Seconds(DateTime utc) => Text(Math.Max(0, new DateTimeOffset(utc).ToUnixTimeSeconds()));

    private static int Errno(Exception ex) => ex switch
    {
        FileNotFoundException or DirectoryNotFoundException => ENOENT,
        UnauthorizedAccessException or System.Security.SecurityException => EACCES,
        // On Unix, .NET carries the system's errno in HResult for the errors it has no type for (EEXIST, ENOSPC...).
        IOException io when !OperatingSystem.IsWindows() && io.HResult is > 0 and < 200 => io.HResult,
        _ => EIO,
    };

    private readonly record struct LocalPath(string Full, bool IsRoot);

    private sealed class MountErrorException(int errno) : Exception
    {
        public int Errno { get; } = errno;
    }
}
