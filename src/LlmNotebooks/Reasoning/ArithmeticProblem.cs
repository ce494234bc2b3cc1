using System.Globalization;
using System.Text;

namespace LlmNotebooks.Reasoning;

/// <summary>
/// One written-arithmetic problem, <c>Left Operation Right</c> (addition, or subtraction with Left ≥ Right so that the
/// result is never negative), and the two ways the course writes its solution:
/// <list type="bullet">
/// <item><b>answer only</b>: the prompt <c>347+586=</c>, the response <c>#933.</c>: the model must produce the sum's
/// leading digit first, which depends on every carry to its right, all "in its head";</item>
/// <item><b>chain of thought</b>: the same prompt, the response <c>7+6=13,4+8+1=13,3+5+1=9#933.</c>: the columns from
/// right to left, each with the carry it receives (<c>+1</c>), then the <see cref="ArithmeticFormat.AnswerMarker"/>
/// and the answer. Every step needs only two digits and a carry, and the answer is read off the steps.</item>
/// </list>
/// Subtraction writes a borrowed column with a leading 1 and the borrow it pays as <c>-1</c>: 503−247 is
/// <c>13-7=6,10-4-1=5,5-2-1=2#256.</c>. Both formats end with <see cref="ArithmeticFormat.EndOfAnswer"/>.
/// </summary>
/// <param name="Left">The first operand, ≥ 0.</param>
/// <param name="Operation">'+' or '-'.</param>
/// <param name="Right">The second operand, ≥ 0 (≤ Left for subtraction).</param>
public sealed record ArithmeticProblem(long Left, char Operation, long Right)
{
    /// <summary>
    /// The largest operand accepted: 18 digits, so that every sum fits a long. A sum can then have 19 digits (see
    /// <see cref="MaxAnswer"/>), which <see cref="AnswerVerifier"/> reads (<see cref="AnswerVerifier.MaxDigits"/>).
    /// </summary>
    public const long MaxOperand = 999_999_999_999_999_999;

    /// <summary>The largest answer a problem can have, <see cref="MaxOperand"/> + <see cref="MaxOperand"/> = 1,999,999,999,999,999,998 (19 digits).</summary>
    public const long MaxAnswer = 2 * MaxOperand;

    /// <summary>The right result: Left + Right or Left − Right.</summary>
    public long Answer => Operation == '+' ? Left + Right : Left - Right;

    /// <summary>The difficulty: how many digits the longer operand has (347+586 has 3).</summary>
    public int Digits => Math.Max(DigitCount(Left), DigitCount(Right));

    /// <summary>What the model reads: <c>347+586=</c>.</summary>
    public string Prompt => string.Create(CultureInfo.InvariantCulture, $"{Left}{Operation}{Right}=");

    /// <summary>The answer-only response: <c>#933.</c> (the marker, the answer, the end).</summary>
    public string AnswerOnlyResponse => FinalAnswer;

    /// <summary>The chain-of-thought response: the column steps joined by ',', then <c>#933.</c>.</summary>
    public string ChainOfThoughtResponse => string.Join(ArithmeticFormat.StepSeparator, Steps) + FinalAnswer;

    /// <summary>The response in the format asked for.</summary>
    public string Response(bool chainOfThought) => chainOfThought ? ChainOfThoughtResponse : AnswerOnlyResponse;

    string FinalAnswer => string.Create(CultureInfo.InvariantCulture, $"{ArithmeticFormat.AnswerMarker}{Answer}{ArithmeticFormat.EndOfAnswer}");

    /// <summary>
    /// The written steps, one per column from the ones column leftwards, with a shorter operand's missing digits as 0.
    /// 347+586 → ["7+6=13", "4+8+1=13", "3+5+1=9"]: each step's digits are the column's, "+1" is the carry it received,
    /// and the result's last digit is the answer's digit in that column (its tens digit the carry passed on; the last
    /// column's whole result leads the answer). 503−247 → ["13-7=6", "10-4-1=5", "5-2-1=2"]: a leading 1 marks a
    /// borrowed ten, "-1" the borrow paid to the column on the right.
    /// </summary>
    public IReadOnlyList<string> Steps
    {
        get
        {
            Validate();
            var steps = new List<string>(Digits);
            long a = Left, b = Right;
            int carry = 0;                                       // addition: carry in; subtraction: borrow in
            for (int column = 0; column < Digits; column++, a /= 10, b /= 10)
            {
                int x = (int)(a % 10), y = (int)(b % 10);
                var step = new StringBuilder();
                if (Operation == '+')
                {
                    int sum = x + y + carry;
                    step.Append(CultureInfo.InvariantCulture, $"{x}+{y}").Append(carry == 1 ? "+1" : "").Append(CultureInfo.InvariantCulture, $"={sum}");
                    carry = sum / 10;
                }
                else
                {
                    bool borrow = x - carry < y;
                    int difference = (borrow ? 10 : 0) + x - y - carry;
                    step.Append(borrow ? "1" : "").Append(CultureInfo.InvariantCulture, $"{x}-{y}").Append(carry == 1 ? "-1" : "").Append(CultureInfo.InvariantCulture, $"={difference}");
                    carry = borrow ? 1 : 0;
                }
                steps.Add(step.ToString());
            }
            return steps;
        }
    }

    /// <summary>Throws when the operands are negative, too large, the operation unknown, or a subtraction would go below 0.</summary>
    public void Validate()
    {
        if (Operation is not ('+' or '-'))
            throw new ArgumentException($"Operation must be '+' or '-', got '{Operation}'.", nameof(Operation));
        if (Left < 0 || Right < 0 || Left > MaxOperand || Right > MaxOperand)
            throw new ArgumentException($"Operands must be whole numbers in [0, {MaxOperand}] (at most 18 digits), got {Left} and {Right}.");
        if (Operation == '-' && Left < Right)
            throw new ArgumentException($"A subtraction needs Left ≥ Right so that the result is not negative, got {Left}-{Right}. Swap the operands.");
    }

    /// <summary>Digits of a whole number ≥ 0 (0 has one).</summary>
    public static int DigitCount(long n) => n < 10 ? 1 : 1 + DigitCount(n / 10);

    public override string ToString() => Prompt + Answer.ToString(CultureInfo.InvariantCulture);
}
