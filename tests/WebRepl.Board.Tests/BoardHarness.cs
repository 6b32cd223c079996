using System.Net;
using System.Text;

namespace WebRepl.Board.Tests;

/// <summary>A virtual board on a free loopback port, with its files in a temporary folder.</summary>
internal static class TestBoards
{
    public const string Password = "pyth0n";

    public static string NewRoot() => Directory.CreateTempSubdirectory("webrepl-vboard-").FullName;

    public static Task<VirtualBoard> StartAsync(string? root = null, VirtualBoardOptions? options = null, CancellationToken cancellationToken = default) =>
        VirtualBoard.StartAsync(
            (options ?? new VirtualBoardOptions()) with
            {
                EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
                Password = Password,
                Root = root ?? NewRoot(),
            },
            cancellationToken);

    public static async Task<Repl> ConnectAsync(VirtualBoard board, CancellationToken cancellationToken)
    {
        var client = await WebReplClient.ConnectAndLoginAsync($"127.0.0.1:{board.EndPoint.Port}", Password, cancellationToken: cancellationToken);
        var repl = new Repl(client);
        await repl.ReadUntilAsync(">>> ", cancellationToken);
        return repl;
    }
}

/// <summary>A logged-in client with helpers to type and read until a marker, as a person at the REPL.</summary>
internal sealed class Repl(WebReplClient client) : IAsyncDisposable
{
    private readonly List<byte> _seen = [];

    public WebReplClient Client => client;

    /// <summary>Types a line (Enter is a carriage return, as a terminal sends) and returns what the board printed up to the next prompt.</summary>
    public async Task<string> RunLineAsync(string line, CancellationToken cancellationToken)
    {
        await client.SendInputAsync(line + "\r", cancellationToken);
        string output = await ReadUntilAsync("\r\n>>> ", cancellationToken);
        output = output[..^">>> ".Length];
        // Drop the echoed line itself, and the line end before the prompt.
        int firstLineEnd = output.IndexOf("\r\n", StringComparison.Ordinal);
        output = output[(firstLineEnd + 2)..];
        return output.EndsWith("\r\n", StringComparison.Ordinal) ? output[..^2] : output;
    }

    /// <summary>Reads until <paramref name="marker"/> has been printed; returns everything up to and including it.</summary>
    public async Task<string> ReadUntilAsync(string marker, CancellationToken cancellationToken)
    {
        byte[] markerBytes = Encoding.UTF8.GetBytes(marker);
        while (true)
        {
            int at = _seen.ToArray().AsSpan().IndexOf(markerBytes);
            if (at >= 0)
            {
                int end = at + markerBytes.Length;
                string text = Encoding.UTF8.GetString(_seen.GetRange(0, end).ToArray());
                _seen.RemoveRange(0, end);
                return text;
            }

            _seen.AddRange((await client.Output.ReadAsync(cancellationToken)).Span);
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes of output.</summary>
    public async Task<byte[]> ReadBytesAsync(int count, CancellationToken cancellationToken)
    {
        while (_seen.Count < count)
        {
            _seen.AddRange((await client.Output.ReadAsync(cancellationToken)).Span);
        }

        byte[] bytes = [.. _seen.GetRange(0, count)];
        _seen.RemoveRange(0, count);
        return bytes;
    }

    public ValueTask DisposeAsync() => client.DisposeAsync();
}
