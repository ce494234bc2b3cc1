using System.Text.RegularExpressions;
using CsCheck;
using LlmNotebooks.Reasoning;

namespace LlmNotebooks.Tests.Reasoning;

public class ArithmeticProblemTests
{
    [Fact]
    public void AdditionIsWrittenColumnByColumnWithItsCarries()
    {
        var p = new ArithmeticProblem(347, '+', 586);
        Assert.Equal("347+586=", p.Prompt);
        Assert.Equal(933, p.Answer);
        Assert.Equal(3, p.Digits);
        Assert.Equal(["7+6=13", "4+8+1=13", "3+5+1=9"], p.Steps);
        Assert.Equal("7+6=13,4+8+1=13,3+5+1=9#933.", p.ChainOfThoughtResponse);
        Assert.Equal("#933.", p.AnswerOnlyResponse);
        Assert.Equal("9+1=10,9+0+1=10#100.", new ArithmeticProblem(99, '+', 1).ChainOfThoughtResponse);   // the last carry leads the answer
        Assert.Equal("0+0=0#0.", new ArithmeticProblem(0, '+', 0).ChainOfThoughtResponse);
    }

    [Fact]
    public void SubtractionMarksBorrowedTensAndThePaidBorrow()
    {
        var p = new ArithmeticProblem(503, '-', 247);
        Assert.Equal(["13-7=6", "10-4-1=5", "5-2-1=2"], p.Steps);
        Assert.Equal("13-7=6,10-4-1=5,5-2-1=2#256.", p.ChainOfThoughtResponse);
        Assert.Equal("10-1=9,9-0-1=8#89.", new ArithmeticProblem(90, '-', 1).ChainOfThoughtResponse);
        Assert.Equal("3-3=0,0-0=0,1-1=0#0.", new ArithmeticProblem(103, '-', 103).ChainOfThoughtResponse);   // leading zeros dropped
    }

    [Fact]
    public void BadProblemsAreRefusedWithTheReason()
    {
        Assert.Contains("Left ≥ Right", Assert.Throws<ArgumentException>(() => new ArithmeticProblem(3, '-', 5).Validate()).Message);
        Assert.Contains("'+' or '-'", Assert.Throws<ArgumentException>(() => new ArithmeticProblem(3, '*', 5).Validate()).Message);
        Assert.Contains("[0, ", Assert.Throws<ArgumentException>(() => _ = new ArithmeticProblem(-3, '+', 5).Steps).Message);
    }

    /// <summary>
    /// Every step re-checked by an independent reading: parse "x+y(+1)?=s" (or "(1)?x-y(-1)?=d"), check the digits are the
    /// operands' column digits, that the carry (borrow) received is the one the previous step passed on, that the
    /// arithmetic is right, and that the answer after '#' is the problem's answer.
    /// </summary>
    [Fact]
    public void EveryChainOfThoughtStepIsRight()
    {
        var addition = new Regex(@"^(\d)\+(\d)(\+1)?=(\d+)$");
        var subtraction = new Regex(@"^(1)?(\d)-(\d)(-1)?=(\d)$");
        Gen.Select(Gen.Long[0, 99_999_999], Gen.Long[0, 99_999_999], Gen.Bool).Sample((x, y, subtract) =>
        {
            var p = subtract ? new ArithmeticProblem(Math.Max(x, y), '-', Math.Min(x, y)) : new ArithmeticProblem(x, '+', y);
            string response = p.ChainOfThoughtResponse;
            var (chain, answer) = (response[..response.IndexOf('#')], response[(response.IndexOf('#') + 1)..]);
            Assert.Equal($"{p.Answer}.", answer);
            var steps = chain.Split(',');
            Assert.Equal(Math.Max(x.ToString().Length, y.ToString().Length), steps.Length);
            long a = p.Left, b = p.Right;
            int carry = 0;
            var digits = new List<long>();
            foreach (var step in steps)
            {
                long da = a % 10, db = b % 10;
                a /= 10; b /= 10;
                if (!subtract)
                {
                    var m = addition.Match(step);
                    Assert.True(m.Success, $"step '{step}' of {p}");
                    Assert.Equal((da, db, carry), (long.Parse(m.Groups[1].Value), long.Parse(m.Groups[2].Value), m.Groups[3].Success ? 1 : 0));
                    long sum = long.Parse(m.Groups[4].Value);
                    Assert.Equal(da + db + carry, sum);
                    digits.Add(sum % 10);
                    carry = (int)(sum / 10);
                }
                else
                {
                    var m = subtraction.Match(step);
                    Assert.True(m.Success, $"step '{step}' of {p}");
                    bool borrowed = m.Groups[1].Success;
                    Assert.Equal((da, db, carry), (long.Parse(m.Groups[2].Value), long.Parse(m.Groups[3].Value), m.Groups[4].Success ? 1 : 0));
                    long difference = long.Parse(m.Groups[5].Value);
                    Assert.Equal((borrowed ? 10 : 0) + da - db - carry, difference);
                    Assert.InRange(difference, 0, 9);
                    Assert.Equal(borrowed, da - carry < db);                 // borrow exactly when the column would go negative
                    digits.Add(difference);
                    carry = borrowed ? 1 : 0;
                }
            }
            if (carry == 1) { Assert.False(subtract); digits.Add(1); }       // the last column's carry leads a sum; a difference never borrows past its top
            digits.Reverse();
            Assert.Equal(p.Answer, long.Parse(string.Concat(digits)));
            Assert.Equal(p.Answer, AnswerVerifier.Parse(response));
        }, iter: 2000);
    }

    [Fact]
    public void GeneratedProblemsRepeatForASeedAndHaveTheirDifficulty()
    {
        var a = ArithmeticProblems.Generate(200, 4, seed: 3, subtractionShare: 0.5);
        Assert.Equal(a, ArithmeticProblems.Generate(200, 4, seed: 3, subtractionShare: 0.5));
        Assert.NotEqual(a, ArithmeticProblems.Generate(200, 4, seed: 4, subtractionShare: 0.5));
        Assert.All(a, p => { Assert.InRange(p.Left, 1000, 9999); Assert.InRange(p.Right, 1000, 9999); Assert.Equal(4, p.Digits); });
        Assert.All(a.Where(p => p.Operation == '-'), p => Assert.True(p.Left >= p.Right));
        Assert.InRange(a.Count(p => p.Operation == '-'), 70, 130);
        Assert.All(ArithmeticProblems.Generate(300, 1, seed: 1), p => { Assert.InRange(p.Left, 0, 9); Assert.InRange(p.Right, 0, 9); });
        Assert.Equal(ArithmeticProblems.Generate(1, 2, seed: 8)[0].ToString(), ArithmeticProblems.Generate(1, 2, seed: 8)[0].ToString());
    }

    [Fact]
    public void MixedDrawsEveryDifficultyAndSkipsTheExcluded()
    {
        var heldOut = ArithmeticProblems.Generate(100, 2, seed: 5).ToHashSet();
        var train = ArithmeticProblems.Mixed(4000, 1, 3, seed: 6, exclude: heldOut);
        Assert.Equal(train, ArithmeticProblems.Mixed(4000, 1, 3, seed: 6, exclude: heldOut));
        Assert.All(new[] { 1, 2, 3 }, d => Assert.InRange(train.Count(p => p.Digits == d), 1100, 1570));
        Assert.DoesNotContain(train, heldOut.Contains);
        var all = Enumerable.Range(0, 10).SelectMany(x => Enumerable.Range(0, 10).Select(y => new ArithmeticProblem(x, '+', y))).ToHashSet();
        Assert.Contains("excluded set", Assert.Throws<ArgumentException>(() => ArithmeticProblems.Generate(1, 1, 0, exclude: all)).Message);
        Assert.Contains("maxDigits (2) must be ≥ minDigits (3)", Assert.Throws<ArgumentException>(() => ArithmeticProblems.Mixed(1, 3, 2, 0)).Message);
        Assert.Contains("digits must be in 1–18", Assert.Throws<ArgumentException>(() => ArithmeticProblems.Generate(1, 0, 0)).Message);
    }

    [Fact]
    public void TheTokenizerCoversEverySolutionAndRoundTrips()
    {
        var tokenizer = ArithmeticFormat.Tokenizer;
        Assert.Equal(17, tokenizer.VocabSize);
        foreach (var p in ArithmeticProblems.Mixed(200, 1, 5, seed: 2, subtractionShare: 0.5))
        {
            string text = p.Prompt + p.ChainOfThoughtResponse;
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
            Assert.DoesNotContain(ArithmeticFormat.PadToken, tokenizer.Encode(text));
        }
        Assert.Equal("#._", tokenizer.Decode([ArithmeticFormat.MarkerToken, ArithmeticFormat.EndToken, ArithmeticFormat.PadToken]));
    }
}
