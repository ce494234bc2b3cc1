using TorchSharp;
using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Transformer;

public class BuildingBlockTests
{
    [Fact]
    public void Sinusoidal_encoding_has_the_documented_values()
    {
        using var pe = PositionalEncoding.Sinusoidal(3, 2);
        var expected = new[] { 0, 1, Math.Sin(1), Math.Cos(1), Math.Sin(2), Math.Cos(2) };
        var actual = pe.data<float>().ToArray();
        for (int i = 0; i < 6; i++) Assert.Equal(expected[i], actual[i], 6);
        using var big = PositionalEncoding.Sinusoidal(50, 16);
        Assert.Equal(new long[] { 50, 16 }, big.shape);
        Assert.True(big.abs().max().item<float>() <= 1.0f);
        Assert.Throws<ArgumentException>(() => PositionalEncoding.Sinusoidal(4, 3));
    }

    [Fact]
    public void Feed_forward_keeps_the_shape()
    {
        using var scope = NewDisposeScope();
        using var ff = new FeedForward(16, 64);
        Assert.Equal(new long[] { 2, 5, 16 }, ff.forward(randn(2, 5, 16)).shape);
        Assert.Equal(16 * 64 + 64 + 64 * 16 + 16, ff.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void Mixture_of_experts_routes_every_token_and_balances()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var moe = new MixtureOfExperts(16, 32, experts: 4, topK: 2);
        var x = randn(3, 7, 16);
        var y = moe.forward(x);
        Assert.Equal(new long[] { 3, 7, 16 }, y.shape);
        Assert.Empty(moe.LastExpertCounts);                                // counted only when asked
        moe.KeepExpertCounts = true;
        var (routed, auxLoss) = moe.Route(x);
        Assert.Equal(21, moe.LastExpertCounts.Sum());
        Assert.True(routed.allclose(y));
        float aux = auxLoss.item<float>();
        Assert.InRange(aux, 0.9f, 4.0f);   // 1 when perfectly balanced, E when everything goes to one expert
        (routed.sum() + auxLoss).backward();
        Assert.All(moe.parameters(), p => Assert.NotNull(p.grad));
    }

    [Fact]
    public void The_load_balancing_loss_is_returned_by_its_pass_and_nothing_is_kept_in_the_layer()
    {
        manual_seed(1);
        using var moe = new MixtureOfExperts(16, 32, experts: 4, topK: 2);
        using var x = randn(3, 7, 16);
        Tensor first;
        using (NewDisposeScope()) first = moe.Route(x).AuxLoss.MoveToOuterDisposeScope();
        float value = first.item<float>();
        using (NewDisposeScope()) moe.Route(randn(5, 2, 16) * 10);          // a later pass in a later scope
        Assert.Equal(value, first.item<float>());                          // the first pass's loss is still alive and unchanged
        Assert.DoesNotContain(typeof(MixtureOfExperts).GetProperties(), p => typeof(Tensor).IsAssignableFrom(p.PropertyType));
        first.Dispose();
    }

    [Fact]
    public void Mixture_with_top_k_equal_to_all_experts_is_the_probability_weighted_sum()
    {
        using var scope = NewDisposeScope();
        manual_seed(2);
        using var moe = new MixtureOfExperts(8, 16, experts: 3, topK: 3);
        var x = randn(1, 4, 8);
        var y = moe.forward(x);
        var children = moe.named_modules().ToDictionary(m => m.name, m => m.module);
        var probs = ((TorchSharp.Modules.Linear)children["router"]).forward(x).softmax(-1);
        var expected = zeros_like(x);
        for (int e = 0; e < 3; e++) expected += ((FeedForward)children[$"experts.{e}"]).forward(x) * probs[.., .., e..(e + 1)];
        Assert.True(y.allclose(expected, atol: 1e-5));
    }

    [Fact]
    public void Causal_self_attention_fused_equals_kept_weights_path()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var attn = new CausalSelfAttention(32, 4);
        var x = randn(2, 6, 32);
        var fused = attn.forward(x);
        attn.KeepWeights = true;
        var naive = attn.forward(x);
        Assert.True(fused.allclose(naive, atol: 1e-5));
        Assert.Equal(0f, attn.LastWeights!.triu(1).abs().sum().item<float>());
    }

    [Fact]
    public void Bad_configs_get_clear_errors()
    {
        Assert.Contains("divisible", Assert.Throws<ArgumentException>(() => new GptConfig(10, 8, 1, 3, 16).Validate()).Message);
        Assert.Contains("Experts", Assert.Throws<ArgumentException>(() => new EncoderDecoderConfig(5, 5, 4, 4, Experts: 1).Validate()).Message);
        Assert.Contains("topK", Assert.Throws<ArgumentException>(() => new MixtureOfExperts(8, 8, 2, 3)).Message);
    }
}
