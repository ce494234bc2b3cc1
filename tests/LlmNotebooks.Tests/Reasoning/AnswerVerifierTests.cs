using LlmNotebooks.Reasoning;

namespace LlmNotebooks.Tests.Reasoning;

public class AnswerVerifierTests
{
    [Theory]
    [InlineData("7+6=13,4+8+1=13,3+5+1=9#933.", 933L)]
    [InlineData("#933.", 933L)]
    [InlineData("#933", 933L)]                 // the stop token already removed
    [InlineData("# 933 .", 933L)]              // spaces around the number
    [InlineData("#0.", 0L)]
    [InlineData("#-12.", -12L)]
    [InlineData("#933.garbage after the end", 933L)]
    [InlineData("#007.", 7L)]
    [InlineData("#123456789012345678.", 123456789012345678L)]   // 18 digits: the longest answer read
    [InlineData("#-123456789012345678.", -123456789012345678L)]
    public void ReadsTheAnswerAfterTheMarker(string response, long expected)
    {
        Assert.Equal(expected, AnswerVerifier.Parse(response));
        Assert.True(AnswerVerifier.IsCorrect(response, expected));
        Assert.Equal(1.0, AnswerVerifier.Reward(response, expected));
    }

    [Theory]
    [InlineData("")]
    [InlineData("933")]                        // no marker: the chain was never finished
    [InlineData("7+6=13,4+8")]                 // cut mid-chain
    [InlineData("#")]                          // a marker and nothing after it
    [InlineData("#.")]
    [InlineData("#93x3.")]                     // extra text inside the answer
    [InlineData("#933 and more")]
    [InlineData("#9#33.")]                     // a second marker
    [InlineData("#-.")]
    [InlineData("#+5.")]
    [InlineData("#1234567890123456789.")]      // 19 digits: more than a long holds
    [InlineData("#٣.")]                        // an Arabic-Indic digit is not an answer here
    [InlineData(null)]
    public void AnythingElseIsUnreadableAndWrongWithoutThrowing(string? response)
    {
        Assert.Null(AnswerVerifier.Parse(response));
        Assert.False(AnswerVerifier.IsCorrect(response, 933));
        Assert.Equal(0.0, AnswerVerifier.Reward(response, 933));
    }

    [Fact]
    public void AWrongAnswerIsReadButWrong()
    {
        Assert.Equal(932, AnswerVerifier.Parse("7+6=13,4+8+1=13,3+5+1=9#932."));
        Assert.False(AnswerVerifier.IsCorrect("#932.", 933));
    }
}
