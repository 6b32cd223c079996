using System.Text.Json;
using WebRepl.Protocol;

namespace WebRepl.Tests.Vectors;

/// <summary>
/// <see cref="Pacing"/> against <c>tests/vectors/pacing.json</c>, which web/src/pacing.ts is checked against too
/// (and docs/protocol.md's table, by the pages' tests): one rule in both languages.
/// </summary>
public sealed class PacingVectorTests
{
    [Fact]
    public void Pacing_HoldsEveryValueOfTheVectors()
    {
        var vectors = VectorFile.Load("pacing.json");
        var values = new Dictionary<string, double>
        {
            ["inputBufferBytes"] = Pacing.InputBufferBytes,
            ["rawReplPieceBytes"] = Pacing.RawReplPieceBytes,
            ["rawReplPauseMs"] = Pacing.RawReplPause.TotalMilliseconds,
            ["terminalPieceBytes"] = Pacing.TerminalPieceBytes,
            ["terminalPauseMs"] = Pacing.TerminalPause.TotalMilliseconds,
            ["echoPieceBytes"] = Pacing.EchoPieceBytes,
            ["echoWindowBytes"] = Pacing.EchoWindowBytes,
            ["echoStallMs"] = Pacing.EchoStall.TotalMilliseconds,
            ["rawEnterRetryMs"] = Pacing.RawEnterRetry.TotalMilliseconds,
        };

        var numbers = vectors.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Number).ToDictionary(p => p.Name, p => p.Value.GetDouble());

        Assert.Equal(numbers.Keys.Order(), values.Keys.Order());
        Assert.All(numbers, pair => Assert.Equal(pair.Value, values[pair.Key]));
    }
}
