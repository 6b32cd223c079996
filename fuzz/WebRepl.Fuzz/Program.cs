using SharpFuzz;
using WebRepl.Fuzz;

// webrepl-fuzz TARGET --afl       : run under afl-fuzz (SharpFuzz's out-of-process loop, input on stdin)
// webrepl-fuzz TARGET PATH...     : run files (or every file in folders) through the target, say which fail
// webrepl-fuzz list               : the targets
if (args.Length == 0 || args[0] == "list")
{
    Console.WriteLine(string.Join('\n', FuzzTargets.All.Keys));
    return args.Length == 0 ? 2 : 0;
}

string target = args[0];
if (!FuzzTargets.All.ContainsKey(target))
{
    Console.Error.WriteLine($"No target '{target}'. Targets: {string.Join(", ", FuzzTargets.All.Keys)}");
    return 2;
}

if (args.Length == 2 && args[1] == "--afl")
{
    Fuzzer.OutOfProcess.Run(stream =>
    {
        var input = new MemoryStream();
        stream.CopyTo(input);
        FuzzTargets.Run(target, input.GetBuffer().AsSpan(0, (int)input.Length));
    });
    return 0;
}

int failed = 0, ran = 0;
foreach (string path in args.Skip(1).SelectMany<string, string>(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal) : [p]))
{
    ran++;
    try
    {
        FuzzTargets.Run(target, File.ReadAllBytes(path));
    }
#pragma warning disable CA1031 // every failure is reported, whatever its type
    catch (Exception ex)
#pragma warning restore CA1031
    {
        failed++;
        Console.WriteLine($"FAIL {path}: {ex.GetType().Name}: {ex.Message}");
    }
}

Console.WriteLine($"{ran - failed} passed, {failed} failed");
return failed == 0 ? 0 : 1;
