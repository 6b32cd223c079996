using WebRepl.Transport;

namespace WebRepl.Gateway;

/// <summary>One named board, as <c>GET /api/boards</c> shows it (the browser terminal offers the first).</summary>
/// <param name="Name">The board's name.</param>
/// <param name="Path">Where the gateway serves it: <c>/boards/NAME</c> (append it to the gateway's <c>ws://</c> or <c>wss://</c> base).</param>
/// <param name="Board">The board's URL, as <c>GET /api/sessions</c> shows it.</param>
public sealed record BoardInfo(string Name, string Path, string Board)
{
    /// <summary>The named boards, ordered by name (ordinal), so that every client sees the same first board.</summary>
    internal static IReadOnlyList<BoardInfo> List(IReadOnlyDictionary<string, WebReplTarget> boards) =>
        [.. boards.OrderBy(b => b.Key, StringComparer.Ordinal).Select(b => new BoardInfo(b.Key, "/boards/" + Uri.EscapeDataString(b.Key), b.Value.ToString()))];
}
