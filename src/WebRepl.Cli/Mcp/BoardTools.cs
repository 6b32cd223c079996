using System.Globalization;
using System.Text;
using ModelContextProtocol.Protocol;
using WebRepl.Repl;

namespace WebRepl.Cli.Mcp;

/// <summary>The tools <c>webrepl mcp</c> offers: run code, manage files, reset, and describe the board.</summary>
internal sealed class BoardTools(BoardSession session, Func<string, string> scrub)
{
    /// <summary>Output kept from one run, in bytes: the first part and the last part, with a note between.</summary>
    public const int OutputLimit = 20_000;

    /// <summary>The largest file read_file returns (an agent's context is small; webrepl get fetches bigger files).</summary>
    public const int ReadLimit = 256 * 1024;

    private const double DefaultTimeout = 30;
    private const double MaxTimeout = 3600;

    private static readonly ToolParameter Code = new("code", "string", "Python code to run on the board (several lines are fine).", Required: true);
    private static readonly ToolParameter Timeout = new("timeout_seconds", "number",
        $"Stop the program (Ctrl-C on the board) after this many seconds. Default {DefaultTimeout}, at most {MaxTimeout}.");

    public IReadOnlyList<McpTool> Create() =>
    [
        new("exec", "Run Python code",
            "Run Python code on the MicroPython board and return what it printed. A Python exception comes back as an error result: " +
            "the output printed before it, then the traceback. A program still running after timeout_seconds is interrupted (Ctrl-C) and reported as such. " +
            $"Output beyond {OutputLimit} bytes is cut in the middle, with a note of how much was left out. Variables persist between calls until a reset.",
            new ToolAnnotations { ReadOnlyHint = false, DestructiveHint = true, IdempotentHint = false, OpenWorldHint = false },
            [Code, Timeout],
            (args, ct) => ExecAsync(args.RequiredString("code"), Seconds(args), ct)),

        new("eval", "Evaluate a Python expression",
            "Evaluate one Python expression on the board and return its repr(), e.g. 'len(os.listdir())' or 'machine.freq()'. " +
            "For statements (imports, assignments, loops) use exec.",
            new ToolAnnotations { ReadOnlyHint = false, DestructiveHint = false, IdempotentHint = false, OpenWorldHint = false },
            [new("code", "string", "A Python expression.", Required: true), Timeout],
            (args, ct) => EvalAsync(args.RequiredString("code"), Seconds(args), ct)),

        new("run_file", "Run a local Python file on the board",
            "Read a Python file from this computer (path relative to the server's working folder) and run it on the board, as exec does; " +
            "the file is not copied to the board (use write_file for that). To run a file already on the board, exec \"exec(open('/main.py').read())\".",
            new ToolAnnotations { ReadOnlyHint = false, DestructiveHint = true, IdempotentHint = false, OpenWorldHint = false },
            [new("path", "string", "The local file, e.g. 'src/blink.py'.", Required: true), Timeout],
            (args, ct) => RunFileAsync(args.RequiredString("path"), Seconds(args), ct)),

        new("interrupt", "Interrupt the running program",
            "Stop what runs on the board (Ctrl-C): a call of exec, eval or run_file still running, or a program the board runs by itself (main.py). " +
            "Leaves the board at its prompt, ready for the next call.",
            new ToolAnnotations { ReadOnlyHint = false, DestructiveHint = false, IdempotentHint = true, OpenWorldHint = false },
            [],
            (_, ct) => InterruptAsync(ct)),

        new("list_files", "List board files",
            "List a folder on the board's file system: one line per entry, 'dir' or 'file', the size in bytes, and the path. Folders end in '/'.",
            new ToolAnnotations { ReadOnlyHint = true, DestructiveHint = false, IdempotentHint = true, OpenWorldHint = false },
            [new("path", "string", "The board folder, e.g. '/' or '/lib'. Default '/'."), new("recursive", "boolean", "List the folders inside too. Default false.")],
            (args, ct) => ListAsync(args.String("path") ?? "/", args.Boolean("recursive", false), ct)),

        new("read_file", "Read a board file",
            "Read a file from the board. A UTF-8 text file comes back as its text; any other file as base64 (the first block of the result says which). " +
            $"Files larger than {ReadLimit} bytes are refused (fetch those with 'webrepl get').",
            new ToolAnnotations { ReadOnlyHint = true, DestructiveHint = false, IdempotentHint = true, OpenWorldHint = false },
            [new("path", "string", "The board file, e.g. '/main.py'.", Required: true),
             new("encoding", "string", "'text' (fails if the file is not UTF-8), 'base64', or 'auto' (the default: text when the file is UTF-8 text, else base64).", Choices: ["auto", "text", "base64"])],
            (args, ct) => ReadAsync(args.RequiredString("path"), args.Choice("encoding", "auto", "auto", "text", "base64"), ct)),

        new("write_file", "Write a board file",
            "Write a file on the board, replacing any file of that name, and check it arrived intact (SHA-256 on the board). " +
            "The folder must exist (make_dir makes it). Binary content is sent base64-encoded with encoding 'base64'.",
            new ToolAnnotations { ReadOnlyHint = false, DestructiveHint = true, IdempotentHint = true, OpenWorldHint = false },
            [new("path", "string", "The board file, e.g. '/main.py' or '/lib/util.py'.", Required: true),
             new("content", "string", "The file's content: text, or base64 with encoding 'base64'.", Required: true),
             new("encoding", "string", "'text' (the default; written as UTF-8) or 'base64'.", Choices: ["text", "base64"])],
            (args, ct) => WriteAsync(args.RequiredString("path"), args.RequiredString("content"), args.Choice("encoding", "text", "text", "base64"), ct)),

        new("remove", "Remove a board file or folder",
            "Remove a file from the board; a folder only with recursive true (everything in it goes too). Cannot be undone.",
            new ToolAnnotations { ReadOnlyHint = false, DestructiveHint = true, IdempotentHint = false, OpenWorldHint = false },
            [new("path", "string", "The board file or folder.", Required: true), new("recursive", "boolean", "Remove a folder and all it holds. Default false.")],
            (args, ct) => RemoveAsync(args.RequiredString("path"), args.Boolean("recursive", false), ct)),

        new("make_dir", "Make a board folder",
            "Make a folder on the board. Missing parent folders are made too, and an existing folder is fine, unless parents is false.",
            new ToolAnnotations { ReadOnlyHint = false, DestructiveHint = false, IdempotentHint = true, OpenWorldHint = false },
            [new("path", "string", "The board folder, e.g. '/lib/drivers'.", Required: true), new("parents", "boolean", "Make missing parents; accept an existing folder. Default true.")],
            (args, ct) => MakeDirAsync(args.RequiredString("path"), args.Boolean("parents", true), ct)),

        new("reset", "Reset the board",
            "Reset the board and connect again. 'soft' (the default) clears Python's state (variables, imported modules) and keeps files; " +
            "'hard' restarts the board (machine.reset()), which runs boot.py and main.py again. Files are kept either way.",
            new ToolAnnotations { ReadOnlyHint = false, DestructiveHint = true, IdempotentHint = false, OpenWorldHint = false },
            [new("mode", "string", "'soft' (default) or 'hard'.", Choices: ["soft", "hard"])],
            (args, ct) => ResetAsync(args.Choice("mode", "soft", "soft", "hard"), ct)),

        new("board_info", "Describe the board",
            "The board's MicroPython version, os.uname() (platform, release, machine), free and allocated heap memory, and the file system's size and free space.",
            new ToolAnnotations { ReadOnlyHint = true, DestructiveHint = false, IdempotentHint = true, OpenWorldHint = false },
            [],
            (_, ct) => BoardInfoAsync(ct)),
    ];

    private static TimeSpan Seconds(ToolArguments args) => TimeSpan.FromSeconds(args.Number("timeout_seconds", DefaultTimeout, 0.1, MaxTimeout));

    private async Task<CallToolResult> ExecAsync(string code, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var output = new OutputCollector(OutputLimit);
        var outcome = await GuardAsync(async () =>
        {
            using var limit = new CancellationTokenSource(timeout);
            try
            {
                await session.RunAsync<bool>(async (client, ct) =>
                {
                    using var both = CancellationTokenSource.CreateLinkedTokenSource(ct, limit.Token);
                    await client.ExecAsync(code, (bytes, _) =>
                    {
                        output.Add(bytes.Span);
                        return ValueTask.CompletedTask;
                    }, both.Token).ConfigureAwait(false);
                    return true;
                }, retryable: false, cancellationToken).ConfigureAwait(false);
            }
            catch (WebReplExecutionException ex)
            {
                string printed = output.Text();
                return McpResults.Error(printed.Length == 0 ? "(no output before the exception)" : printed, Clip(Lines(ex.Traceback), OutputLimit));
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                return McpResults.Error(Empty(output.Text()),
                    string.Create(CultureInfo.InvariantCulture, $"Timed out: the program was still running after {timeout.TotalSeconds:0.###} s (timeout_seconds), so it was interrupted (Ctrl-C). The output above is what it printed until then."));
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return McpResults.Error(Empty(output.Text()), "Interrupted by the interrupt tool. The output above is what the program printed until then.");
            }

            return McpResults.Text(Empty(output.Text()));
        }).ConfigureAwait(false);
        return outcome;
    }

    private async Task<CallToolResult> EvalAsync(string expression, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(expression))
        {
            return McpResults.Error("The argument 'code' is empty: give a Python expression, e.g. '1 + 1'.");
        }

        return await ExecAsync($"print(repr({expression}))", timeout, cancellationToken).ConfigureAwait(false);
    }

    private async Task<CallToolResult> RunFileAsync(string path, TimeSpan timeout, CancellationToken cancellationToken)
    {
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            return McpResults.Error($"No such local file: '{full}'. run_file runs a file on this computer; for a board file use exec with \"exec(open('/file.py').read())\".");
        }

        string code = await File.ReadAllTextAsync(full, cancellationToken).ConfigureAwait(false);
        return await ExecAsync(code, timeout, cancellationToken).ConfigureAwait(false);
    }

    private async Task<CallToolResult> InterruptAsync(CancellationToken cancellationToken)
    {
        bool stopped = session.CancelRunning();
        return await GuardAsync(async () =>
        {
            // Running any code interrupts what runs first (Ctrl-C, then the raw REPL's prompt).
            await session.RunAsync(async (client, ct) => await client.ExecAsync("pass", ct).ConfigureAwait(false), retryable: true, cancellationToken).ConfigureAwait(false);
            return McpResults.Text(stopped
                ? "Interrupted the running call; the board is at its prompt."
                : "Sent Ctrl-C; the board is at its prompt (no call of this server was running).");
        }).ConfigureAwait(false);
    }

    private Task<CallToolResult> ListAsync(string path, bool recursive, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        var entries = await session.RunAsync((client, ct) => client.Files.ListAsync(path, recursive, ct), retryable: true, cancellationToken).ConfigureAwait(false);
        if (entries.Count == 0)
        {
            return McpResults.Text($"{path} is empty.");
        }

        var text = new StringBuilder();
        foreach (var entry in entries)
        {
            text.Append(CultureInfo.InvariantCulture, $"{(entry.IsDirectory ? "dir " : "file")} {entry.Size,9} {entry.Path}{(entry.IsDirectory ? "/" : string.Empty)}\n");
        }

        return McpResults.Text(Clip(text.ToString(), OutputLimit));
    });

    private Task<CallToolResult> ReadAsync(string path, string encoding, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        byte[]? bytes = await session.RunAsync(async (client, ct) =>
        {
            var entry = await client.Files.StatAsync(path, ct).ConfigureAwait(false) ?? throw new BoardFileException($"No such file on the board: '{path}'.", path, 2);
            if (entry.IsDirectory)
            {
                throw new BoardFileException($"'{path}' is a folder; list it with list_files.", path);
            }

            return entry.Size > ReadLimit ? null : await client.Files.ReadAllBytesAsync(path, ct).ConfigureAwait(false);
        }, retryable: true, cancellationToken).ConfigureAwait(false);
        if (bytes is null)
        {
            return McpResults.Error($"'{path}' is larger than {ReadLimit} bytes; fetch it with 'webrepl get :{path} FILE' instead.");
        }

        string? text = encoding == "base64" ? null : TryUtf8(bytes);
        if (text is null && encoding == "text")
        {
            return McpResults.Error($"'{path}' ({bytes.Length} bytes) is not UTF-8 text; read it with encoding 'base64'.");
        }

        return text is not null
            ? McpResults.Text($"{path}: {bytes.Length} bytes, UTF-8 text (next block).", text)
            : McpResults.Text($"{path}: {bytes.Length} bytes, base64-encoded (next block).", Convert.ToBase64String(bytes));
    });

    private Task<CallToolResult> WriteAsync(string path, string content, string encoding, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        byte[] bytes;
        if (encoding == "base64")
        {
            try
            {
                bytes = Convert.FromBase64String(content);
            }
            catch (FormatException)
            {
                return McpResults.Error("The content is not valid base64; nothing was written.");
            }
        }
        else
        {
            bytes = Encoding.UTF8.GetBytes(content);
        }

        int sends = await session.RunAsync((client, ct) => client.Files.WriteAllBytesAsync(path, bytes, verify: true, null, ct), retryable: false, cancellationToken).ConfigureAwait(false);
        return McpResults.Text($"Wrote {bytes.Length} bytes to {path}; verified by SHA-256 on the board" + (sends > 1 ? " (the first copy failed the check and was sent again)." : "."));
    });

    private Task<CallToolResult> RemoveAsync(string path, bool recursive, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        await session.RunAsync(async (client, ct) =>
        {
            await client.Files.RemoveAsync(path, recursive, ct).ConfigureAwait(false);
            return true;
        }, retryable: false, cancellationToken).ConfigureAwait(false);
        return McpResults.Text($"Removed {path}.");
    });

    private Task<CallToolResult> MakeDirAsync(string path, bool parents, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        await session.RunAsync(async (client, ct) =>
        {
            await client.Files.MakeDirectoryAsync(path, parents, ct).ConfigureAwait(false);
            return true;
        }, retryable: parents, cancellationToken).ConfigureAwait(false);
        return McpResults.Text($"Made {path}.");
    });

    private Task<CallToolResult> ResetAsync(string mode, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        await session.RunAsync(async (client, ct) =>
        {
            // Either reset gives the client to use from now on (a new one when the board dropped the connection).
            var next = mode == "hard"
                ? await client.HardResetAsync(wait: true, cancellationToken: ct).ConfigureAwait(false)
                : await client.SoftResetAsync(cancellationToken: ct).ConfigureAwait(false);
            session.Replace(next);
            if (!ReferenceEquals(next, client))
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }

            return true;
        }, retryable: false, cancellationToken).ConfigureAwait(false);
        return McpResults.Text(mode == "hard"
            ? "Hard reset done: the board restarted (boot.py and main.py ran) and is connected again."
            : "Soft reset done: Python state cleared, files kept; connected.");
    });

    private Task<CallToolResult> BoardInfoAsync(CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        // Each part on its own: ports leave some out (the webassembly port has no os.uname, for one).
        const string Probe =
            "import gc, sys\n" +
            "try:\n import os\nexcept ImportError:\n os = None\n" +
            "print('implementation:', sys.implementation.name, '.'.join(str(p) for p in sys.implementation.version[:3]), '| platform:', sys.platform)\n" +
            "try:\n u = os.uname()\n print('uname: sysname=%r, nodename=%r, release=%r, version=%r, machine=%r' % (u.sysname, u.nodename, u.release, u.version, u.machine))\n del u\n" +
            "except AttributeError:\n print('uname: not available on this port (os.uname missing)')\n" +
            "gc.collect()\n" +
            "try:\n print('memory: free', gc.mem_free(), 'bytes, allocated', gc.mem_alloc(), 'bytes')\nexcept AttributeError:\n print('memory: not reported by this port')\n";
        var (version, probe, space) = await session.RunAsync(async (client, ct) =>
        {
            var v = await client.GetVersionAsync(ct).ConfigureAwait(false);
            string p = await client.ExecAsync(Probe, ct).ConfigureAwait(false);
            return (v, p, await client.Files.GetSpaceAsync("/", ct).ConfigureAwait(false));
        }, retryable: true, cancellationToken).ConfigureAwait(false);
        return McpResults.Text($"micropython: {version} (WebREPL version reply)\n{Lines(probe)}" +
            string.Create(CultureInfo.InvariantCulture, $"filesystem /: size {space.Total} bytes, free {space.Free} bytes\n"));
    });

    /// <summary>Failures become an error result the agent can act on; the password never appears in it.</summary>
    private async Task<CallToolResult> GuardAsync(Func<Task<CallToolResult>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (ToolArgumentException)
        {
            throw;
        }
        catch (WebReplConnectionException ex)
        {
            return McpResults.Error(scrub($"The connection to the board is lost ({ex.Message}); the next call connects again. " +
                "Whether the last action took effect is unknown: check before repeating it."));
        }
        catch (WebReplExecutionException ex)
        {
            return McpResults.Error(scrub($"The board raised an error: {ex.ExceptionLine}"));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return McpResults.Error(scrub(WebReplCli.Describe(ex).Message));
        }
    }

    private static string Empty(string text) => text.Length == 0 ? "(no output)" : text;

    private static string Lines(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal);

    private static string? TryUtf8(byte[] bytes)
    {
        if (bytes.AsSpan().Contains((byte)0))
        {
            return null;
        }

        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>Keeps the first and last parts of a long text, with a note of how much was left out between them.</summary>
    public static string Clip(string text, int limit)
    {
        if (text.Length <= limit)
        {
            return text;
        }

        int head = limit * 3 / 4;
        int tail = limit - head;
        return $"{text[..head]}\n[... {text.Length - head - tail} characters left out ...]\n{text[^tail..]}";
    }
}

/// <summary>A program's output, bounded: the first bytes and the last bytes, and how many were left out between.</summary>
internal sealed class OutputCollector(int limit)
{
    private readonly Lock _gate = new();
    private readonly byte[] _head = new byte[limit - (limit / 4)];
    private readonly byte[] _tail = new byte[limit / 4];
    private int _headLength;
    private long _beyond;

    public void Add(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            int toHead = Math.Min(_head.Length - _headLength, bytes.Length);
            bytes[..toHead].CopyTo(_head.AsSpan(_headLength));
            _headLength += toHead;
            foreach (byte b in bytes[toHead..])
            {
                _tail[_beyond % _tail.Length] = b;
                _beyond++;
            }
        }
    }

    public string Text()
    {
        lock (_gate)
        {
            string head = Encoding.UTF8.GetString(_head, 0, _headLength);
            long beyond = _beyond;
            if (beyond <= 0)
            {
                return head.Replace("\r\n", "\n", StringComparison.Ordinal);
            }

            int kept = (int)Math.Min(beyond, _tail.Length);
            var tail = new byte[kept];
            for (int k = 0; k < kept; k++)
            {
                tail[k] = _tail[(beyond - kept + k) % _tail.Length];
            }

            string middle = beyond > kept ? string.Create(CultureInfo.InvariantCulture, $"\n[... {beyond - kept} bytes of output left out ...]\n") : string.Empty;
            return (head + middle + Encoding.UTF8.GetString(tail)).Replace("\r\n", "\n", StringComparison.Ordinal);
        }
    }
}
