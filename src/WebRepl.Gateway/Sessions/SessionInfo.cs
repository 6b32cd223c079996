namespace WebRepl.Gateway;

/// <summary>One board session, as <c>GET /api/sessions</c> shows it.</summary>
/// <param name="Board">The board's URL.</param>
/// <param name="Name">The board's name (<c>/boards/NAME</c>), if it has one.</param>
/// <param name="State">connecting, logging-in, logged-in or closing.</param>
/// <param name="Since">When the session started.</param>
/// <param name="BytesToBoard">Payload bytes sent to the board.</param>
/// <param name="BytesFromBoard">Payload bytes received from the board.</param>
/// <param name="Transfer">The file transfer under way (e.g. <c>put 'main.py'</c>) and the client that runs it, or null.</param>
/// <param name="Clients">The clients sharing the board.</param>
public sealed record SessionInfo(
    string Board,
    string? Name,
    string State,
    DateTimeOffset Since,
    long BytesToBoard,
    long BytesFromBoard,
    string? Transfer,
    IReadOnlyList<ClientInfo> Clients);

/// <summary>One client of a session.</summary>
/// <param name="Id">The gateway's number for the client (as in the logs: #7).</param>
/// <param name="Remote">The client's address and port.</param>
/// <param name="Origin">The browser origin, or null for a program.</param>
/// <param name="Viewer">True for a read-only viewer (<c>?view</c>).</param>
/// <param name="State">awaiting-password, logging-in or authenticated.</param>
/// <param name="Since">When the client connected.</param>
/// <param name="BytesIn">Payload bytes the client sent.</param>
/// <param name="BytesOut">Payload bytes sent to the client.</param>
public sealed record ClientInfo(int Id, string Remote, string? Origin, bool Viewer, string State, DateTimeOffset Since, long BytesIn, long BytesOut);
