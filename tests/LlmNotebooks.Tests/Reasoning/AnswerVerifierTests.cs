using CsCheck;
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
    [InlineData("#123456789012345678.", 123456789012345678L)]   // 18 digits
    [InlineData("#-123456789012345678.", -123456789012345678L)]
    [InlineData("#1999999999999999998.", 1999999999999999998L)] // 19 digits: the largest sum of two 18-digit operands
    [InlineData("#9223372036854775807.", long.MaxValue)]        // the most a long holds
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
    [InlineData("#9223372036854775808.")]      // 19 digits, but one more than a long holds
    [InlineData("#9999999999999999999.")]
    [InlineData("#12345678901234567890.")]     // 20 digits
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

    /// <summary>Issue 24: the verifier read at most 18 digits while two 18-digit operands sum to 19, so right answers scored 0.</summary>
    [Fact]
    public void EveryRightAnswerAtTheLargestSizeIsRead()
    {
        Assert.Equal(19, AnswerVerifier.MaxDigits);
        Assert.Equal(AnswerVerifier.MaxDigits, ArithmeticProblem.MaxAnswer.ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
        var largest = new ArithmeticProblem(ArithmeticProblem.MaxOperand, '+', ArithmeticProblem.MaxOperand);
        Assert.Equal(ArithmeticProblem.MaxAnswer, largest.Answer);
        Assert.Equal(1.0, AnswerVerifier.Reward(largest.AnswerOnlyResponse, largest.Answer));
        const long low = 100_000_000_000_000_000;                                     // the smallest 18-digit operand
        Gen.Select(Gen.Long[low, ArithmeticProblem.MaxOperand], Gen.Long[low, ArithmeticProblem.MaxOperand], Gen.Bool).Sample((x, y, subtract) =>
        {
            var p = subtract ? new ArithmeticProblem(Math.Max(x, y), '-', Math.Min(x, y)) : new ArithmeticProblem(x, '+', y);
            Assert.Equal(18, p.Digits);
            Assert.Equal(p.Answer, AnswerVerifier.Parse(p.AnswerOnlyResponse));
            Assert.Equal(1.0, AnswerVerifier.Reward(p.ChainOfThoughtResponse, p.Answer));
        });
        foreach (var p in ArithmeticProblems.Generate(500, ArithmeticProblems.MaxDigits, seed: 24, subtractionShare: 0.5))
            Assert.True(AnswerVerifier.IsCorrect(p.Response(chainOfThought: true), p.Answer) && AnswerVerifier.IsCorrect(p.Response(chainOfThought: false), p.Answer), p.ToString());
    }
}
