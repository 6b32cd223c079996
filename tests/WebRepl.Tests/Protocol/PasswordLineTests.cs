using WebRepl.Protocol;

namespace WebRepl.Tests.Protocol;

/// <summary>The password line as a board reads and compares it (shared by the board's side and the gateway).</summary>
public sealed class PasswordLineTests
{
    [Fact]
    public void PasswordLine_ComparesAsTheBoard()
    {
        using var accepted = Line("secret\r");
        using var same = Line("sec", "ret\rprint(1)");
        using var wrong = Line("secreT\r");
        using var longer = Line("secret-and-more\r");
        Assert.True(accepted.Matches(same));
        Assert.False(accepted.Matches(wrong));
        Assert.False(accepted.Matches(longer));

        // A virtual board's 12-character password: its first 10 characters are not enough to join.
        using var twelve = Line("k7m2x9qa4fhp\r");
        using var firstTen = Line("k7m2x9qa4f\r");
        using var tenAndMore = Line("k7m2x9qa4fXX\r");
        using var twelveAgain = Line("k7m2x9qa4f", "hp\r");
        Assert.True(twelve.Matches(twelveAgain));
        Assert.False(twelve.Matches(firstTen));
        Assert.False(twelve.Matches(tenAndMore));

        var line = new PasswordLine();
        Assert.Equal(4, line.Feed("abc\rrest"u8));
        Assert.True(line.IsComplete);
        line.Dispose();

        static PasswordLine Line(params string[] parts)
        {
            var line = new PasswordLine();
            foreach (string part in parts)
            {
                line.Feed(System.Text.Encoding.ASCII.GetBytes(part));
            }

            return line;
        }
    }
}
