using System.Text;
using WebRepl.Repl;
using WebRepl.Transport;

namespace WebRepl.Fuzz.Targets;

/// <summary>
/// The raw-REPL and raw-paste readers (<c>RawRepl</c>, <c>ReplReader</c>) through <see cref="WebReplClient.ExecAsync(string, Func{ReadOnlyMemory{byte}, CancellationToken, ValueTask}, CancellationToken)"/>,
/// against a board whose terminal output is the input (sent as text frames of chosen sizes, then the connection
/// ends). Invariants: the run ends (no hang on a finite reply); it succeeds, or fails with one of WebRepl's own
/// exceptions (no index, cast or argument error from a board's bytes); the output handed on and a traceback are
/// each bytes the board sent, in one piece, without the 0x04 that ends them.
/// Input: [frame size] [code size] [the board's output].
/// </summary>
public static class RawReplReading
{
    private static readonly WebReplTarget Target = WebReplTarget.Parse("ws://127.0.0.1:8266/");

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 2)
        {
            return;
        }

        int frameSize = 1 + input[0];
        // Short code (one plain piece at most, so one 10 ms pause), or longer than a small raw-paste window.
        string code = (input[1] % 3) switch
        {
            0 => string.Empty,
            1 => "print(1)",
            _ => new string('x', 300),
        };
        byte[] board = input[2..].ToArray();
        var frames = new MemoryStream();
        for (int at = 0; at < board.Length; at += frameSize)
        {
            int n = Math.Min(frameSize, board.Length - at);
            frames.WriteByte(0x81);
            if (n < 126)
            {
                frames.WriteByte((byte)n);
            }
            else
            {
                frames.WriteByte(126);
                frames.WriteByte((byte)(n >> 8));
                frames.WriteByte((byte)n);
            }

            frames.Write(board, at, n);
        }

        var stream = new PeerStream(frames.ToArray(), ReadOnlyMemory<byte>.Empty);
        var connection = new WebSocketConnection(stream, null, WebSocketRole.Client, ReadOnlyMemory<byte>.Empty);
        var client = WebReplClient.FromConnection(connection, Target, new WebReplClientOptions { ReplyTimeout = TimeSpan.FromSeconds(5) });
        var output = new MemoryStream();
        string? traceback = null;
        try
        {
            Check.Wait(client.ExecAsync(code, (bytes, _) =>
            {
                output.Write(bytes.Span);
                return ValueTask.CompletedTask;
            }));
        }
        catch (WebReplExecutionException ex)
        {
            traceback = ex.Traceback;
        }
        catch (WebReplTimeoutException ex)
        {
            throw new InvariantException("a finite reply timed out instead of failing at its end", ex);
        }
        catch (WebReplException)
        {
            // The board's reply ended or was not a raw REPL's: an error that says so is right.
        }
        finally
        {
            Check.Wait(client.DisposeAsync().AsTask());
        }

        byte[] printed = output.ToArray();
        Check.That(printed.AsSpan().IndexOf((byte)4) < 0 && (printed.Length == 0 || board.AsSpan().IndexOf(printed) >= 0), "the output handed on is not a piece of what the board sent");
        if (traceback is not null)
        {
            byte[] error = Encoding.UTF8.GetBytes(traceback);
            Check.That(error.AsSpan().IndexOf((byte)4) < 0, "the traceback holds its end marker");
        }
    }
}
