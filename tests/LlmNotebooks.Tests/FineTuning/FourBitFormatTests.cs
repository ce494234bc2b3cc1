using LlmNotebooks.FineTuning;
using MathNet.Numerics.Distributions;

namespace LlmNotebooks.Tests.FineTuning;

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
}
