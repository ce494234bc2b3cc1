using LlmNotebooks.FineTuning;
using LlmNotebooks.Generation;
using LlmNotebooks.Reasoning;
using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Generation;

public class BatchedGenerationTests
{
    static Gpt RandomModel(GptConfig config, int seed)
    {
        manual_seed(seed);
        var model = new Gpt(config);
        // Larger weights than GPT-2's init, so that different contexts give clearly different next tokens.
        using (no_grad()) foreach (var p in model.parameters()) if (p.dim() >= 2) p.mul_(8);
        return model;
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void TheCachedDecoderComputesWhatTheFullForwardComputes(bool tanhGelu, bool bias)
    {
        var config = new GptConfig(VocabSize: 13, BlockSize: 10, Layers: 2, Heads: 2, Channels: 16, TanhGelu: tanhGelu, Bias: bias);
        using var model = RandomModel(config, 3);
        Assert.True(IncrementalDecoder.Supports(model));
        using var _ = no_grad();
        var tokens = randint(0, 13, [3, 10], dtype: int64);
        var full = model.forward(tokens);                                              // (B, T, V)
        using var decoder = new IncrementalDecoder(model, batch: 3);
        for (int t = 0; t < 10; t++)
        {
            var logits = decoder.Step(tokens[.., t]);
            Assert.True(logits.allclose(full[.., t], rtol: 1e-4, atol: 1e-4), $"position {t}: max difference {(logits - full[.., t]).abs().max().item<float>()}");
        }
        Assert.Equal(10, decoder.Position);
        Assert.Contains("All 10 positions", Assert.Throws<InvalidOperationException>(() => decoder.Step(tokens[.., 0])).Message);
        Assert.Contains("shape (3)", Assert.Throws<ArgumentException>(() => new IncrementalDecoder(model, 3).Step(tokens[0])).Message);
    }

    [Fact]
    public void AModelWithAdaptersIsNotReadButStillGenerates()
    {
        using var model = RandomModel(GptConfig.Tiny, 5);
        var prompts = new List<IReadOnlyList<int>> { new[] { 1, 2 }, new[] { 3 }, new[] { 4, 5 } };
        var before = BatchedGeneration.Complete(model, prompts, 5, []);
        Lora.Apply(model, new LoraConfig { Rank = 2, Alpha = 2, TargetModules = ["c_attn"] });         // B = 0: the same function
        Assert.False(IncrementalDecoder.Supports(model));
        Assert.Contains("not a plain Gpt", Assert.Throws<ArgumentException>(() => new IncrementalDecoder(model, 1)).Message);
        Assert.Equal(before, BatchedGeneration.Complete(model, prompts, 5, []));                      // the full-forward path agrees
    }

    [Fact]
    public void GreedyBatchesEqualTheSamplersOneByOneGreedyDecoding()
    {
        using var model = RandomModel(new GptConfig(VocabSize: 11, BlockSize: 12, Layers: 2, Heads: 2, Channels: 16), 7);
        var random = new Random(2);
        var prompts = Enumerable.Range(0, 12).Select(_ => (IReadOnlyList<int>)Enumerable.Range(0, random.Next(1, 5)).Select(_ => random.Next(11)).ToList()).ToList();
        var batched = BatchedGeneration.Complete(model, prompts, maxNewTokens: 6, stopTokens: [10], batchSize: 5);
        for (int i = 0; i < prompts.Count; i++)
        {
            var reference = Sampler.Generate(model, prompts[i], Math.Min(6, 12 - prompts[i].Count), SamplingOptions.Greedy, stopToken: 10).ToList();
            if (reference.Count < Math.Min(6, 12 - prompts[i].Count)) reference.Add(10);          // Sampler drops the stop token; Complete keeps it
            Assert.Equal(reference, batched[i]);
        }
        Assert.Contains(batched, b => b.Count > 0 && b[^1] == 10);                                   // some rows did stop
    }

    [Fact]
    public void SamplingRepeatsForASeedAndStopsEveryRowAtItsStopToken()
    {
        using var model = RandomModel(GptConfig.Tiny, 9);
        var prompts = Enumerable.Range(0, 20).Select(i => (IReadOnlyList<int>)new[] { i % 11, (3 * i) % 11 }).ToList();
        var a = BatchedGeneration.Complete(model, prompts, 6, [2, 3], temperature: 1, seed: 4);
        Assert.Equal(a, BatchedGeneration.Complete(model, prompts, 6, [2, 3], temperature: 1, seed: 4));
        Assert.NotEqual(a, BatchedGeneration.Complete(model, prompts, 6, [2, 3], temperature: 1, seed: 5));
        Assert.All(a, row =>
        {
            Assert.InRange(row.Count, 1, 6);
            Assert.DoesNotContain(row.SkipLast(1), t => t is 2 or 3);                                 // a stop token can only be last
        });
        Assert.Contains("outside the model's vocabulary", Assert.Throws<ArgumentException>(() => BatchedGeneration.Complete(model, [new[] { 11 }], 1, [])).Message);
        Assert.Contains("needs 1 to 8", Assert.Throws<ArgumentException>(() => BatchedGeneration.Complete(model, [Array.Empty<int>()], 1, [])).Message);
    }

    [Fact]
    public void AThinkingBudgetCutsTheChainAndForcesTheMarker()
    {
        var tokenizer = ArithmeticFormat.Tokenizer;
        using var model = RandomModel(new GptConfig(tokenizer.VocabSize, 64, 2, 2, 16), 1);
        var problems = ArithmeticProblems.Generate(6, 3, seed: 1);
        foreach (int budget in new[] { 0, 3, 10 })
        {
            var responses = ArithmeticSolver.WithThinkingBudget(model, problems, budget);
            Assert.All(responses, r =>
            {
                int marker = r.IndexOf('#');
                Assert.InRange(marker, 0, budget);                                                    // the chain has at most `budget` tokens
                Assert.DoesNotContain('.', r);
            });
        }
        Assert.All(ArithmeticSolver.WithThinkingBudget(model, problems, 0), r => Assert.StartsWith("#", r));
    }
}
