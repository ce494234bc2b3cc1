using LlmNotebooks.Attention;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Attention;

public class ScaledDotProductAttentionTests
{
    static (Tensor Q, Tensor K, Tensor V) Random(long b, long h, long t, long s, long d, int seed = 1)
    {
        manual_seed(seed);
        return (randn(b, h, t, d), randn(b, h, s, d), randn(b, h, s, d + 1));
    }

    [Fact]
    public void Shapes_and_rows_that_sum_to_one()
    {
        using var scope = NewDisposeScope();
        var (q, k, v) = Random(2, 3, 5, 7, 4);
        var (output, weights) = ScaledDotProductAttention.Compute(q, k, v);
        Assert.Equal(new long[] { 2, 3, 5, 5 }, output.shape);
        Assert.Equal(new long[] { 2, 3, 5, 7 }, weights.shape);
        Assert.True(weights.sum(-1).allclose(ones(2, 3, 5), atol: 1e-6));
        Assert.True(weights.ge(0).all().item<bool>());
    }

    [Fact]
    public void Hand_worked_example()
    {
        using var scope = NewDisposeScope();
        // One query equal to the second of two keys, d_k = 4: scores (0, 4/2 = 2), softmax (0.1192, 0.8808).
        var q = tensor(new float[] { 1, 1, 1, 1 }).reshape(1, 1, 4);
        var k = tensor(new float[,] { { 0, 0, 0, 0 }, { 1, 1, 1, 1 } }).reshape(1, 2, 4);
        var v = tensor(new float[,] { { 10, 0 }, { 0, 10 } }).reshape(1, 2, 2);
        var (output, weights) = ScaledDotProductAttention.Compute(q, k, v);
        double w1 = Math.Exp(2) / (1 + Math.Exp(2));
        Assert.Equal(1 - w1, weights[0, 0, 0].item<float>(), 5);
        Assert.Equal(w1, weights[0, 0, 1].item<float>(), 5);
        Assert.Equal(10 * w1, output[0, 0, 1].item<float>(), 4);
    }

    [Fact]
    public void Masked_positions_get_exactly_zero_weight()
    {
        using var scope = NewDisposeScope();
        var (q, k, v) = Random(2, 2, 4, 4, 8);
        var (_, causal) = ScaledDotProductAttention.Compute(q, k, v, AttentionMasks.Causal(4));
        Assert.Equal(0f, causal.triu(1).abs().sum().item<float>());
        var padding = AttentionMasks.Padding([3, 1], 4);
        var (_, padded) = ScaledDotProductAttention.Compute(q, k, v, padding);
        Assert.Equal(0f, padded[0, .., .., 3].abs().sum().item<float>());
        Assert.Equal(0f, padded[1, .., .., 1..].abs().sum().item<float>());
        Assert.True(padded[1, .., .., 0].allclose(ones(2, 4)));
    }

    [Fact]
    public void A_single_sequence_without_batch_axes_is_accepted()
    {
        // Rank 2, (T, d), is the smallest the guard allows: the chapter 2 examples attend over one sentence.
        using var scope = NewDisposeScope();
        var (q, k, v) = Random(1, 1, 3, 5, 4, seed: 3);
        var (batched, _) = ScaledDotProductAttention.Compute(q, k, v);
        var (single, weights) = ScaledDotProductAttention.Compute(q[0, 0], k[0, 0], v[0, 0]);
        Assert.Equal(new long[] { 3, 5 }, weights.shape);
        Assert.True(single.allclose(batched[0, 0], atol: 1e-6));
        Assert.True(ScaledDotProductAttention.Fused(q[0, 0], k[0, 0], v[0, 0]).allclose(single, atol: 1e-5));
    }

    [Theory]
    [InlineData("none")]
    [InlineData("causal")]
    [InlineData("padding")]
    [InlineData("both")]
    public void Fused_equals_written_out(string masking)
    {
        using var scope = NewDisposeScope();
        var (q, k, v) = Random(2, 4, 6, 6, 16, seed: 7);
        Tensor? mask = masking switch
        {
            "causal" => AttentionMasks.Causal(6),
            "padding" => AttentionMasks.Padding([6, 2], 6),
            "both" => AttentionMasks.And(AttentionMasks.Padding([6, 2], 6), AttentionMasks.Causal(6)),
            _ => null,
        };
        var (naive, _) = ScaledDotProductAttention.Compute(q, k, v, mask);
        var fused = masking == "causal" ? ScaledDotProductAttention.Fused(q, k, v, causal: true) : ScaledDotProductAttention.Fused(q, k, v, mask);
        Assert.True(fused.allclose(naive, rtol: 1e-5, atol: 1e-5), $"largest difference {(fused - naive).abs().max().item<float>()}");
    }

    [Fact]
    public void Mismatched_shapes_name_expected_and_actual()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => ScaledDotProductAttention.Compute(zeros(1, 3, 4), zeros(1, 5, 8), zeros(1, 5, 8)));
        Assert.Contains("same size d_k", e.Message);
        Assert.Contains("(1, 3, 4)", e.Message);
        Assert.Contains("(1, 5, 8)", e.Message);
        e = Assert.Throws<ArgumentException>(() => ScaledDotProductAttention.Compute(zeros(1, 3, 4), zeros(1, 5, 4), zeros(1, 6, 4)));
        Assert.Contains("same number S", e.Message);
        e = Assert.Throws<ArgumentException>(() => ScaledDotProductAttention.Compute(zeros(1, 3, 4), zeros(1, 3, 4), zeros(1, 3, 4), zeros(3, 3)));
        Assert.Contains("must be boolean", e.Message);
        e = Assert.Throws<ArgumentException>(() => ScaledDotProductAttention.Compute(zeros(1, 3, 4), zeros(1, 3, 4), zeros(1, 3, 4), AttentionMasks.Causal(5)));
        Assert.Contains("does not broadcast", e.Message);
    }

    [Fact]
    public void Masks_look_as_documented()
    {
        using var scope = NewDisposeScope();
        Assert.Equal(new[] { true, false, false, true, true, false, true, true, true }, AttentionMasks.Causal(3).data<bool>().ToArray());
        Assert.Equal(new long[] { 2, 1, 1, 3 }, AttentionMasks.Padding([3, 1], 3).shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => AttentionMasks.Padding([4], 3));
    }
}
