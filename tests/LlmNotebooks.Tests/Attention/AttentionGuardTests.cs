using LlmNotebooks.Attention;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Attention;

/// <summary>
/// The attention guards by their messages, through both the written-out <see cref="ScaledDotProductAttention.Compute"/>
/// and the fused kernel, which runs the same checks and one of its own: libtorch would throw (or abort) anyway, so only
/// the course's words show that a guard ran.
/// </summary>
public class AttentionGuardTests
{
    static string ComputeRefusal(Tensor q, Tensor k, Tensor v, Tensor? mask = null) =>
        Assert.Throws<ArgumentException>(() => ScaledDotProductAttention.Compute(q, k, v, mask)).Message;

    static string FusedRefusal(Tensor q, Tensor k, Tensor v, Tensor? mask = null, bool causal = false) =>
        Assert.Throws<ArgumentException>(() => ScaledDotProductAttention.Fused(q, k, v, mask, causal)).Message;

    /// <summary>Each bad input with the message both paths must give.</summary>
    static IEnumerable<(Tensor Q, Tensor K, Tensor V, Tensor? Mask, string Message)> BadInputs() =>
    [
        (zeros(4), zeros(4), zeros(4), null,
            "q, k and v must have the same rank (at least 2: (…, T, d)); got q (4), k (4), v (4)."),
        (zeros(1, 3, 4), zeros(3, 4), zeros(1, 3, 4), null,
            "q, k and v must have the same rank (at least 2: (…, T, d)); got q (1, 3, 4), k (3, 4), v (1, 3, 4)."),
        (zeros(1, 3, 4), zeros(1, 3, 4), zeros(3, 4), null,
            "q, k and v must have the same rank (at least 2: (…, T, d)); got q (1, 3, 4), k (1, 3, 4), v (3, 4)."),
        (zeros(1, 3, 4), zeros(1, 5, 8), zeros(1, 5, 8), null,
            "Queries and keys must have the same size d_k (last axis): q (1, 3, 4), k (1, 5, 8)."),
        (zeros(1, 3, 4), zeros(1, 5, 4), zeros(1, 6, 4), null,
            "Keys and values must come in the same number S (second-to-last axis): k (1, 5, 4), v (1, 6, 4)."),
        (zeros(2, 3, 4), zeros(1, 3, 4), zeros(1, 3, 4), null,
            "q, k and v must share their leading (batch, head) axes: q (2, 3, 4), k (1, 3, 4), v (1, 3, 4)."),
        (zeros(2, 3, 4), zeros(2, 3, 4), zeros(1, 3, 4), null,
            "q, k and v must share their leading (batch, head) axes: q (2, 3, 4), k (2, 3, 4), v (1, 3, 4)."),
        (zeros(1, 3, 4), zeros(1, 3, 4), zeros(1, 3, 4), zeros(3, 3),
            "An attention mask must be boolean (true = may attend), got Float32. Build one with AttentionMasks.Causal or .Padding. (Parameter 'mask')"),
        (zeros(1, 3, 4), zeros(1, 3, 4), zeros(1, 3, 4), ones(1, 1, 3, 3, dtype: ScalarType.Bool),
            "The mask (1, 1, 3, 3) has more axes than the attention scores (1, 3, 3). (Parameter 'mask')"),
        (zeros(1, 3, 4), zeros(1, 3, 4), zeros(1, 3, 4), AttentionMasks.Causal(5),
            "The mask (5, 5) does not broadcast to the attention scores (1, 3, 3) (B, H, T, S): axis 1 is 5, expected 1 or 3. (Parameter 'mask')"),
        (zeros(1, 3, 4), zeros(1, 5, 4), zeros(1, 5, 4), ones(2, 5, dtype: ScalarType.Bool),
            "The mask (2, 5) does not broadcast to the attention scores (1, 3, 5) (B, H, T, S): axis 0 is 2, expected 1 or 3. (Parameter 'mask')"),
    ];

    [Fact]
    public void Compute_refuses_bad_shapes_and_masks_in_the_courses_words()
    {
        using var scope = NewDisposeScope();
        foreach (var (q, k, v, mask, message) in BadInputs()) Assert.Equal(message, ComputeRefusal(q, k, v, mask));
    }

    [Fact]
    public void Fused_attention_runs_the_same_checks_and_its_own()
    {
        using var scope = NewDisposeScope();
        foreach (var (q, k, v, mask, message) in BadInputs()) Assert.Equal(message, FusedRefusal(q, k, v, mask));
        var x = randn(1, 2, 3, 4);
        Assert.Equal("Pass either a mask or causal: true, not both (combine masks with AttentionMasks.And).",
            FusedRefusal(x, x, x, AttentionMasks.Causal(3), causal: true));
        // What passes the checks runs: a broadcastable mask, causal alone, a mask alone.
        Assert.Equal(new long[] { 1, 2, 3, 4 }, ScaledDotProductAttention.Fused(x, x, x, ones(3, 1, dtype: ScalarType.Bool)).shape);
        Assert.Equal(new long[] { 1, 2, 3, 4 }, ScaledDotProductAttention.Fused(x, x, x, causal: true).shape);
        Assert.True(ScaledDotProductAttention.Fused(x, x, x, AttentionMasks.Causal(3))
            .allclose(ScaledDotProductAttention.Fused(x, x, x, causal: true), atol: 1e-6));
    }

    [Fact]
    public void Masks_refuse_lengths_they_cannot_build_in_the_courses_words()
    {
        using var scope = NewDisposeScope();
        Assert.Equal("A mask needs a positive length, got 0. (Parameter 'length')",
            Assert.Throws<ArgumentOutOfRangeException>(() => AttentionMasks.Causal(0)).Message);
        Assert.Equal("A mask needs a positive length, got -2. (Parameter 'length')",
            Assert.Throws<ArgumentOutOfRangeException>(() => AttentionMasks.Causal(-2)).Message);
        Assert.Equal(new[] { true }, AttentionMasks.Causal(1).data<bool>().ToArray());
        Assert.Equal("Every length must be in [1, 3], got [3, 0]. (Parameter 'lengths')",
            Assert.Throws<ArgumentOutOfRangeException>(() => AttentionMasks.Padding([3, 0], 3)).Message);
        Assert.Equal("Every length must be in [1, 3], got [4]. (Parameter 'lengths')",
            Assert.Throws<ArgumentOutOfRangeException>(() => AttentionMasks.Padding([4], 3)).Message);
        Assert.Equal(new[] { true, false, false, true, true, true }, AttentionMasks.Padding([1, 3], 3).data<bool>().ToArray());
    }

    [Fact]
    public void Multi_head_attention_refuses_widths_that_do_not_split_in_the_courses_words()
    {
        foreach (var (channels, heads) in new[] { (30L, 8L), (32L, 0L), (0L, 4L), (-8L, 4L), (32L, -4L) })
            Assert.Equal($"The model width must split evenly into heads: channels {channels}, heads {heads} (need channels % heads == 0).",
                Assert.Throws<ArgumentException>(() => new MultiHeadAttention(channels, heads)).Message);
        using var causal = new MultiHeadAttention(8, 2, causal: true);
        using var scope = NewDisposeScope();
        Assert.Equal("A causal mask needs as many keys as queries; got T = 2 queries and S = 3 keys.",
            Assert.Throws<ArgumentException>(() => causal.forward(randn(1, 2, 8), randn(1, 3, 8))).Message);
    }
}
