using LlmNotebooks.FineTuning.Quantizing;
using MathNet.Numerics.Distributions;

namespace LlmNotebooks.Tests.FineTuning.Quantizing;

public class FourBitFormatTests
{
    /// <summary>
    /// The NF4 table as published: bitsandbytes' <c>get_4bit_type("nf4")</c> in bitsandbytes/functional.py (the same
    /// 16 numbers are printed in the QLoRA paper, Dettmers et al. 2023, Appendix E). Typed in here as the reference.
    /// </summary>
    static readonly double[] PublishedNf4 =
    [
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
        -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
        0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
    ];

    [Fact]
    public void Nf4_levels_derived_from_normal_quantiles_match_the_published_table()
    {
        var derived = FourBitFormat.NormalFloatLevels();
        Assert.Equal(16, derived.Length);
        for (int i = 0; i < 16; i++)
            Assert.True(Math.Abs(derived[i] - PublishedNf4[i]) < 1e-6, $"level {i}: derived {derived[i]:R}, published {PublishedNf4[i]:R}");
        for (int i = 0; i < 16; i++)
            Assert.True(Math.Abs(FourBitFormat.Nf4.Levels[i] - PublishedNf4[i]) < 1e-6, $"float level {i}");
    }

    [Fact]
    public void Nf4_is_asymmetric_with_an_exact_zero_and_both_ends()
    {
        var levels = FourBitFormat.Nf4.Levels;
        Assert.Equal(0f, levels[7]);
        Assert.Equal(-1f, levels[0]);
        Assert.Equal(1f, levels[15]);
        Assert.Equal(8, levels.Count(v => v > 0));
        Assert.Equal(7, levels.Count(v => v < 0));
    }

    [Theory]
    [InlineData(0.5, 0.0)]
    [InlineData(0.8413447460685429, 1.0)]            // Φ(1)
    [InlineData(0.975, 1.9599639845400536)]
    [InlineData(0.9677083, 1.848130959757373)]       // NF4's outermost quantile, the divisor of the table
    [InlineData(1e-10, -6.361340902404056)]
    public void The_inverse_normal_cdf_hits_known_quantiles(double p, double z)
    {
        // NF4 relies on MathNet.Numerics for Φ⁻¹; these are standard table values.
        Assert.Equal(z, Normal.InvCDF(0, 1, p), 9);
    }

    [Fact]
    public void Int4_is_k_over_7_and_fp4_is_e2m1_over_6()
    {
        Assert.Equal(Enumerable.Range(-7, 15).Select(k => k / 7f), FourBitFormat.Int4.Levels);
        float[] magnitudes = [0, 0.5f, 1, 1.5f, 2, 3, 4, 6];
        var expected = magnitudes.Skip(1).Reverse().Select(m => -m / 6).Concat(magnitudes.Select(m => m / 6)).ToArray();
        Assert.Equal(expected, FourBitFormat.Fp4.Levels);
        Assert.Equal(15, FourBitFormat.Fp4.Levels.Count);
        Assert.Equal(["NF4", "INT4", "FP4"], FourBitFormat.All.Select(f => f.Name));
    }

    [Fact]
    public void Thresholds_are_midpoints()
    {
        var f = FourBitFormat.Int4;
        Assert.Equal(14, f.Thresholds.Count);
        Assert.Equal((f.Levels[3] + f.Levels[4]) / 2, f.Thresholds[3]);
    }

    [Fact]
    public void Bad_levels_get_clear_errors()
    {
        Assert.Contains("between 2 and 16 levels", Assert.Throws<ArgumentException>(() => new FourBitFormat("X", new float[17])).Message);
        Assert.Contains("strictly ascending", Assert.Throws<ArgumentException>(() => new FourBitFormat("X", [0.5f, 0.1f])).Message);
        Assert.Contains("normalised to [-1, 1]", Assert.Throws<ArgumentException>(() => new FourBitFormat("X", [0f, 2f])).Message);
        Assert.Contains("(0.5, 1)", Assert.Throws<ArgumentOutOfRangeException>(() => FourBitFormat.NormalFloatLevels(1.0)).Message);
    }

    /// <summary>The message refusing these levels, numbers written in the invariant culture.</summary>
    static string Refusal(string name, IReadOnlyList<float>? levels) =>
        InvariantCulture.Format(() => Assert.Throws<ArgumentException>(() => new FourBitFormat(name, levels!)).Message);

    [Fact]
    public void A_format_needs_a_name()
    {
        foreach (var name in new[] { "", "  ", null })
        {
            var e = Assert.Throws<ArgumentException>(() => new FourBitFormat(name!, [-1f, 1f]));
            Assert.Equal("name", e.ParamName);
            Assert.StartsWith("A format needs a name, e.g. \"NF4\".", e.Message);
        }
    }

    [Fact]
    public void Two_to_sixteen_levels_are_accepted_and_the_refusal_says_how_many_there_were()
    {
        Assert.Equal(2, new FourBitFormat("two", [-1f, 1f]).Levels.Count);
        Assert.Equal(3, new FourBitFormat("three", [-1f, 0f, 1f]).Levels.Count);
        var sixteen = Enumerable.Range(0, 16).Select(i => -1 + 2f * i / 15).ToArray();
        Assert.Equal(16, new FourBitFormat("sixteen", sixteen).Levels.Count);
        Assert.StartsWith("A 4-bit format has between 2 and 16 levels (one per 4-bit code), got 1.", Refusal("X", [0f]));
        Assert.StartsWith("A 4-bit format has between 2 and 16 levels (one per 4-bit code), got 17.",
                          Refusal("X", Enumerable.Range(0, 17).Select(i => -1 + 2f * i / 16).ToArray()));
        Assert.StartsWith("A 4-bit format has between 2 and 16 levels (one per 4-bit code), got 0.", Refusal("X", null));
    }

    [Fact]
    public void Levels_may_reach_minus_one_and_one_but_not_beyond_and_must_be_finite()
    {
        var edges = new FourBitFormat("edges", [-1f, 0f, 1f]);
        Assert.Equal([-1f, 0f, 1f], edges.Levels);
        Assert.StartsWith("Level 0 of X is -2; levels are normalised to [-1, 1]", Refusal("X", [-2f, 0f]));
        Assert.StartsWith("Level 0 of X is -1.001;", Refusal("X", [-1.001f, 0f]));
        Assert.StartsWith("Level 1 of X is 1.001;", Refusal("X", [0f, 1.001f]));
        Assert.StartsWith("Level 1 of X is NaN;", Refusal("X", [0f, float.NaN]));
        Assert.StartsWith("Level 1 of X is Infinity;", Refusal("X", [0f, float.PositiveInfinity]));
    }

    [Fact]
    public void Equal_neighbours_are_not_strictly_ascending_and_the_message_names_both()
    {
        Assert.StartsWith("The levels of X must be strictly ascending; level 2 (0.5) is not above level 1 (0.5).", Refusal("X", [0f, 0.5f, 0.5f]));
        Assert.StartsWith("The levels of X must be strictly ascending; level 1 (-0.5) is not above level 0 (0.5).", Refusal("X", [0.5f, -0.5f, 1f]));
    }

    [Fact]
    public void A_new_formats_thresholds_are_the_midpoints_of_its_levels_and_its_text_names_it()
    {
        var f = new FourBitFormat("uneven", [-1f, -0.5f, 0f, 1f]);
        Assert.Equal([-0.75f, -0.25f, 0.5f], f.Thresholds);
        Assert.Equal("uneven (4 levels)", f.ToString());
        Assert.Equal("NF4 (16 levels)", FourBitFormat.Nf4.ToString());
        Assert.Equal("INT4 (15 levels)", FourBitFormat.Int4.ToString());
    }

    [Fact]
    public void The_normal_float_offset_lies_strictly_between_one_half_and_one()
    {
        foreach (double offset in new[] { 0.5, 1.0, 0.2 })
        {
            ArgumentOutOfRangeException? e = null;
            InvariantCulture.Format(() => (e = Assert.Throws<ArgumentOutOfRangeException>(() => FourBitFormat.NormalFloatLevels(offset))).Message);
            Assert.Equal("offset", e!.ParamName);
            Assert.StartsWith(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                              $"The outermost probability must lie in (0.5, 1), got {offset}; QLoRA uses 0.9677083."), e.Message);
        }
        var near = FourBitFormat.NormalFloatLevels(0.51);                       // just inside: still 16 levels, -1 … 0 … 1
        Assert.Equal(16, near.Length);
        Assert.Equal([-1.0, 0.0, 1.0], new[] { near[0], near[7], near[15] });
        Assert.True(near.Zip(near.Skip(1)).All(p => p.First < p.Second), "ascending");
    }
}
