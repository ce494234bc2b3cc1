using System.Globalization;

namespace LlmNotebooks.Reasoning;

/// <summary>
/// The verifiable reward of reasoning RL: reads the final answer out of a model's response and compares it with the
/// right one. Whatever the model wrote, it never throws: an answer it cannot read counts as wrong.
/// <para>
/// The rule: the answer is what follows the <b>first</b> <see cref="ArithmeticFormat.AnswerMarker"/> '#', up to the
/// first <see cref="ArithmeticFormat.EndOfAnswer"/> '.' or the end of the text (sampling usually removes the stop
/// token; anything after it is ignored). That text, with surrounding spaces trimmed, must be a whole number: an
/// optional '-' and 1–<see cref="MaxDigits"/> (19) digits whose value fits a long. 19 digits is what the longest right
/// answer has: two 18-digit operands (<see cref="ArithmeticProblem.MaxOperand"/>) sum to at most 1,999,999,999,999,999,998.
/// Anything else (no marker, nothing after it, "93x3", a second '#') is unparsable.
/// </para>
/// <code>
/// AnswerVerifier.Parse("7+6=13,4+8+1=13,3+5+1=9#933.")   // 933
/// AnswerVerifier.Parse("7+6=13,4+8")                     // null: the chain was cut before the marker
/// AnswerVerifier.Reward("#933.", 933)                    // 1
/// </code>
/// </summary>
public static class AnswerVerifier
{
    /// <summary>
    /// The most digits an answer may have: 19, enough for every answer <see cref="ArithmeticProblem"/> can produce
    /// (<see cref="ArithmeticProblem.MaxAnswer"/>, the sum of two largest operands, has 19), and at most what a long
    /// holds (9,223,372,036,854,775,807 has 19 digits; a 19-digit text above it is unreadable).
    /// </summary>
    public const int MaxDigits = 19;

    /// <summary>The final answer of <paramref name="response"/>, or null when it has none that can be read.</summary>
    public static long? Parse(string? response)
    {
        if (response is null) return null;
        int marker = response.IndexOf(ArithmeticFormat.AnswerMarker);
        if (marker < 0) return null;
        var rest = response.AsSpan(marker + 1);
        int end = rest.IndexOf(ArithmeticFormat.EndOfAnswer);
        var answer = (end < 0 ? rest : rest[..end]).Trim(' ');
        bool negative = answer.StartsWith("-");
        var digits = negative ? answer[1..] : answer;
        if (digits.Length is 0 or > MaxDigits) return null;
        foreach (char c in digits) if (c is < '0' or > '9') return null;
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long value)) return null;   // 19 digits above long.MaxValue
        return negative ? -value : value;
    }

    /// <summary>Whether the response's final answer can be read and equals <paramref name="expected"/>.</summary>
    public static bool IsCorrect(string? response, long expected) => Parse(response) == expected;

    /// <summary>The reward of RL with a verifiable reward: 1 for a right final answer, 0 for a wrong or unreadable one.</summary>
    public static double Reward(string? response, long expected) => IsCorrect(response, expected) ? 1.0 : 0.0;
}
