using System.Text.Json;

namespace WebRepl.Cli;

/// <summary>A remembered board: its name, its target (HOST[:PORT] or a URL) and, if the user chose to store it, its password.</summary>
internal sealed record NamedBoard(string Name, string Target, string? Password);

/// <summary>
/// The named boards of <c>webrepl boards</c>, in <c>$XDG_CONFIG_HOME/webrepl/boards.json</c> (<c>~/.config</c> by default):
/// the folder made with mode 0700, the file written with mode 0600 and atomically (a temporary file renamed over it), so
/// that a crash or a full disk never leaves half a file. A file that holds a password is refused when others can read
/// it, as ssh refuses a private key: the message says how to fix it.
/// </summary>
/// <remarks>
/// The format: <c>{"boards": {"NAME": {"target": "HOST:PORT", "password": "..."}}}</c> (password optional). Read with
/// JsonDocument and written with Utf8JsonWriter: the native (AOT) build has no reflection-based serializer.
/// </remarks>
internal sealed class BoardsConfig
{
    public const string FolderName = "webrepl";
    public const string FileName = "boards.json";

    /// <summary>Far more than any list of boards; a larger file is not ours.</summary>
    private const int MaxFileBytes = 1024 * 1024;

    private const UnixFileMode FileMode600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode FolderMode700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OthersMask = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private readonly SortedDictionary<string, NamedBoard> _boards;

    private BoardsConfig(string path, SortedDictionary<string, NamedBoard> boards)
    {
        Path = path;
        _boards = boards;
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>The boards, by name.</summary>
    public IReadOnlyCollection<NamedBoard> Boards => _boards.Values;

    /// <summary>
    /// The file's path: <c>$XDG_CONFIG_HOME/webrepl/boards.json</c>, else <c>$HOME/.config/webrepl/boards.json</c>
    /// (on Windows <c>%APPDATA%\webrepl\boards.json</c>). XDG says a relative XDG_CONFIG_HOME is to be ignored.
    /// </summary>
    /// <exception cref="CliException">None of those is set.</exception>
    public static string DefaultPath(Func<string, string?> environment) =>
        FindPath(environment) ?? throw new CliException("Cannot find the configuration folder for named boards: set HOME or XDG_CONFIG_HOME.", ExitCodes.LocalError);

    /// <summary>As <see cref="DefaultPath"/>; null when neither XDG_CONFIG_HOME nor HOME (APPDATA) is set.</summary>
    public static string? FindPath(Func<string, string?> environment)
    {
        string? config = environment("XDG_CONFIG_HOME");
        if (string.IsNullOrEmpty(config) || !System.IO.Path.IsPathFullyQualified(config))
        {
            config = OperatingSystem.IsWindows() ? environment("APPDATA") : null;
            string? home = environment("HOME");
            if (config is null && !string.IsNullOrEmpty(home))
            {
                config = System.IO.Path.Combine(home, ".config");
            }
        }

        return string.IsNullOrEmpty(config) ? null : System.IO.Path.Combine(config, FolderName, FileName);
    }

    /// <summary>
    /// A name is a letter then letters, digits, '-' or '_' (at most 32): never a host (no '.' or ':'), an address or a
    /// URL, so that <c>-t</c> can tell them apart.
    /// </summary>
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= 32 } && char.IsAsciiLetter(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    /// <summary>The board of that name, or null.</summary>
    public NamedBoard? Find(string name) => _boards.GetValueOrDefault(name);

    /// <summary>Adds or replaces a board (saved by <see cref="Save"/>).</summary>
    public void Set(NamedBoard board) => _boards[board.Name] = board;

    /// <summary>Removes a board; false when there is none of that name.</summary>
    public bool Remove(string name) => _boards.Remove(name);

    /// <summary>
    /// Reads the file; a missing file is an empty list. A file that others can read and that holds a password is refused.
    /// </summary>
    /// <exception cref="CliException">The file cannot be read, is not a boards file, or holds a password others can read.</exception>
    public static BoardsConfig Load(string path)
    {
        var boards = new SortedDictionary<string, NamedBoard>(StringComparer.Ordinal);
        byte[] bytes;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (stream.Length > MaxFileBytes)
            {
                throw new CliException($"'{path}' is larger than {MaxFileBytes / 1024} KB: it is not a boards file. Move it away.", ExitCodes.LocalError);
            }

            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return new BoardsConfig(path, boards);
        }

        try
        {
            using var json = JsonDocument.Parse(bytes);
            if (json.RootElement.ValueKind != JsonValueKind.Object ||
                !json.RootElement.TryGetProperty("boards", out var list) || list.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("it has no \"boards\" object");
            }

            foreach (var entry in list.EnumerateObject())
            {
                boards[entry.Name] = ReadBoard(entry);
            }
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            throw new CliException($"'{path}' is not a valid boards file ({ex.Message}). Fix it, or remove it and add the boards again.", ExitCodes.LocalError);
        }

        var config = new BoardsConfig(path, boards);
        config.CheckPrivate();
        return config;
    }

    private static NamedBoard ReadBoard(JsonProperty entry)
    {
        if (!IsValidName(entry.Name))
        {
            throw new FormatException($"'{PrintableText.Escape(entry.Name)}' is not a board name");
        }

        var value = entry.Value;
        if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty("target", out var target) || target.ValueKind != JsonValueKind.String)
        {
            throw new FormatException($"the board '{entry.Name}' has no \"target\" string");
        }

        string? password = null;
        if (value.TryGetProperty("password", out var stored) && stored.ValueKind != JsonValueKind.Null)
        {
            password = stored.ValueKind == JsonValueKind.String ? stored.GetString() : throw new FormatException($"the board '{entry.Name}' has a \"password\" that is not a string");
        }

        return new NamedBoard(entry.Name, target.GetString()!, password);
    }

    /// <summary>A password in a file that the group or others can read is refused (they may have read it already).</summary>
    private void CheckPrivate()
    {
        if (OperatingSystem.IsWindows() || !_boards.Values.Any(b => b.Password is not null))
        {
            return;
        }

        var mode = File.GetUnixFileMode(Path);
        if ((mode & OthersMask) != 0)
        {
            throw new CliException(
                $"'{Path}' holds passwords but other users of this computer can read it (mode {Octal(mode)}): not used. " +
                $"Make it private with 'chmod 600 {Path}' (and consider changing those passwords).",
                ExitCodes.LocalError);
        }
    }

    /// <summary>
    /// Writes the file atomically: a new file (mode 0600 from its creation, so that no one can open it meanwhile) in the
    /// same folder, flushed to disk, then renamed over the old one. The folder is made with mode 0700 if missing.
    /// </summary>
    public void Save()
    {
        string folder = System.IO.Path.GetDirectoryName(Path)!;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
        }
        else
        {
            Directory.CreateDirectory(folder, FolderMode700);
        }

        string temporary = System.IO.Path.Combine(folder, $".{FileName}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = FileMode600;
            }

            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(Serialize());
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, Path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary); // nothing there after the rename; removes what a failed write left
        }
    }

    private byte[] Serialize()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("boards");
            foreach (var board in _boards.Values)
            {
                writer.WriteStartObject(board.Name);
                writer.WriteString("target", board.Target);
                if (board.Password is not null)
                {
                    writer.WriteString("password", board.Password);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return [.. buffer.WrittenSpan, .. "\n"u8];
    }

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode & 0x1ff, 8).PadLeft(3, '0');
}
