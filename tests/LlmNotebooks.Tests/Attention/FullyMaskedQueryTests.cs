using LlmNotebooks.Attention;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Attention;

/// <summary>A mask that hides every key from some query would give that query a NaN output: every path refuses it and names the query.</summary>
public class FullyMaskedQueryTests
{
    static Tensor Bools(long[] shape, params int[] falseAt)
    {
        var m = ones(shape, dtype: ScalarType.Bool);
        var flat = m.view(-1);
        foreach (int i in falseAt) flat[i] = false;
        return m;
    }

    [Fact]
    public void Compute_and_fused_refuse_a_blind_query_and_name_its_batch_head_and_row()
    {
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 4, 8);                                                      // (B, H, T, d)
        var mask = ones(2, 3, 4, 4, dtype: ScalarType.Bool);
        mask[1, 2, 3] = zeros(4, dtype: ScalarType.Bool);                               // batch 1, head 2, row 3 sees nothing
        mask[1, 2, 2, 0] = false;                                                       // a row with one key hidden is fine
        foreach (var message in new[]
                 {
                     Assert.Throws<ArgumentException>(() => ScaledDotProductAttention.Compute(x, x, x, mask)).Message,
                     Assert.Throws<ArgumentException>(() => ScaledDotProductAttention.Fused(x, x, x, mask)).Message,
                 })
        {
            Assert.Contains("hides every key from batch 1, head 2, query row 3", message);
            Assert.Contains("NaN", message);
            Assert.Contains("(Parameter 'mask')", message);
        }
    }

    [Fact]
    public void A_broadcast_mask_names_the_axes_it_covers_as_every()
    {
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 4, 8);
        var padding = zeros(2, 1, 1, 4, dtype: ScalarType.Bool);                        // (B, 1, 1, S)
        padding[0] = ones(1, 1, 4, dtype: ScalarType.Bool);                             // sequence 1 has no real key at all
        Assert.Contains("hides every key from batch 1, every head, every query row",
            Assert.Throws<ArgumentException>(() => ScaledDotProductAttention.Compute(x, x, x, padding)).Message);
        var rows = Bools([4, 4], 4, 5, 6, 7);                                           // (T, S): row 1 sees nothing
        Assert.Contains("hides every key from every batch, every head, query row 1",
            Assert.Throws<ArgumentException>(() => ScaledDotProductAttention.Fused(x, x, x, rows)).Message);
        var threeAxes = randn(2, 4, 8);                                                 // (B, T, d): no head axis
        Assert.Contains("hides every key from batch 0, query row 2",
            Assert.Throws<ArgumentException>(() => ScaledDotProductAttention.Compute(threeAxes, threeAxes, threeAxes, Bools([2, 4, 4], 8, 9, 10, 11))).Message);
    }

    [Fact]
    public void Masks_that_leave_every_query_a_key_still_run_and_give_no_nan()
    {
        using var scope = NewDisposeScope();
        var x = randn(2, 3, 4, 8);
        var both = AttentionMasks.And(AttentionMasks.Padding([4, 2], 4), AttentionMasks.Causal(4));   // right padding: query 0 sees key 0
        var (output, weights) = ScaledDotProductAttention.Compute(x, x, x, both);
        Assert.False(output.isnan().any().item<bool>());
        Assert.False(weights.isnan().any().item<bool>());
        Assert.False(ScaledDotProductAttention.Fused(x, x, x, both).isnan().any().item<bool>());
        Assert.False(ScaledDotProductAttention.Fused(x, x, x, causal: true).isnan().any().item<bool>());
    }

    [Fact]
    public void Multi_head_attention_refuses_a_padding_mask_that_the_causal_mask_leaves_blind()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var attention = new MultiHeadAttention(channels: 8, heads: 2, causal: true);
        var x = randn(2, 4, 8);
        // Left padding: sequence 1's first two keys are padding, so under the causal mask its queries 0 and 1 see nothing.
        var leftPadding = tensor(new[] { true, true, true, true, false, false, true, true }).reshape(2, 1, 1, 4);
        foreach (bool fused in new[] { true, false })
        {
            attention.UseFused = fused;
            Assert.Contains("hides every key from batch 1, every head, query row 0",
                Assert.Throws<ArgumentException>(() => attention.forward(x, null, leftPadding)).Message);
        }
        using var plain = new MultiHeadAttention(channels: 8, heads: 2);
        var blindHead = ones(2, 2, 4, 4, dtype: ScalarType.Bool);
        blindHead[0, 1, 2] = zeros(4, dtype: ScalarType.Bool);
        Assert.Contains("hides every key from batch 0, head 1, query row 2",
            Assert.Throws<ArgumentException>(() => plain.forward(x, null, blindHead)).Message);
        Assert.False(plain.forward(x, null, AttentionMasks.Padding([4, 2], 4)).isnan().any().item<bool>());   // padding keys only: fine
    }
}
