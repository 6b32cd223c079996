using System.Net;
using System.Net.Sockets;
using System.Text;
using WebRepl.Device;

namespace WebRepl.Fuzz.Targets;

/// <summary>
/// <c>WebReplServer</c>'s request handling (the virtual board's side: records, PUT data, GET requests) over a
/// real loopback connection: the target logs in, sends the input as the client's binary frames (sizes chosen by
/// the input), ends the connection and reads the board's answer to its end. Invariants: nothing outside the
/// board's folder changes; no partial or temporary file is left; the board's frames are well formed (unmasked,
/// complete); the board is free for the next client once this one has gone (a new login works).
/// Input: [piece count] [piece sizes...] [the client's binary bytes].
/// </summary>
public static partial class ServerSession
{
    private const string Password = "fuzz";
    private static readonly Lock Gate = new();
    private static WebReplServer? _server;
    private static string _home = string.Empty;
    private static string _root = string.Empty;

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 1)
        {
            return;
        }

        var (pieces, data) = Check.SplitPieces(input[1..], input[0] & 7);
        lock (Gate)
        {
            var server = Start();
            ResetFolder();
            Check.Wait(SessionAsync(server, pieces, data));
            CheckFolder();
        }
    }

    private static WebReplServer Start()
    {
        if (_server is not null)
        {
            return _server;
        }

        _home = Path.Combine(Path.GetTempPath(), $"webrepl-fuzz-{Environment.ProcessId}");
        _root = Path.Combine(_home, "board");
        Directory.CreateDirectory(_root);
        var server = new WebReplServer(
            new WebReplServerOptions { Password = Password, EndPoint = new IPEndPoint(IPAddress.Loopback, 0), FirmwareTiming = false },
            new EchoConsole(),
            new DirectoryFileStore(_root));
        server.Start();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            server.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
            try
            {
                Directory.Delete(_home, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return _server = server;
    }

    /// <summary>The same board folder for every input: a file, a folder with a file, a file outside.</summary>
    private static void ResetFolder()
    {
        foreach (string entry in Directory.EnumerateFileSystemEntries(_home))
        {
            if (Directory.Exists(entry))
            {
                Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
        }

        Directory.CreateDirectory(Path.Combine(_root, "d"));
        File.WriteAllText(Path.Combine(_root, "a"), "board file a");
        File.WriteAllText(Path.Combine(_root, "d", "b"), "board file d/b");
        File.WriteAllText(Path.Combine(_home, "outside"), "outside the board");
    }

    private static void CheckFolder()
    {
        var top = Directory.EnumerateFileSystemEntries(_home).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Check.That(top.SequenceEqual(["board", "outside"]), $"something changed outside the board's folder: {string.Join(", ", top)}");
        Check.That(File.ReadAllText(Path.Combine(_home, "outside")) == "outside the board", "a file outside the board's folder was written");
        foreach (string file in Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories))
        {
            // A client may PUT dot-files; an upload's temporary file is .NAME.GUID.webrepl-upload (DirectoryFileStore).
            Check.That(!TemporaryFile().IsMatch(Path.GetFileName(file)), $"a temporary file was left: {file}");
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\..*\.[0-9a-f]{32}\.webrepl-upload$", System.Text.RegularExpressions.RegexOptions.Singleline)]
    private static partial System.Text.RegularExpressions.Regex TemporaryFile();

    private static async Task SessionAsync(WebReplServer server, ReadOnlyMemory<byte> pieces, byte[] data)
    {
        // The previous client has gone; its session must end (the board frees itself within moments).
        for (int i = 0; server.HasSession && i < 1000; i++)
        {
            await Task.Delay(5).ConfigureAwait(false);
        }

        Check.That(!server.HasSession, "the board stayed taken after its client left");
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(server.LocalEndPoint).ConfigureAwait(false);
        var send = new MemoryStream();
        send.Write("GET / HTTP/1.1\r\nHost: board\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"u8);
        WriteFrame(send, 0x1, Encoding.ASCII.GetBytes(Password + "\r"));
        int at = 0;
        for (int piece = 0; at < data.Length; piece++)
        {
            int n = Math.Min(Math.Min(data.Length - at, 65535), pieces.IsEmpty ? int.MaxValue : 1 + (pieces.Span[piece % pieces.Length] * 4));
            WriteFrame(send, 0x2, data.AsSpan(at, n));
            at += n;
        }

        await socket.SendAsync(send.ToArray(), SocketFlags.None).ConfigureAwait(false);
        socket.Shutdown(SocketShutdown.Send);
        var received = new MemoryStream();
        byte[] buffer = new byte[64 * 1024];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        CheckAnswer(received.ToArray());
    }

    /// <summary>The 101 head, then complete unmasked frames: the prompt, the login, and the transfer replies.</summary>
    private static void CheckAnswer(byte[] answer)
    {
        int head = answer.AsSpan().IndexOf("\r\n\r\n"u8);
        Check.That(head > 0 && answer.AsSpan().StartsWith("HTTP/1.1 101 "u8), "no upgrade");
        var text = new MemoryStream();
        int at = head + 4;
        while (at < answer.Length)
        {
            Check.That(answer.Length - at >= 2, "the board's last frame is cut");
            byte b0 = answer[at], b1 = answer[at + 1];
            Check.That((b1 & 0x80) == 0 && (b1 & 0x7f) < 127, "the board sent a masked frame or a 64-bit length");
            int header = (b1 & 0x7f) == 126 ? 4 : 2;
            Check.That(answer.Length - at >= header, "the board's last frame header is cut");
            int length = (b1 & 0x7f) == 126 ? (answer[at + 2] << 8) | answer[at + 3] : b1 & 0x7f;
            Check.That(answer.Length - at - header >= length, "the board's last frame is cut");
            Check.That((b0 & 0x0f) is 1 or 2 or 8, $"the board sent opcode {b0 & 0x0f}");
            if ((b0 & 0x0f) == 1)
            {
                text.Write(answer, at + header, length);
            }

            at += header + length;
        }

        Check.That(text.ToArray().AsSpan().StartsWith("Password: \r\nWebREPL connected\r\n"u8), "the login did not work");
    }

    private static void WriteFrame(MemoryStream stream, byte opcode, ReadOnlySpan<byte> payload)
    {
        stream.WriteByte((byte)(0x80 | opcode));
        if (payload.Length < 126)
        {
            stream.WriteByte((byte)(0x80 | payload.Length));
        }
        else
        {
            stream.WriteByte(0x80 | 126);
            stream.WriteByte((byte)(payload.Length >> 8));
            stream.WriteByte((byte)payload.Length);
        }

        byte[] mask = [0x12, 0x34, 0x56, 0x78];
        stream.Write(mask);
        for (int i = 0; i < payload.Length; i++)
        {
            stream.WriteByte((byte)(payload[i] ^ mask[i % 4]));
        }
    }
}
