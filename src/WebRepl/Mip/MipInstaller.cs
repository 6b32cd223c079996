using System.Globalization;
using System.Text;
using System.Text.Json;
using WebRepl.Repl;
using static WebRepl.Repl.BoardFiles;

namespace WebRepl.Mip;

/// <summary>
/// mip's <c>install</c>, run from this computer: packages are resolved and downloaded here (the board needs no
/// network and no TLS), then written over WebREPL. Nothing reaches the board before every file has been fetched
/// and checked; on the board each file is written under a temporary name in the target folder, its SHA-256 checked,
/// and only then are all renamed into place, so a failed install leaves neither partial files nor the folders it made.
/// </summary>
/// <remarks>
/// <code>
///  board facts (exec)   resolve + download     hashes on board   prepare (exec)        PUT temps    hash temps   rename all
///  _mpy, sys.path, cwd → here, bounded, hash → skip identical → space, folders made → .mip-N.tmp → (resend 1×) → into place
///                        checked                                                     (failure: temps and made folders removed)
/// </code>
/// </remarks>
public static class MipInstaller
{
    private const string TempPrefix = ".mip-";

    /// <summary>Resolves <paramref name="packages"/> for this board and compares them with what it holds; writes nothing.</summary>
    /// <param name="client">A logged-in client; the board's REPL is used (it must not be running a program).</param>
    /// <param name="packages">mip's package arguments: <c>NAME[@VERSION]</c>, <c>github:OWNER/REPO[/PATH][@REF]</c>, <c>gitlab:…</c>, URLs, local folders (<c>./pkg</c>).</param>
    /// <param name="options">The index, target and limits; null for <see cref="MipOptions.Default"/>.</param>
    /// <param name="log">Told what is being installed, a line at a time.</param>
    /// <param name="cancellationToken">Cancels the install.</param>
    /// <exception cref="MipException">A package was not found, could not be fetched, or was refused.</exception>
    public static async Task<MipPlan> PlanAsync(WebReplClient client, IReadOnlyList<string> packages, MipOptions? options = null, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(packages);
        options ??= MipOptions.Default;
        if (options.FileProtocolOnly && options.MpyVersion is null && options.Mpy)
        {
            throw new ArgumentException("With the file protocol only, the board cannot be asked its bytecode version: give it (--mpy-version 6), or install sources (--no-mpy).", nameof(options));
        }

        var (mpy, libs, cwd) = options.FileProtocolOnly ? (0, [], "/") : await BoardFactsAsync(client, cancellationToken).ConfigureAwait(false);
        string mpyVersion = options.MpyVersion ?? (options.Mpy && mpy != 0 ? mpy.ToString(CultureInfo.InvariantCulture) : "py");
        if (mpyVersion != "py" && !mpyVersion.All(char.IsAsciiDigit))
        {
            throw new ArgumentException($"The bytecode version '{mpyVersion}' is not a number (such as 6) or 'py'.", nameof(options));
        }

        string target = Target(options.Target ?? libs.FirstOrDefault() ?? "/lib", cwd);
        using var ownHttp = options.HttpClient is null ? new HttpClient { Timeout = Timeout.InfiniteTimeSpan } : null;
        var resolver = new MipResolver(options, options.HttpClient ?? ownHttp!, mpyVersion, log);
        foreach (string package in packages)
        {
            await resolver.ResolveAsync(package, cancellationToken).ConfigureAwait(false);
        }

        var files = resolver.Files.OrderBy(f => f.Path, StringComparer.Ordinal).ToList();
        for (int i = 0; i < files.Count; i++)
        {
            CheckName(options.FileProtocolOnly ? MipPlan.Join(target, files[i].Path) : TempName(target, i));
        }

        if (options.FileProtocolOnly)
        {
            return new MipPlan(target, mpyVersion, resolver.Packages, files, files, fileProtocolOnly: true);
        }

        var onBoard = await client.Files.HashManyAsync([.. files.Select(f => MipPlan.Join(target, f.Path))], cancellationToken).ConfigureAwait(false);
        var toWrite = files.Where(f => onBoard.GetValueOrDefault(MipPlan.Join(target, f.Path)) != f.Sha256).ToList();
        return new MipPlan(target, mpyVersion, resolver.Packages, files, toWrite, fileProtocolOnly: false);
    }

    /// <summary>Writes a plan's files to the board: all of them in place and verified, or none and nothing left behind.</summary>
    /// <param name="client">The client the plan was made with.</param>
    /// <param name="plan">From <see cref="PlanAsync"/>.</param>
    /// <param name="send">Drives the sending of the files (a progress display); null sends them in turn.</param>
    /// <param name="log">Told of anything left behind when the clean-up after a failure failed too.</param>
    /// <param name="cancellationToken">Cancels the install (what was written is removed).</param>
    /// <exception cref="BoardFileException">The board lacks the space, or a file's place is a folder, or a file failed its check twice.</exception>
    public static async Task ApplyAsync(WebReplClient client, MipPlan plan, MipSendFiles? send = null, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.ToWrite.Count == 0)
        {
            return;
        }

        if (plan.FileProtocolOnly)
        {
            await ApplyInPlaceAsync(client, plan, send, cancellationToken).ConfigureAwait(false);
            return;
        }

        var temps = plan.ToWrite.Select((f, i) => (File: f, Temp: TempName(plan.Target, i))).ToList();
        var made = new List<string>();
        try
        {
            var (folders, refused) = await PrepareAsync(client, plan, cancellationToken).ConfigureAwait(false);
            made.AddRange(folders);
            if (refused is not null)
            {
                throw refused;
            }

            var byFile = temps.ToDictionary(t => t.File, t => t.Temp);
            Task SendOneAsync(MipFile file, IProgress<long>? progress, CancellationToken ct) =>
                client.PutFileAsync(new MemoryStream(file.Content.ToArray(), writable: false), byFile[file], progress, ct);
            await (send ?? SendInTurnAsync)(plan.ToWrite, SendOneAsync, cancellationToken).ConfigureAwait(false);
            await VerifyAsync(client, temps, cancellationToken).ConfigureAwait(false);
            await CommitAsync(client, plan.Target, temps, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await CleanUpAsync(client, plan.Target, temps.Select(t => t.Temp), made, log).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The file protocol alone: each file PUT in place, then fetched back with GET (the board holds it now, so the
    /// GET cannot fail to open it) and compared; one that differs is sent once more.
    /// </summary>
    private static async Task ApplyInPlaceAsync(WebReplClient client, MipPlan plan, MipSendFiles? send, CancellationToken cancellationToken)
    {
        Task PutAsync(MipFile file, IProgress<long>? progress, CancellationToken ct) =>
            client.PutFileAsync(new MemoryStream(file.Content.ToArray(), writable: false), plan.BoardPath(file), progress, ct);
        await (send ?? SendInTurnAsync)(plan.ToWrite, PutAsync, cancellationToken).ConfigureAwait(false);
        foreach (var file in plan.ToWrite)
        {
            for (int attempt = 1; ; attempt++)
            {
                var back = new MemoryStream();
                var get = new WebReplGetOptions { ExpectedSize = file.Content.Length };
                await client.GetFileAsync(plan.BoardPath(file), back, null, get, cancellationToken).ConfigureAwait(false);
                if (Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(back.GetBuffer().AsSpan(0, (int)back.Length))) == file.Sha256)
                {
                    break;
                }

                if (attempt == 2)
                {
                    throw new BoardFileException($"':{plan.BoardPath(file)}' did not arrive intact (read back, it differs), twice. Check the board's storage.", plan.BoardPath(file));
                }

                await PutAsync(file, null, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary><see cref="PlanAsync"/>, then <see cref="ApplyAsync"/>.</summary>
    /// <returns>The plan carried out.</returns>
    public static async Task<MipPlan> InstallAsync(WebReplClient client, IReadOnlyList<string> packages, MipOptions? options = null, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        var plan = await PlanAsync(client, packages, options, log, cancellationToken).ConfigureAwait(false);
        await ApplyAsync(client, plan, null, log, cancellationToken).ConfigureAwait(false);
        return plan;
    }

    private static Task SendInTurnAsync(IReadOnlyList<MipFile> files, Func<MipFile, IProgress<long>?, CancellationToken, Task> sendOne, CancellationToken cancellationToken) =>
        files.Aggregate(Task.CompletedTask, async (previous, file) =>
        {
            await previous.ConfigureAwait(false);
            await sendOne(file, null, cancellationToken).ConfigureAwait(false);
        });

    /// <summary>The board's bytecode version (<c>sys.implementation._mpy &amp; 0xFF</c>, 0 when none), its <c>…/lib</c> folders in <c>sys.path</c>, and its current folder.</summary>
    private static async Task<(int Mpy, List<string> Libs, string Cwd)> BoardFactsAsync(WebReplClient client, CancellationToken cancellationToken)
    {
        const string Code = """
            import sys, os, json
            print(json.dumps([getattr(sys.implementation, '_mpy', 0) & 0xFF, [p for p in sys.path if p.endswith('/lib') and not p.startswith('/rom')], os.getcwd()]))
            """;
        string output = await ((IBoardOperations)client).ExecOperationAsync(Code, cancellationToken).ConfigureAwait(false);
        try
        {
            using var json = JsonDocument.Parse(output);
            var row = json.RootElement;
            int mpy = row[0].GetInt32();
            var libs = row[1].EnumerateArray().Select(e => e.GetString()!).Where(p => p.StartsWith('/') && IsPlain(p)).ToList();
            string cwd = row[2].GetString()!;
            return (mpy, libs, cwd.StartsWith('/') && IsPlain(cwd) ? cwd : "/");
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or IndexOutOfRangeException)
        {
            throw new WebReplProtocolException($"The board's answer about its version and sys.path is not what a MicroPython board prints: {PrintableText.Escape(output.Length > 80 ? output[..80] : output)}", ex);
        }
    }

    private static bool IsPlain(string path) => path.Length < 200 && !path.Any(c => c < ' ' || c == '\x7f') && !path.Split('/').Any(s => s == "..");

    /// <summary>The target as an absolute board folder: a leading <c>:</c> dropped, a relative one after the board's current folder.</summary>
    private static string Target(string target, string cwd)
    {
        target = target.StartsWith(':') ? target[1..] : target;
        if (!IsPlain(target) || target.Contains('\\', StringComparison.Ordinal))
        {
            throw new ArgumentException($"The target folder ':{PrintableText.Escape(target)}' is not a plain board path (no '..', no control characters).", nameof(target));
        }

        string absolute = target.StartsWith('/') ? target : MipPlan.Join(cwd, target);
        string trimmed = string.Join('/', absolute.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(s => s != "."));
        return "/" + trimmed;
    }

    private static string TempName(string target, int index) => MipPlan.Join(target, TempPrefix + index.ToString(CultureInfo.InvariantCulture) + ".tmp");

    private static void CheckName(string temp)
    {
        if (Encoding.UTF8.GetByteCount(temp) > Protocol.WebReplRequest.MaxFileNameBytes)
        {
            throw new ArgumentException($"The target folder is too long: WebREPL names files with at most {Protocol.WebReplRequest.MaxFileNameBytes} bytes of UTF-8, and ':{PrintableText.Escape(temp)}' is longer.");
        }
    }

    /// <summary>
    /// On the board, before anything is sent: no file's place is a folder, the target's file system has room for
    /// the files, and the folders the files need exist (made here; the ones made are returned, to be removed on failure,
    /// with what stopped the preparation, if anything).
    /// </summary>
    private static async Task<(List<string> Made, BoardFileException? Refused)> PrepareAsync(WebReplClient client, MipPlan plan, CancellationToken cancellationToken)
    {
        var folders = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var file in plan.ToWrite)
        {
            string path = plan.BoardPath(file);
            for (int slash = path.IndexOf('/', 1); slash > 0; slash = path.IndexOf('/', slash + 1))
            {
                folders.Add(path[..slash]);
            }
        }

        string Pys(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(Py)) + "]";
        string code = $$"""
            import os, json
            {{PathKindPython}}
            def _m():
             for f in {{Pys(plan.ToWrite.Select(plan.BoardPath))}}:
              if _k(f) == 2:
               return ['folder', f, []]
             p = {{Py(plan.Target)}}
             while p != '/' and _k(p) == 0:
              p = p[:p.rfind('/')] or '/'
             s = os.statvfs(p)
             if s[1] * s[4] < {{plan.BytesToSend.ToString(CultureInfo.InvariantCulture)}}:
              return ['space', str(s[1] * s[4]), []]
             c = []
             for d in {{Pys(folders.OrderBy(f => f.Length))}}:
              k = _k(d)
              if k == 1:
               return ['file', d, c]
              if k == 0:
               try:
                os.mkdir(d)
               except OSError as e:
                return ['mkdir', d + ' (OSError ' + str(e.args[0]) + ')', c]
               c.append(d)
             return ['ok', '', c]
            print(json.dumps(_m()))
            """;
        string output = await ((IBoardOperations)client).ExecOperationAsync(code, cancellationToken).ConfigureAwait(false);
        string kind, detail;
        List<string> made;
        try
        {
            using var json = JsonDocument.Parse(output);
            var row = json.RootElement;
            (kind, detail) = (row[0].GetString()!, row[1].GetString()!);
            made = [.. row[2].EnumerateArray().Select(e => e.GetString()!).Where(folders.Contains)];
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or IndexOutOfRangeException)
        {
            throw new WebReplProtocolException($"The board's answer while preparing the install is not what a MicroPython board prints: {PrintableText.Escape(output.Length > 80 ? output[..80] : output)}", ex);
        }

        return (made, kind switch
        {
            "ok" => null,
            "folder" => new BoardFileException($"Cannot install ':{detail}': it is a folder on the board. Nothing was installed.", detail, 21),
            "space" => new BoardFileException(
                $"Not enough space on the board: the install writes {plan.BytesToSend:N0} bytes to ':{plan.Target}' and {long.Parse(detail, CultureInfo.InvariantCulture):N0} are free. Free some (df, rm). Nothing was installed.", plan.Target, 28),
            "file" => new BoardFileException($"Cannot install into ':{detail}': it is a file on the board, not a folder. Nothing was installed.", detail, 20),
            _ => new BoardFileException($"Cannot make the folder ':{detail}' on the board. Nothing was installed.", detail),
        });
    }

    /// <summary>Checks every temporary file's SHA-256 on the board; one that differs is sent once more, and a second failure is an error.</summary>
    private static async Task VerifyAsync(WebReplClient client, List<(MipFile File, string Temp)> temps, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            var hashes = await client.Files.HashManyAsync([.. temps.Select(t => t.Temp)], cancellationToken).ConfigureAwait(false);
            var bad = temps.Where(t => hashes.GetValueOrDefault(t.Temp) != t.File.Sha256).ToList();
            if (bad.Count == 0)
            {
                return;
            }

            if (attempt == 2)
            {
                throw new BoardFileException(
                    $"'{bad[0].File.Path}' did not arrive intact on the board (its SHA-256 there differs), twice. Check the board's storage (df). Nothing was installed.", bad[0].Temp);
            }

            foreach (var (file, temp) in bad)
            {
                await client.PutFileAsync(new MemoryStream(file.Content.ToArray(), writable: false), temp, null, cancellationToken).ConfigureAwait(false);
            }

            temps = bad;
        }
    }

    /// <summary>
    /// Renames every temporary file into place in one program. The source is relative to the target folder (made
    /// current for the while): MicroPython's VfsPosix with a root builds two absolute paths in one buffer.
    /// </summary>
    private static async Task CommitAsync(WebReplClient client, string target, List<(MipFile File, string Temp)> temps, CancellationToken cancellationToken)
    {
        string pairs = string.Join(", ", temps.Select(t => $"({Py(t.Temp[(t.Temp.LastIndexOf('/') + 1)..])}, {Py(MipPlan.Join(target, t.File.Path))})"));
        string code = $$"""
            import os
            _c = os.getcwd()
            os.chdir({{Py(target)}})
            try:
             for _t, _f in [{{pairs}}]:
              try:
               os.remove(_f)
              except OSError:
               pass
              os.rename(_t, _f)
            finally:
             os.chdir(_c)
            """;
        await ((IBoardOperations)client).ExecOperationAsync(code, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>After a failure: removes the temporary files and the folders the install made (if empty). Never throws.</summary>
    private static async Task CleanUpAsync(WebReplClient client, string target, IEnumerable<string> temps, List<string> made, Action<string>? log)
    {
        string code = $$"""
            import os
            for _p in [{{string.Join(", ", temps.Select(Py))}}]:
             try:
              os.remove(_p)
             except OSError:
              pass
            for _d in [{{string.Join(", ", Enumerable.Reverse(made).Select(Py))}}]:
             try:
              os.rmdir(_d)
             except OSError:
              pass
            """;
        // Also after a cancellation (Ctrl-C): the clean-up has a bound of its own.
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await ((IBoardOperations)client).ExecOperationAsync(code, bound.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebReplException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            log?.Invoke($"The clean-up after the failure failed too ({PrintableText.Escape(ex.Message)}): the board may keep temporary files ':{PrintableText.Escape(target)}/{TempPrefix}N.tmp'; remove them with rm.");
        }
    }
}
