using System.Text;
using WebRepl.Transport;

namespace WebRepl.Client;

/// <summary>
/// WebREPL's login as a board runs it: wait for <c>Password: </c>, send the password and a CR, read
/// <c>WebREPL connected</c> or <c>Access denied</c>. Every way it can go wrong gets an error that says what to check.
/// </summary>
internal sealed class LoginExchange(ClientConnection connection, TimeSpan replyTimeout)
{
    // A board sends "Password: " and then "WebREPL connected" or "Access denied": far less than this.
    private const int MaxLoginReplyBytes = 64 * 1024;

    private static readonly byte[] ConnectedMarker = "WebREPL connected\r\n"u8.ToArray();
    private static readonly byte[] DeniedMarker = "Access denied"u8.ToArray();

    /// <summary>True when the board closed before asking for the password: another client has it, or it is still ending the last session.</summary>
    public bool TurnedAway { get; private set; }

    private WebReplTarget Target => connection.Target;

    /// <summary>Logs in; what the board prints after <c>WebREPL connected</c> stays in the output.</summary>
    /// <param name="password">The password, already validated.</param>
    /// <param name="send">Sends terminal input.</param>
    /// <param name="cancellationToken">Cancels the login.</param>
    public async Task RunAsync(string password, Func<ReadOnlyMemory<byte>, CancellationToken, ValueTask> send, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(replyTimeout);
        await WaitForPromptAsync(timeout.Token, cancellationToken).ConfigureAwait(false);
        await send(Encoding.UTF8.GetBytes(password + "\r"), cancellationToken).ConfigureAwait(false);
        var seen = new List<byte>();
        try
        {
            while (true)
            {
                seen.AddRange((await connection.Output.ReadAsync(timeout.Token).ConfigureAwait(false)).Span);
                CheckLength(seen);
                byte[] text = [.. seen];
                int connected = text.AsSpan().IndexOf(ConnectedMarker);
                if (connected >= 0)
                {
                    connection.Output.Unread(text.AsMemory(connected + ConnectedMarker.Length));
                    return;
                }

                if (text.AsSpan().IndexOf(DeniedMarker) >= 0)
                {
                    throw new WebReplAuthenticationException($"{Target} refused the password (Access denied). Check the password set with webrepl_setup.{LongPasswordHint(password)}");
                }
            }
        }
        catch (WebReplConnectionException ex)
        {
            throw new WebReplAuthenticationException(
                $"{Target} closed the connection right after the password was sent, as boards do for a wrong password. Check the password.{LongPasswordHint(password)}", ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WebReplTimeoutException($"{Target} did not answer the password within {replyTimeout.TotalSeconds:0.#} s.", ex);
        }
    }

    private async Task WaitForPromptAsync(CancellationToken timeout, CancellationToken cancellationToken)
    {
        var seen = new List<byte>();
        try
        {
            while (!IsPasswordPrompt(seen))
            {
                seen.AddRange((await connection.Output.ReadAsync(timeout).ConfigureAwait(false)).Span);
                CheckLength(seen);
            }
        }
        catch (WebReplConnectionException ex)
        {
            // A board closes without a reason; a gateway gives one (a refused origin or target): pass it on.
            if (connection.ClosedWithStatus)
            {
                throw new WebReplConnectionException($"{Target}: {connection.CloseDescription}.", ex);
            }

            TurnedAway = true; // closed before asking for the password: another client has the board
            throw new WebReplConnectionException(
                $"{Target} closed the connection before asking for the password. Another WebREPL client is probably connected: a board accepts one at a time.", ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new WebReplTimeoutException(
                $"{Target} did not ask for a password within {replyTimeout.TotalSeconds:0.#} s. Is it a WebREPL board, and is it logged in by another client?", ex);
        }
    }

    /// <summary>Boards send "Password: "; a client may go by the colon and the space.</summary>
    private static bool IsPasswordPrompt(List<byte> seen)
    {
        int n = seen.Count;
        return n >= 2 && seen[n - 2] == (byte)':' && seen[n - 1] == (byte)' ';
    }

    /// <summary>A board says a few words around the login; one that says much more is not a board (bounded memory).</summary>
    private void CheckLength(List<byte> seen)
    {
        if (seen.Count > MaxLoginReplyBytes)
        {
            throw new WebReplProtocolException($"{Target} sent more than {MaxLoginReplyBytes} bytes without a password prompt or a login answer. Is it a WebREPL board?");
        }
    }

    /// <summary>Why a long password may have been refused: a real board's has at most 9 characters.</summary>
    private static string LongPasswordHint(string password) =>
        Encoding.UTF8.GetByteCount(password) > WebReplClient.MaxPasswordLength
            ? $" The password given is longer than {WebReplClient.MaxPasswordLength} characters: a real board's has at most {WebReplClient.MaxPasswordLength} (longer ones work only with a virtual board)."
            : string.Empty;
}
