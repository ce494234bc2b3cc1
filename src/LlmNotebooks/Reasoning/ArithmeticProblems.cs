namespace LlmNotebooks.Reasoning;

/// <summary>
/// Deterministic generators of <see cref="ArithmeticProblem"/>s: the same arguments always give the same problems,
/// in the same order, on every machine (System.Random with an int seed is a fixed algorithm). A problem of
/// difficulty d has two d-digit operands (no leading zeros; for d = 1 the operands are 0–9).
/// <code>
/// var heldOut = ArithmeticProblems.Generate(50, digits: 4, seed: 7);          // 50 four-digit additions
/// var train = ArithmeticProblems.Mixed(5000, 1, 4, seed: 1, exclude: heldOut.ToHashSet());
/// </code>
/// </summary>
public static class ArithmeticProblems
{
    /// <summary>The most digits an operand can have (<see cref="ArithmeticProblem.MaxOperand"/>).</summary>
    public const int MaxDigits = 18;

    /// <summary>
    /// <paramref name="count"/> problems of difficulty <paramref name="digits"/>, drawn with replacement, each a
    /// subtraction with probability <paramref name="subtractionShare"/> (its larger operand first) and an addition
    /// otherwise, skipping any problem in <paramref name="exclude"/> (to keep held-out problems out of training).
    /// </summary>
    /// <exception cref="ArgumentException">A count below 0, digits outside 1–18, a share outside [0, 1], or an
    /// <paramref name="exclude"/> set that leaves (almost) no problem of this difficulty to draw.</exception>
    public static IReadOnlyList<ArithmeticProblem> Generate(int count, int digits, int seed, double subtractionShare = 0, IReadOnlySet<ArithmeticProblem>? exclude = null)
    {
        Guard.AtLeast(count, 0, nameof(count));
        RequireDigits(digits, nameof(digits));
        Guard.Finite(subtractionShare, nameof(subtractionShare), 0, 1, "It is the probability that a problem is a subtraction: 0 for additions only.");
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Draw(random, digits, subtractionShare, exclude)).ToList();
    }

    /// <summary>
    /// <paramref name="count"/> problems whose difficulty is drawn uniformly from <paramref name="minDigits"/> to
    /// <paramref name="maxDigits"/> (inclusive), otherwise as <see cref="Generate"/>.
    /// </summary>
    public static IReadOnlyList<ArithmeticProblem> Mixed(int count, int minDigits, int maxDigits, int seed, double subtractionShare = 0, IReadOnlySet<ArithmeticProblem>? exclude = null)
    {
        Guard.AtLeast(count, 0, nameof(count));
        RequireDigits(minDigits, nameof(minDigits));
        RequireDigits(maxDigits, nameof(maxDigits));
        if (maxDigits < minDigits)
            throw new ArgumentException($"maxDigits ({maxDigits}) must be ≥ minDigits ({minDigits}).", nameof(maxDigits));
        Guard.Finite(subtractionShare, nameof(subtractionShare), 0, 1, "It is the probability that a problem is a subtraction: 0 for additions only.");
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Draw(random, random.Next(minDigits, maxDigits + 1), subtractionShare, exclude)).ToList();
    }

    static ArithmeticProblem Draw(Random random, int digits, double subtractionShare, IReadOnlySet<ArithmeticProblem>? exclude)
    {
        long low = digits == 1 ? 0 : Pow10(digits - 1), high = Pow10(digits);       // operands in [low, high)
        for (int attempt = 0; attempt < 10_000; attempt++)
        {
            long a = random.NextInt64(low, high), b = random.NextInt64(low, high);
            bool subtract = random.NextDouble() < subtractionShare;
            var problem = subtract ? new ArithmeticProblem(Math.Max(a, b), '-', Math.Min(a, b)) : new ArithmeticProblem(a, '+', b);
            if (exclude is null || !exclude.Contains(problem)) return problem;
        }
        throw new ArgumentException($"10,000 draws of {digits}-digit problems in a row were all in the excluded set: it holds (almost) every problem of " +
                                    "this difficulty. Exclude fewer problems, or draw from more digits.", nameof(exclude));
    }

    static long Pow10(int n)
    {
        long p = 1;
        for (int i = 0; i < n; i++) p *= 10;
        return p;
    }

    static void RequireDigits(int digits, string name)
    {
        if (digits is < 1 or > MaxDigits)
            throw new ArgumentException($"{name} must be in 1–{MaxDigits} (digits per operand), got {digits}.", name);
    }
}
