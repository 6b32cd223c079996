using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using WebRepl.Protocol;

namespace WebRepl.Repl;

/// <summary>A file or folder on the board.</summary>
/// <param name="Path">The board path.</param>
/// <param name="IsDirectory">True for a folder.</param>
/// <param name="Size">The size in bytes (0 for a folder).</param>
public sealed record BoardEntry(string Path, bool IsDirectory, long Size)
{
    /// <summary>The last part of the path.</summary>
    public string Name => Path.TrimEnd('/')[(Path.TrimEnd('/').LastIndexOf('/') + 1)..];
}

/// <summary>The size and free space of the board's file system.</summary>
/// <param name="Total">Bytes in all.</param>
/// <param name="Free">Bytes free.</param>
public readonly record struct BoardSpace(long Total, long Free)
{
    /// <summary>Bytes used.</summary>
    public long Used => Total - Free;
}

/// <summary>A file operation failed on the board; the message says which path and why.</summary>
public sealed class BoardFileException : WebReplRemoteException
{
    /// <summary>Creates the exception.</summary>
    public BoardFileException(string message, string path, int? errno = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Path = path;
        Errno = errno;
    }

    /// <inheritdoc/>
    public BoardFileException()
        : this("A board file operation failed.", string.Empty)
    {
    }

    /// <inheritdoc/>
    public BoardFileException(string message)
        : this(message, string.Empty)
    {
    }

    /// <inheritdoc/>
    public BoardFileException(string message, Exception? innerException)
        : this(message, string.Empty, null, innerException)
    {
    }

    /// <summary>The board path concerned.</summary>
    public string Path { get; }

    /// <summary>The board's errno (2 no such file, 17 exists, 20 not a folder, 21 a folder, 39 not empty), when known.</summary>
    public int? Errno { get; }

    /// <summary>True when the path does not exist.</summary>
    public bool IsNotFound => Errno == 2;
}

/// <summary>
/// The board's files, through small Python programs run in the raw REPL (listing, removing, hashing...) and
/// WebREPL's own PUT and GET (contents). Every operation checks its path and turns the board's OSError into
/// a <see cref="BoardFileException"/> that says what is wrong.
/// </summary>
public sealed class BoardFiles
{
    private const int EEXIST = 17;

    private readonly IBoardOperations _board;

    internal BoardFiles(IBoardOperations board) => _board = board;

    /// <summary>The entries of a folder (or the file itself, for a file), sorted by path.</summary>
    /// <exception cref="BoardFileException">The path does not exist.</exception>
    public async Task<IReadOnlyList<BoardEntry>> ListAsync(string path = "", bool recursive = false, CancellationToken cancellationToken = default)
    {
        string code = $$"""
            import os, json
            def _e(q):
             s = os.stat(q)
             d = s[0] & 0x4000
             print(json.dumps([q, 1 if d else 0, 0 if d else s[6]]))
             return d
            def _w(p, r):
             for e in sorted(os.listdir(p if p else '.')):
              q = (p + '/' + e) if p and p != '/' else (p + e)
              if _e(q) and r:
               _w(q, r)
            _p = {{Py(NormalizeFolder(path))}}
            if _p and not os.stat(_p)[0] & 0x4000:
             _e(_p)
            else:
             _w(_p, {{(recursive ? "True" : "False")}})
            """;
        string output = await RunAsync(code, path, cancellationToken).ConfigureAwait(false);
        return ParseListing(output);
    }

    /// <summary>
    /// Reads the listing program's output: one JSON line <c>[path, is_dir, size]</c> per entry. The board is
    /// untrusted: anything else is a <see cref="WebReplProtocolException"/> that names the line, never a JSON or
    /// cast error from deep inside.
    /// </summary>
    /// <exception cref="WebReplProtocolException">A line is not an entry.</exception>
    internal static List<BoardEntry> ParseListing(string output)
    {
        var entries = new List<BoardEntry>();
        foreach (string line in Lines(output))
        {
            BoardEntry? entry = null;
            try
            {
                using var json = JsonDocument.Parse(line);
                var row = json.RootElement;
                if (row.ValueKind == JsonValueKind.Array && row.GetArrayLength() == 3 &&
                    row[0].ValueKind == JsonValueKind.String && row[0].GetString() is { Length: > 0 } name &&
                    row[1].ValueKind == JsonValueKind.Number && row[1].TryGetInt32(out int kind) &&
                    row[2].ValueKind == JsonValueKind.Number && row[2].TryGetInt64(out long size) && size >= 0)
                {
                    entry = new BoardEntry(name, kind != 0, size);
                }
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException)
            {
                // Not JSON, or a string JSON can hold but UTF-16 cannot (a lone surrogate escape such as \ud800).
            }

            entries.Add(entry ?? throw new WebReplProtocolException(
                $"The board's listing has a line that is not [path, is_dir, size], which is not what a MicroPython board prints: {PrintableText.Escape(line.Length > 80 ? line[..80] + "..." : line)}"));
        }

        return entries;
    }

    /// <summary>A path's entry, or null when it does not exist.</summary>
    public async Task<BoardEntry?> StatAsync(string path, CancellationToken cancellationToken = default)
    {
        string code = $$"""
            import os, json
            try:
             s = os.stat({{Py(path)}})
             print(json.dumps([1, s[0] & 0x4000 != 0, s[6]]))
            except OSError as e:
             if e.args[0] != 2:
              raise
             print('[0]')
            """;
        string output = await RunAsync(code, path, cancellationToken).ConfigureAwait(false);
        return Parse("stat", path, () =>
        {
            using var json = JsonDocument.Parse(Lines(output).Single());
            var row = json.RootElement;
            return row[0].GetInt32() == 0 ? null : new BoardEntry(path, row[1].GetBoolean(), row[1].GetBoolean() ? 0 : row[2].GetInt64());
        });
    }

    /// <summary>True when the path exists (file or folder).</summary>
    public async Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default) =>
        await StatAsync(path, cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>
    /// Fetches a file into <paramref name="destination"/> after checking, in the REPL, that it exists and is a
    /// file: a typo gives "no such file" and keeps the session (a board drops the connection on a GET it
    /// cannot open). The size found there lets the GET ask for all its chunks at once (pipelined), and bounds it.
    /// </summary>
    public async Task<long> ReadAsync(string path, Stream destination, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        var entry = await RequireFileAsync(path, cancellationToken).ConfigureAwait(false);
        return await _board.GetFileAsync(path, destination, progress, new WebReplGetOptions { ExpectedSize = entry.Size }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Fetches a file's bytes (checked first, as <see cref="ReadAsync(string, Stream, IProgress{long}, CancellationToken)"/>).</summary>
    public async Task<byte[]> ReadAllBytesAsync(string path, CancellationToken cancellationToken = default)
    {
        var bytes = new MemoryStream();
        await ReadAsync(path, bytes, null, cancellationToken).ConfigureAwait(false);
        return bytes.ToArray();
    }

    /// <summary>Fetches a file into a local file, atomically (checked first).</summary>
    public async Task<long> DownloadAsync(string path, string localPath, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        var entry = await RequireFileAsync(path, cancellationToken).ConfigureAwait(false);
        return await _board.GetFileAsync(path, localPath, progress, new WebReplGetOptions { ExpectedSize = entry.Size }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends bytes as a board file. With <paramref name="verify"/>, the board's SHA-256 of the file is compared
    /// with the local one; a mismatch sends the file once more, and a second mismatch is an error.
    /// </summary>
    /// <returns>How many times the file was sent (1, or 2 after a failed check).</returns>
    public Task<int> WriteAllBytesAsync(string path, ReadOnlyMemory<byte> content, bool verify = true, IProgress<long>? progress = null, CancellationToken cancellationToken = default) =>
        UploadAsync(() => new MemoryStream(content.ToArray(), writable: false), path, verify, progress, cancellationToken);

    /// <summary>Sends a local file (verified as <see cref="WriteAllBytesAsync"/>).</summary>
    /// <returns>How many times the file was sent.</returns>
    public Task<int> UploadAsync(string localPath, string path, bool verify = true, IProgress<long>? progress = null, CancellationToken cancellationToken = default) =>
        UploadAsync(() => new FileStream(localPath, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, useAsync: true), path, verify, progress, cancellationToken);

    /// <summary>Removes a file, or with <paramref name="recursive"/> a folder and all it holds.</summary>
    public Task RemoveAsync(string path, bool recursive = false, CancellationToken cancellationToken = default)
    {
        string code = recursive
            ? $$"""
                import os
                def _rm(p):
                 if os.stat(p)[0] & 0x4000:
                  for e in os.listdir(p):
                   _rm(p.rstrip('/') + '/' + e)
                  os.rmdir(p)
                 else:
                  os.remove(p)
                _rm({{Py(path)}})
                """
            : $$"""
                import os
                if os.stat({{Py(path)}})[0] & 0x4000:
                 raise OSError(21)
                os.remove({{Py(path)}})
                """;
        return RunAsync(code, path, cancellationToken);
    }

    /// <summary>Makes a folder; with <paramref name="parents"/>, also its missing parents, and an existing folder is fine.</summary>
    public Task MakeDirectoryAsync(string path, bool parents = false, CancellationToken cancellationToken = default)
    {
        string code = parents
            ? $$"""
                import os
                _p = {{Py(path)}}
                _q = '/' if _p.startswith('/') else ''
                for _s in _p.split('/'):
                 if not _s:
                  continue
                 _q += _s
                 try:
                  os.mkdir(_q)
                 except OSError as e:
                  if e.args[0] != {{EEXIST}}:
                   raise
                  if not os.stat(_q)[0] & 0x4000:
                   raise OSError(20)
                 _q += '/'
                """
            : $"import os\nos.mkdir({Py(path)})\n";
        return RunAsync(code, path, cancellationToken);
    }

    /// <summary>Removes an empty folder.</summary>
    public Task RemoveDirectoryAsync(string path, CancellationToken cancellationToken = default) =>
        RunAsync($"import os\nif not os.stat({Py(path)})[0] & 0x4000:\n raise OSError(20)\nos.rmdir({Py(path)})\n", path, cancellationToken);

    /// <summary>
    /// Makes an empty file if the path does not exist; an existing file or folder is left as it is (MicroPython has no
    /// utime to change its time, and opening it to append writes nothing).
    /// </summary>
    public Task TouchAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return RunAsync($"import os\ntry:\n os.stat({Py(path)})\nexcept OSError:\n open({Py(path)}, 'ab').close()\n", path, cancellationToken);
    }

    /// <summary>Renames or moves a file or folder.</summary>
    /// <remarks>
    /// The source goes to <c>os.rename</c> relative to the current folder when it is below it: MicroPython's
    /// VfsPosix with a root (the virtual board's file system) builds both absolute paths in one shared buffer,
    /// so with two absolute paths it renames the destination onto itself and fails with ENOENT.
    /// </remarks>
    public Task RenameAsync(string from, string to, CancellationToken cancellationToken = default) =>
        RunAsync($$"""
            import os
            _a = {{Py(from)}}
            _c = os.getcwd().rstrip('/') + '/'
            if _a.startswith(_c) and len(_a) > len(_c):
             _a = _a[len(_c):]
            os.rename(_a, {{Py(to)}})
            """, from, cancellationToken);

    /// <summary>The size and free space of the file system that holds <paramref name="path"/>.</summary>
    public async Task<BoardSpace> GetSpaceAsync(string path = "/", CancellationToken cancellationToken = default)
    {
        string output = await RunAsync($"import os\ns = os.statvfs({Py(path)})\nprint(s[1] * s[2], s[1] * s[4])\n", path, cancellationToken).ConfigureAwait(false);
        return Parse("statvfs", path, () =>
        {
            string[] numbers = output.Trim().Split(' ');
            return new BoardSpace(long.Parse(numbers[0], CultureInfo.InvariantCulture), long.Parse(numbers[1], CultureInfo.InvariantCulture));
        });
    }

    /// <summary>The SHA-256 of a board file, in lower-case hex: hashed on the board when it has hashlib, else fetched and hashed here.</summary>
    public async Task<string> HashAsync(string path, CancellationToken cancellationToken = default)
    {
        var hashes = await HashManyAsync([path], cancellationToken).ConfigureAwait(false);
        return hashes[path] ?? throw NotFound(path);
    }

    /// <summary>SHA-256 of several board files in one go (null for a path that is missing or a folder).</summary>
    public async Task<IReadOnlyDictionary<string, string?>> HashManyAsync(IReadOnlyCollection<string> paths, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (paths.Count == 0)
        {
            return result;
        }

        string list = string.Join(", ", paths.Select(Py));
        string code = $$"""
            import json
            try:
             import hashlib, binascii
             hashlib.sha256
            except (ImportError, AttributeError):
             hashlib = None
            _b = bytearray(1024)
            for _p in [{{list}}]:
             _h = None
             try:
              _f = open(_p, 'rb')
             except OSError:
              _f = None
             if _f and hashlib:
              _s = hashlib.sha256()
              try:
               while True:
                _n = _f.readinto(_b)
                if not _n:
                 break
                _s.update(memoryview(_b)[:_n])
               _h = binascii.hexlify(_s.digest()).decode()
              except OSError:
               _h = None
             elif _f:
              _h = '?'
             if _f:
              _f.close()
             print(json.dumps([_p, _h]))
            """;
        string output = await RunAsync(code, paths.First(), cancellationToken).ConfigureAwait(false);
        var rows = Parse("hash", paths.First(), () => Lines(output).Select(line =>
        {
            using var json = JsonDocument.Parse(line);
            return (Path: json.RootElement[0].GetString()!, Hash: json.RootElement[1].GetString());
        }).ToList());
        foreach (var (path, found) in rows)
        {
            string? hash = found;
            if (hash == "?")
            {
                // No hashlib on this board: fetch and hash here.
                hash = Convert.ToHexStringLower(SHA256.HashData(await ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false)));
            }

            result[path] = hash;
        }

        return result;
    }

    /// <summary>A Python string literal for <paramref name="text"/> (the code is sent as UTF-8).</summary>
    internal static string Py(string text)
    {
        var literal = new StringBuilder("'");
        foreach (char c in text)
        {
            switch (c)
            {
                case '\\':
                    literal.Append(@"\\");
                    break;
                case '\'':
                    literal.Append(@"\'");
                    break;
                case < ' ' or '\x7f':
                    literal.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}");
                    break;
                default:
                    literal.Append(c);
                    break;
            }
        }

        return literal.Append('\'').ToString();
    }

    private static string NormalizeFolder(string path) => path is "." or "./" ? string.Empty : path.Length > 1 ? path.TrimEnd('/') : path;

    private async Task<int> UploadAsync(Func<Stream> open, string path, bool verify, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        WebReplRequest.ValidateFileName(path);
        if (verify)
        {
            // The REPL is in use anyway: check the destination first, since a board drops the session on a PUT it
            // cannot open (a missing folder, or a folder in the file's place).
            await RequireWritableAsync(path, cancellationToken).ConfigureAwait(false);
        }

        string? localHash = null;
        for (int attempt = 1; ; attempt++)
        {
            var source = open();
            await using (source.ConfigureAwait(false))
            {
                if (verify && localHash is null)
                {
                    localHash = Convert.ToHexStringLower(await SHA256.HashDataAsync(source, cancellationToken).ConfigureAwait(false));
                    source.Position = 0;
                }

                try
                {
                    await _board.PutFileAsync(source, path, progress, cancellationToken).ConfigureAwait(false);
                }
                catch (WebReplRemoteException ex)
                {
                    throw new BoardFileException($"Cannot write ':{path}' on the board: its folder probably does not exist (make it with mkdir).", path, 2, ex);
                }
            }

            if (!verify)
            {
                return attempt;
            }

            string boardHash = await HashAsync(path, cancellationToken).ConfigureAwait(false);
            if (string.Equals(boardHash, localHash, StringComparison.Ordinal))
            {
                return attempt;
            }

            if (attempt == 2)
            {
                throw new BoardFileException(
                    $"':{path}' did not arrive intact: its SHA-256 on the board ({boardHash[..12]}...) differs from the local one ({localHash![..12]}...), twice. Check the board's storage (df), then try again.",
                    path);
            }
        }
    }

    /// <summary>Python for the board: <c>_k(p)</c> is 2 for a folder, 1 for a file, 0 for nothing there (needs <c>os</c>).</summary>
    internal const string PathKindPython = "def _k(p):\n try:\n  return 2 if os.stat(p)[0] & 0x4000 else 1\n except OSError:\n  return 0";

    /// <summary>Checks that <paramref name="path"/> can be written: its folder exists and it is not a folder itself.</summary>
    private async Task RequireWritableAsync(string path, CancellationToken cancellationToken)
    {
        int slash = path.LastIndexOf('/');
        string folder = slash < 0 ? string.Empty : slash == 0 ? "/" : path[..slash];
        string code = $$"""
            import os
            {{PathKindPython}}
            print(_k({{Py(path)}}), _k({{Py(folder)}}) if {{Py(folder)}} else 2)
            """;
        string[] kinds = (await RunAsync(code, path, cancellationToken).ConfigureAwait(false)).Split(' ', StringSplitOptions.TrimEntries);
        if (kinds[0] == "2")
        {
            throw new BoardFileException($"Cannot write ':{path}': it is a folder on the board.", path, 21);
        }

        if (kinds[1] == "0")
        {
            throw new BoardFileException($"Cannot write ':{path}': the folder ':{folder}' does not exist on the board (make it with mkdir -p).", path, 2);
        }

        if (kinds[1] == "1")
        {
            throw new BoardFileException($"Cannot write ':{path}': ':{folder}' is a file on the board, not a folder.", path, 20);
        }
    }

    private async Task<BoardEntry> RequireFileAsync(string path, CancellationToken cancellationToken)
    {
        WebReplRequest.ValidateFileName(path);
        var entry = await StatAsync(path, cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            throw NotFound(path);
        }

        if (entry.IsDirectory)
        {
            throw new BoardFileException($"':{path}' is a folder, not a file.", path, 21);
        }

        return entry;
    }

    private async Task<string> RunAsync(string code, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await _board.ExecOperationAsync(code, cancellationToken).ConfigureAwait(false);
        }
        catch (WebReplExecutionException ex) when (ex.OsErrno is int errno)
        {
            throw new BoardFileException(Describe(errno, path), path, errno, ex);
        }
    }

    /// <summary>Reads an answer of the client's own program; one that is not what the program prints is the board's fault, said so.</summary>
    private static T Parse<T>(string what, string path, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (Exception ex) when (ex is JsonException or FormatException or OverflowException or InvalidOperationException or IndexOutOfRangeException or KeyNotFoundException)
        {
            throw new WebReplProtocolException(
                $"The board's answer to the {what} of ':{path}' is not what a MicroPython board prints ({ex.Message}). Is it a MicroPython board, and is the connection trustworthy (wss://)?", ex);
        }
    }

    private static BoardFileException NotFound(string path) => new($"No such file or folder on the board: ':{path}'.", path, 2);

    private static string Describe(int errno, string path) => errno switch
    {
        2 => $"No such file or folder on the board: ':{path}'.",
        13 or 1 => $"The board does not allow this on ':{path}' (permission denied).",
        17 => $"':{path}' already exists on the board.",
        20 => $"':{path}' (or a folder on its way) is not a folder.",
        21 => $"':{path}' is a folder (remove folders with -r, or rmdir).",
        22 => $"The board refused ':{path}' as invalid (moving a folder into itself, or a bad name?).",
        28 => $"The board's file system is full (writing ':{path}'). Free some space (df, rm).",
        39 => $"The folder ':{path}' is not empty (remove it with rm -r).",
        _ => $"The board failed on ':{path}' with OSError {errno}.",
    };

    private static string[] Lines(string output) =>
        output.Split(["\r\n", "\n"], StringSplitOptions.RemoveEmptyEntries);
}
