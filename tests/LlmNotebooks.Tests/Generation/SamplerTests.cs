using LlmNotebooks.Generation;
using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Generation;

public class SamplerTests
{
    static Tensor Logits(params double[] values) => tensor(values, dtype: float64);

    [Fact]
    public void Greedy_is_one_hot_on_the_largest_score()
    {
        using var p = Sampler.Filter(Logits(1, 3, 2), SamplingOptions.Greedy);
        Assert.Equal(new[] { 0.0, 1.0, 0.0 }, p.data<double>().ToArray());
    }

    [Fact]
    public void Temperature_sharpens_or_flattens_the_softmax()
    {
        using var t1 = Sampler.Filter(Logits(0, Math.Log(3)), new SamplingOptions(1));
        Assert.Equal(0.75, t1[1].item<double>(), 12);
        using var cold = Sampler.Filter(Logits(0, Math.Log(3)), new SamplingOptions(0.5));
        Assert.Equal(0.9, cold[1].item<double>(), 12);                       // 9 : 1
        using var hot = Sampler.Filter(Logits(0, Math.Log(3)), new SamplingOptions(2));
        Assert.Equal(Math.Sqrt(3) / (1 + Math.Sqrt(3)), hot[1].item<double>(), 12);
    }

    [Fact]
    public void Top_k_and_top_p_keep_the_most_likely_tokens_and_renormalise()
    {
        var logits = Logits(Math.Log(0.5), Math.Log(0.3), Math.Log(0.15), Math.Log(0.05));
        using var k2 = Sampler.Filter(logits, new SamplingOptions(1, TopK: 2));
        Assert.Equal(new[] { 0.625, 0.375, 0, 0 }, k2.data<double>().Select(v => Math.Round(v, 12)));
        using var p75 = Sampler.Filter(logits, new SamplingOptions(1, TopP: 0.75));   // 0.5 + 0.3 ≥ 0.75
        Assert.Equal(new[] { 0.625, 0.375, 0, 0 }, p75.data<double>().Select(v => Math.Round(v, 12)));
        using var p80 = Sampler.Filter(logits, new SamplingOptions(1, TopP: 0.85));   // needs the third
        Assert.Equal(3, p80.data<double>().Count(v => v > 0));
        Assert.Throws<ArgumentException>(() => new SamplingOptions(1, TopP: 1.5).Validate());
        Assert.Throws<ArgumentException>(() => new SamplingOptions(-1).Validate());
    }

    [Fact]
    public void Generation_is_repeatable_with_a_seed_and_greedy_follows_the_argmax()
    {
        manual_seed(5);
        using var model = new Gpt(GptConfig.Tiny);
        int[] prompt = [1, 2, 3];
        var a = Sampler.Generate(model, prompt, 20, new SamplingOptions(1.0), seed: 7);
        var b = Sampler.Generate(model, prompt, 20, new SamplingOptions(1.0), seed: 7);
        var c = Sampler.Generate(model, prompt, 20, new SamplingOptions(1.0), seed: 8);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.Equal(20, a.Count);                                            // longer than the context: it slides
        var greedy = Sampler.Generate(model, prompt, 1, SamplingOptions.Greedy);
        using var probs = Sampler.NextTokenProbabilities(model, prompt);
        Assert.Equal(probs.argmax().item<long>(), greedy[0]);
        Assert.Throws<ArgumentException>(() => Sampler.NextTokenProbabilities(model, []));
    }

    [Fact]
    public void A_batch_of_rows_is_filtered_row_by_row_and_NextToken_draws_one_token_per_row()
    {
        var rows = tensor(new[] { Math.Log(0.5), Math.Log(0.3), Math.Log(0.15), Math.Log(0.05),
                                  Math.Log(0.05), Math.Log(0.15), Math.Log(0.3), Math.Log(0.5) }, dtype: float64).reshape(2, 4);
        foreach (var options in new[] { SamplingOptions.Greedy, new SamplingOptions(0.7), new SamplingOptions(1, TopK: 2), new SamplingOptions(1.3, TopP: 0.75) })
        {
            using var batch = Sampler.Filter(rows, options);
            for (int r = 0; r < 2; r++)
            {
                using var one = Sampler.Filter(rows[r], options);
                Assert.Equal(one.data<double>().ToArray(), batch[r].data<double>().ToArray());      // bit for bit
            }
        }
        using var greedy = Sampler.NextToken(rows, SamplingOptions.Greedy);
        Assert.Equal(new long[] { 0, 3 }, greedy.data<long>().ToArray());
        // Top-k 1 is greedy at any temperature; a seeded generator repeats its draws.
        using var top1 = Sampler.NextToken(rows, new SamplingOptions(5, TopK: 1), new Generator(3));
        Assert.Equal(new long[] { 0, 3 }, top1.data<long>().ToArray());
        long[] Draw(ulong seed) { using var g = new Generator(seed); using var t = Sampler.NextToken(rows.repeat(50, 1), new SamplingOptions(1), g); return t.data<long>().ToArray(); }
        Assert.Equal(Draw(7), Draw(7));
        Assert.NotEqual(Draw(7), Draw(8));
        Assert.Equal(4, Draw(7).Distinct().Count());                                  // at temperature 1 every token is drawn sometimes
    }
}
