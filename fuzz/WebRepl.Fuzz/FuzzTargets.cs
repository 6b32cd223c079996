using WebRepl.Fuzz.Targets;

namespace WebRepl.Fuzz;

/// <summary>A fuzz target: runs one input, throws on a finding.</summary>
public delegate void FuzzTarget(ReadOnlySpan<byte> input);

/// <summary>Every target by name: the names of fuzz/corpus/ and fuzz/crashes/ folders.</summary>
public static class FuzzTargets
{
    /// <summary>Inputs longer than this are cut: the parsers' interesting limits are all below it, and time per run stays small.</summary>
    public const int MaxInput = 64 * 1024;

    public static IReadOnlyDictionary<string, FuzzTarget> All { get; } = new Dictionary<string, FuzzTarget>(StringComparer.Ordinal)
    {
        ["websocket-frames"] = WebSocketFrames.Run,
        ["http-head"] = HttpHeads.Run,
        ["gateway-target"] = GatewayTargetPath.Run,
        ["request-record"] = RequestRecords.Run,
        ["server-session"] = ServerSession.Run,
        ["transfer-tracker"] = TransferTracking.Run,
        ["utf8-sanitizer"] = Utf8Sanitizing.Run,
        ["raw-repl"] = RawReplReading.Run,
        ["board-listing"] = BoardListing.Run,
    };

    public static void Run(string target, ReadOnlySpan<byte> input) =>
        All[target](input.Length > MaxInput ? input[..MaxInput] : input);
}
