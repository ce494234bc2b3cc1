using LlmNotebooks.Attention;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Attention;

public class MultiHeadAttentionTests
{
    [Fact]
    public void Self_and_cross_attention_keep_the_query_shape()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var mha = new MultiHeadAttention(32, 8);
        Assert.Equal(new long[] { 2, 5, 32 }, mha.forward(randn(2, 5, 32)).shape);
        Assert.Equal(new long[] { 2, 5, 32 }, mha.forward(randn(2, 5, 32), randn(2, 9, 32)).shape);
    }

    [Fact]
    public void Parameter_count_is_four_projections()
    {
        using var mha = new MultiHeadAttention(32, 8);
        Assert.Equal(4 * (32 * 32 + 32), mha.parameters().Sum(p => p.numel()));
        Assert.Equal(new[] { "q_proj.weight", "q_proj.bias", "k_proj.weight", "k_proj.bias", "v_proj.weight", "v_proj.bias", "out_proj.weight", "out_proj.bias" },
                     mha.state_dict().Keys);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fused_and_written_out_paths_agree(bool causal)
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        using var mha = new MultiHeadAttention(64, 8, causal: causal);
        var x = randn(3, 10, 64);
        var mask = AttentionMasks.Padding([10, 7, 3], 10);
        mha.UseFused = true;
        var fused = mha.forward(x, null, mask);
        mha.UseFused = false;
        var naive = mha.forward(x, null, mask);
        Assert.True(fused.allclose(naive, rtol: 1e-5, atol: 1e-5), $"largest difference {(fused - naive).abs().max().item<float>()}");
    }

    [Fact]
    public void Causal_attention_never_looks_ahead()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var mha = new MultiHeadAttention(16, 4, causal: true);
        var x = randn(1, 6, 16);
        var changed = x.clone();
        changed[0, 4] = randn(16);                       // change token 4
        var before = mha.forward(x);
        var after = mha.forward(changed);
        Assert.True(before[0, ..4].allclose(after[0, ..4]), "tokens 0-3 must not see token 4");
        Assert.False(before[0, 4].allclose(after[0, 4]));
    }

    [Fact]
    public void Kept_weights_have_one_map_per_head_and_rows_summing_to_one()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        using var mha = new MultiHeadAttention(32, 8, causal: true) { KeepWeights = true };
        mha.forward(randn(2, 5, 32));
        var w = mha.LastWeights!;
        Assert.Equal(new long[] { 2, 8, 5, 5 }, w.shape);
        Assert.True(w.sum(-1).allclose(ones(2, 8, 5), atol: 1e-5));
        Assert.Equal(0f, w.triu(1).abs().sum().item<float>());
    }

    [Fact]
    public void A_new_forward_frees_the_weights_kept_from_the_last_one()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        using var mha = new MultiHeadAttention(16, 2) { KeepWeights = true };
        Assert.True(mha.UseFused);                        // fused by default; KeepWeights takes the written-out path
        mha.forward(randn(1, 3, 16));
        var first = mha.LastWeights!;
        mha.forward(randn(1, 4, 16));
        Assert.True(first.IsInvalid);                     // the old (1, 2, 3, 3) maps were disposed, not leaked
        Assert.Equal(new long[] { 1, 2, 4, 4 }, mha.LastWeights!.shape);
        mha.LastWeights!.Dispose();
    }

    [Fact]
    public void Gradients_reach_every_parameter()
    {
        manual_seed(5);
        using var mha = new MultiHeadAttention(16, 4);
        using (var scope = NewDisposeScope())
        {
            var x = randn(2, 3, 16);
            mha.forward(x, randn(2, 4, 16)).pow(2).sum().backward();
        }
        foreach (var (name, p) in mha.named_parameters())
        {
            Assert.NotNull(p.grad);
            Assert.True(p.grad!.abs().sum().item<float>() > 0, $"{name} got no gradient");
        }
    }

    [Fact]
    public void Bad_shapes_get_clear_errors()
    {
        using var scope = NewDisposeScope();
        Assert.Contains("split evenly", Assert.Throws<ArgumentException>(() => new MultiHeadAttention(30, 8)).Message);
        using var mha = new MultiHeadAttention(32, 4);
        var e = Assert.Throws<ArgumentException>(() => mha.forward(randn(2, 5, 16)));
        Assert.Contains("query: expected shape (B, T, C) = (*, *, 32), got (2, 5, 16)", e.Message);
        e = Assert.Throws<ArgumentException>(() => mha.forward(randn(2, 5, 32), randn(3, 5, 32)));
        Assert.Contains("context: expected shape (B, S, C) = (2, *, 32), got (3, 5, 32)", e.Message);
        using var causal = new MultiHeadAttention(32, 4, causal: true);
        Assert.Contains("as many keys as queries", Assert.Throws<ArgumentException>(() => causal.forward(randn(1, 5, 32), randn(1, 6, 32))).Message);
    }

    [Fact]
    public void No_tensor_leaks_over_many_steps()
    {
        manual_seed(6);
        using var mha = new MultiHeadAttention(32, 4, causal: true);
        using var optimizer = optim.AdamW(mha.parameters(), lr: 1e-3);
        long Live() => DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        void Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            mha.forward(randn(4, 8, 32)).pow(2).mean().backward();
            optimizer.step();
        }
        for (int i = 0; i < 5; i++) Step();
        long before = Live();
        for (int i = 0; i < 100; i++) Step();
        Assert.Equal(before, Live());
    }
}
