using System.Text;

namespace WebRepl.Bench;

/// <summary>
/// A logged-in <see cref="WebReplClient"/> on a board's REPL: type, then read terminal output until a marker.
/// The output is kept in one growing buffer and only its new part is searched, so a read costs little next to
/// the round trip it measures.
/// </summary>
internal sealed class BoardRepl : IAsyncDisposable
{
    private readonly WebReplClient _client;
    private byte[] _buffer = new byte[4096];
    private int _length;

    private BoardRepl(WebReplClient client) => _client = client;

    public WebReplClient Client => _client;

    /// <summary>Connects, logs in and waits for the first <c>&gt;&gt;&gt; </c> prompt.</summary>
    public static async Task<BoardRepl> ConnectAsync(int port, string password, CancellationToken cancellationToken)
    {
        var client = await WebReplClient.ConnectAndLoginAsync($"127.0.0.1:{port}", password, cancellationToken: cancellationToken);
        var repl = new BoardRepl(client);
        try
        {
            await repl.ReadUntilAsync(">>> "u8.ToArray(), cancellationToken);
            return repl;
        }
        catch
        {
            await repl.DisposeAsync();
            throw;
        }
    }

    public ValueTask SendAsync(ReadOnlyMemory<byte> input, CancellationToken cancellationToken) => _client.SendInputAsync(input, cancellationToken);

    /// <summary>Reads until <paramref name="marker"/> has arrived; returns the output up to and including it.</summary>
    public async Task<string> ReadUntilAsync(byte[] marker, CancellationToken cancellationToken)
    {
        int searched = 0;
        while (true)
        {
            int from = Math.Max(0, searched - marker.Length + 1);
            int at = _buffer.AsSpan(from, _length - from).IndexOf(marker);
            if (at >= 0)
            {
                int end = from + at + marker.Length;
                string text = Encoding.Latin1.GetString(_buffer, 0, end);
                _buffer.AsSpan(end, _length - end).CopyTo(_buffer);
                _length -= end;
                return text;
            }

            searched = _length;
            var chunk = await _client.Output.ReadAsync(cancellationToken);
            if (_length + chunk.Length > _buffer.Length)
            {
                Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + chunk.Length));
            }

            chunk.Span.CopyTo(_buffer.AsSpan(_length));
            _length += chunk.Length;
        }
    }

    /// <summary>
    /// Runs <paramref name="code"/> in the raw REPL (which must be entered already): sends it with Ctrl-D, waits
    /// for the <c>\x04&gt;</c> that ends the reply; returns its standard output, throws on a Python error.
    /// </summary>
    public async Task<string> RawExecAsync(string code, CancellationToken cancellationToken)
    {
        await SendAsync(Encoding.UTF8.GetBytes(code + "\x04"), cancellationToken);
        string reply = await ReadUntilAsync("\x04>"u8.ToArray(), cancellationToken);
        // "OK" stdout "\x04" stderr "\x04>"
        string[] parts = reply.Split('\x04');
        if (parts.Length != 3 || !parts[0].StartsWith("OK", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Unexpected raw REPL reply: {reply}");
        }

        if (parts[1].Length > 0)
        {
            throw new InvalidOperationException($"Python error on the board: {parts[1]}");
        }

        return parts[0][2..];
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
