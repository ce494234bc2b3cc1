using MathNet.Numerics.Distributions;

namespace LlmNotebooks.FineTuning.Quantizing;

/// <summary>
/// A 4-bit number format for weights: at most 16 levels in [-1, 1], sorted. A weight block is scaled by its absmax
/// (largest |w|) into [-1, 1], and each value is stored as the 4-bit index (code) of its nearest level:
/// <code>
/// code  = index of the level nearest to w / absmax
/// w'    = Levels[code] · absmax
/// </code>
/// The formats differ only in where their levels sit, and that alone decides how large the rounding error is:
/// <list type="bullet">
/// <item><see cref="Nf4"/> — NormalFloat4 (QLoRA): levels at quantiles of a normal distribution, dense near 0 where
/// most weights of a trained network are.</item>
/// <item><see cref="Int4"/> — plain integers -7..7 (divided by 7): evenly spaced.</item>
/// <item><see cref="Fp4"/> — the E2M1 floating-point format (1 sign, 2 exponent, 1 mantissa bit): magnitudes
/// 0, 0.5, 1, 1.5, 2, 3, 4, 6 (divided by 6), dense near 0 but coarse at the top.</item>
/// </list>
/// </summary>
public sealed class FourBitFormat
{
    /// <summary>The name shown in charts and tables ("NF4", "INT4", "FP4").</summary>
    public string Name { get; }

    /// <summary>The levels, ascending, within [-1, 1]; the code of a value is its index here (0..Count-1 ≤ 15).</summary>
    public IReadOnlyList<float> Levels { get; }

    /// <summary>
    /// The decision boundaries: the midpoints between neighbouring levels (Count - 1 of them). A normalised value
    /// x gets code i when Thresholds[i-1] &lt; x ≤ Thresholds[i] (ties go to the lower level).
    /// </summary>
    public IReadOnlyList<float> Thresholds { get; }

    public FourBitFormat(string name, IReadOnlyList<float> levels)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A format needs a name, e.g. \"NF4\".", nameof(name));
        if (levels is null || levels.Count is < 2 or > 16)
            throw new ArgumentException($"A 4-bit format has between 2 and 16 levels (one per 4-bit code), got {levels?.Count ?? 0}.", nameof(levels));
        for (int i = 0; i < levels.Count; i++)
        {
            if (!float.IsFinite(levels[i]) || levels[i] < -1 || levels[i] > 1)
                throw new ArgumentException($"Level {i} of {name} is {levels[i]}; levels are normalised to [-1, 1] (the block's absmax maps to ±1).", nameof(levels));
            if (i > 0 && levels[i] <= levels[i - 1])
                throw new ArgumentException($"The levels of {name} must be strictly ascending; level {i} ({levels[i]}) is not above level {i - 1} ({levels[i - 1]}).", nameof(levels));
        }
        Name = name;
        Levels = levels.ToArray();
        Thresholds = Enumerable.Range(0, levels.Count - 1).Select(i => (levels[i] + levels[i + 1]) / 2).ToArray();
    }

    public override string ToString() => $"{Name} ({Levels.Count} levels)";

    /// <summary>
    /// For decoding packed bytes: 256 pairs, flattened — entry 2b is the level of byte b's high nibble, entry 2b+1 that of
    /// its low nibble (a code beyond the last level decodes as the last level; the encoder never writes one).
    /// </summary>
    internal float[] BytePairLevels => _bytePairs ??= Enumerable.Range(0, 256)
        .SelectMany(b => new[] { Levels[Math.Min(b >> 4, Levels.Count - 1)], Levels[Math.Min(b & 15, Levels.Count - 1)] }).ToArray();
    float[]? _bytePairs;

    /// <summary>
    /// The probability where NF4's outermost quantile is taken, from the QLoRA code (bitsandbytes'
    /// <c>create_normal_map</c>): the average of 1 - 1/(2·15) and 1 - 1/(2·16), rounded to 7 digits there. Φ⁻¹(1) would
    /// be infinite, so the largest level cannot sit at probability 1; this offset puts it where the 15- and 16-level
    /// quantile grids would put the centre of their last bin.
    /// </summary>
    public const double NormalFloatOffset = 0.9677083;

    /// <summary>
    /// Derives NF4's 16 levels from quantiles of the standard normal distribution (QLoRA, Dettmers et al. 2023, §3 and
    /// Appendix E). A symmetric grid of 16 quantiles has no level at 0, yet 0 must be exact (padding, pruned weights,
    /// and a block's many near-zero weights). So the two halves are built separately and share the zero:
    /// <list type="number">
    /// <item>positive half: Φ⁻¹ at 9 probabilities evenly spaced from <see cref="NormalFloatOffset"/> down to 0.5,
    /// without the last one (Φ⁻¹(0.5) = 0) — 8 levels;</item>
    /// <item>negative half: −Φ⁻¹ at 8 probabilities evenly spaced over the same range, without the last — 7 levels;</item>
    /// <item>plus 0 itself: 8 + 7 + 1 = 16;</item>
    /// <item>sorted and divided by the largest, Φ⁻¹(offset) ≈ 1.848, so that the levels span [-1, 1].</item>
    /// </list>
    /// The result is asymmetric: one more level above 0 than below it, and -1 and +1 both present.
    /// Φ⁻¹ is <see cref="Normal.InvCDF"/> from MathNet.Numerics.
    /// </summary>
    public static double[] NormalFloatLevels(double offset = NormalFloatOffset)
    {
        if (offset is <= 0.5 or >= 1)
            throw new ArgumentOutOfRangeException(nameof(offset), $"The outermost probability must lie in (0.5, 1), got {offset}; QLoRA uses {NormalFloatOffset}.");
        static double[] Spaced(double from, double to, int count) =>
            Enumerable.Range(0, count).Select(i => from + (to - from) * i / (count - 1)).ToArray();
        var positive = Spaced(offset, 0.5, 9)[..^1].Select(p => Normal.InvCDF(0, 1, p));
        var negative = Spaced(offset, 0.5, 8)[..^1].Select(p => -Normal.InvCDF(0, 1, p));
        var levels = positive.Concat(negative).Append(0.0).Order().ToArray();
        double max = levels[^1];
        return levels.Select(v => v / max).ToArray();
    }

    /// <summary>NormalFloat4, the QLoRA format: the 16 levels of <see cref="NormalFloatLevels"/>.</summary>
    public static FourBitFormat Nf4 { get; } = new("NF4", NormalFloatLevels().Select(v => (float)v).ToArray());

    /// <summary>
    /// Symmetric INT4 absmax: the 15 levels k/7 for k = -7..7. Code 15 (two's complement -8) is left unused, so the
    /// grid is symmetric around an exact 0 and both ±absmax are representable (with -8..7 the top would be 7/8).
    /// </summary>
    public static FourBitFormat Int4 { get; } = new("INT4", Enumerable.Range(-7, 15).Select(k => k / 7f).ToArray());

    /// <summary>
    /// FP4 E2M1 (the OCP microscaling format's element type): magnitudes 0, 0.5, 1, 1.5, 2, 3, 4, 6 with a sign bit,
    /// divided by 6 so that the block's absmax maps to the largest. +0 and −0 are one level, so 15 distinct levels.
    /// </summary>
    public static FourBitFormat Fp4 { get; } = new("FP4", Fp4Magnitudes.Reverse().Select(m => -m / 6f).SkipLast(1)   // −6 .. −0.5
                                                              .Concat(Fp4Magnitudes.Select(m => m / 6f)).ToArray());        // 0 .. 6

    /// <summary>The eight magnitudes of E2M1: exponent 0 gives 0 and 0.5 (subnormal), exponents 1-3 give 1, 1.5, 2, 3, 4, 6.</summary>
    static float[] Fp4Magnitudes => [0f, 0.5f, 1f, 1.5f, 2f, 3f, 4f, 6f];

    /// <summary>The three formats the chapter compares, NF4 first.</summary>
    public static IReadOnlyList<FourBitFormat> All { get; } = [Nf4, Int4, Fp4];
}
