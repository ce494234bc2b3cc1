using LlmNotebooks.FineTuning.LowRank;
using LlmNotebooks.FineTuning.Quantizing;
using LlmNotebooks.Generation;
using LlmNotebooks.Reasoning;
using LlmNotebooks.Tensors;
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

    /// <summary>Greedy decoding written out with full forward passes (no cache): the reference every cached path must equal.</summary>
    static List<int> FullRecomputeGreedy(Gpt model, IReadOnlyList<int> prompt, int maxNewTokens, int? stop = null)
    {
        using var eval = model.EvalScope();
        var tokens = prompt.ToList();
        var added = new List<int>();
        int steps = Math.Min(maxNewTokens, model.Config.BlockSize - prompt.Count);
        for (int i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            int next = (int)model.forward(tensor(tokens.Select(t => (long)t).ToArray(), dtype: int64).unsqueeze(0))[0, -1].argmax().item<long>();
            tokens.Add(next);
            added.Add(next);
            if (next == stop) break;
        }
        return added;
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void PrefillAndEachCachedStepEqualTheFullForward(bool tanhGelu, bool bias)
    {
        var config = new GptConfig(VocabSize: 13, BlockSize: 10, Layers: 2, Heads: 2, Channels: 16, TanhGelu: tanhGelu, Bias: bias);
        using var model = RandomModel(config, 3);
        using var _ = no_grad();
        model.eval();
        var tokens = randint(0, 13, [3, 10], dtype: int64, generator: new Generator(4));
        var full = model.forward(tokens);                                              // (B, T, V)
        // Prefill 4 tokens, then one token per step: every position's logits as the full forward gives them.
        using var cache = model.NewCache(batch: 3);
        var prefill = model.forward(tokens[.., ..4], cache);
        Assert.True(prefill.allclose(full[.., ..4], rtol: 0, atol: 1e-5), $"prefill: max difference {(prefill - full[.., ..4]).abs().max().item<float>()}");
        for (int t = 4; t < 10; t++)
        {
            var step = model.forward(tokens[.., t..(t + 1)], cache);                   // (B, 1, V)
            Assert.True(step[.., 0].allclose(full[.., t], rtol: 0, atol: 1e-5), $"position {t}: max difference {(step[.., 0] - full[.., t]).abs().max().item<float>()}");
        }
        Assert.Equal(10, cache.Position);
        // Several new tokens after cached ones (the shifted causal mask), and the attention weights kept on that path.
        cache.Reset();
        model.forward(tokens[.., ..3], cache);
        foreach (var attn in model.Blocks.Select(b => b.attn)) attn.KeepWeights = true;
        var chunk = model.forward(tokens[.., 3..7], cache);
        foreach (var attn in model.Blocks.Select(b => b.attn)) attn.KeepWeights = false;
        Assert.True(chunk.allclose(full[.., 3..7], rtol: 0, atol: 1e-5), $"a chunk after the cache: max difference {(chunk - full[.., 3..7]).abs().max().item<float>()}");
        var w = model.Blocks[0].attn.LastWeights!;                                     // (B, H, 4, 7): query 3 + i sees keys 0 … 3 + i
        Assert.Equal(new long[] { 3, 2, 4, 7 }, w.shape);
        Assert.Equal(0f, w[.., .., 0, 4..].abs().sum().item<float>());
        Assert.True(w[.., .., 3, 6].min().item<float>() > 0);
    }

    [Fact]
    public void TheCacheHoldsWhatItsFormulaSaysAndRefusesWhatDoesNotFit()
    {
        var config = new GptConfig(VocabSize: 13, BlockSize: 10, Layers: 3, Heads: 2, Channels: 16);
        using var model = RandomModel(config, 3);
        using var _ = no_grad();
        using var cache = model.NewCache(batch: 2);
        Assert.Equal(0, cache.Bytes);
        model.forward(tensor(new long[] { 1, 2, 3, 4 }).reshape(2, 2), cache);
        Assert.Equal(2L * 3 * 2 * 2 * 10 * 8 * sizeof(float), cache.Bytes);          // 2 · layers · B · H · capacity · hs · 4 bytes
        Assert.Equal(new long[] { 2, 2, 2, 8 }, cache.Keys(0).shape);                  // (B, H, positions so far, hs)
        Assert.Equal("This cache was made for a batch of 2 sequences, but the forward pass has 1. Make a cache per batch: model.NewCache(1).",
                     Assert.Throws<ArgumentException>(() => model.forward(tensor(new long[] { 1 }).reshape(1, 1), cache)).Message);
        Assert.StartsWith("The cache holds 2 of 10 positions, so 9 more tokens do not fit",
                          Assert.Throws<ArgumentException>(() => model.forward(zeros(2, 9, dtype: int64), cache)).Message);
        Assert.Equal(2, cache.Position);                                               // a refused pass changes nothing
        using var other = new KvCache(layers: 2, batch: 2, capacity: 10);
        Assert.StartsWith("This cache has 2 layer slots but the model has 3 blocks",
                          Assert.Throws<ArgumentException>(() => model.forward(zeros(2, 1, dtype: int64), other)).Message);
        Assert.Contains("Nothing is cached yet", Assert.Throws<InvalidOperationException>(() => other.Keys(0)).Message);
    }

    [Fact]
    public void CachedGreedyTokensEqualFullRecomputationForPlainLoraAndNf4Models()
    {
        var config = new GptConfig(VocabSize: 17, BlockSize: 16, Layers: 2, Heads: 2, Channels: 64);
        var prompts = new List<IReadOnlyList<int>> { new[] { 1, 2, 3 }, new[] { 4 }, new[] { 5, 6, 7 }, new[] { 8, 9 } };
        void AgreesWithFullRecomputation(Gpt model, string what)
        {
            var cached = BatchedGeneration.Generate(model, prompts, 12, [16]);
            var uncached = BatchedGeneration.Generate(model, prompts, 12, [16], useCache: false);
            for (int i = 0; i < prompts.Count; i++)
            {
                var reference = FullRecomputeGreedy(model, prompts[i], 12, stop: 16);
                Assert.True(reference.SequenceEqual(cached[i].Response), $"{what}, prompt {i}: cached [{string.Join(",", cached[i].Response)}] vs full [{string.Join(",", reference)}]");
                Assert.Equal(reference, uncached[i].Response);
            }
            Assert.True(cached.Select(c => c.Response.Count).Distinct().Count() > 1 || cached.Any(c => c.Response.Count > 4), $"{what}: the case writes real continuations");
        }
        using var plain = RandomModel(config, 11);
        AgreesWithFullRecomputation(plain, "plain");

        using var adapted = RandomModel(config, 11);
        var adapters = Lora.Apply(adapted, new LoraConfig { Rank = 4, Alpha = 8, Dropout = 0, TargetModules = ["c_attn", "c_fc"] });
        using (no_grad())                                                              // B ≠ 0, so the adapters change the function
            foreach (var (name, p) in adapted.named_parameters()) if (name.Contains("lora_B")) p.normal_(0, 0.5);
        var plainFirst = BatchedGeneration.Generate(plain, prompts, 12, [16]);
        var adaptedFirst = BatchedGeneration.Generate(adapted, prompts, 12, [16]);
        Assert.NotEqual(plainFirst.Select(c => string.Join(",", c.Response)), adaptedFirst.Select(c => string.Join(",", c.Response)));
        AgreesWithFullRecomputation(adapted, "LoRA");

        using var quantized = RandomModel(config, 11);
        Quantization.QuantizeLinears(quantized);
        Assert.Contains(quantized.named_modules(), m => m.module is Nf4Linear);
        AgreesWithFullRecomputation(quantized, "NF4");
    }

    [Fact]
    public void GreedyBatchesEqualOneByOneGreedyDecodingWithFullForwardPasses()
    {
        using var model = RandomModel(new GptConfig(VocabSize: 11, BlockSize: 12, Layers: 2, Heads: 2, Channels: 16), 7);
        var random = new Random(2);
        var prompts = Enumerable.Range(0, 12).Select(_ => (IReadOnlyList<int>)Enumerable.Range(0, random.Next(1, 5)).Select(_ => random.Next(11)).ToList()).ToList();
        var batched = BatchedGeneration.Complete(model, prompts, maxNewTokens: 6, stopTokens: [10], batchSize: 5);
        for (int i = 0; i < prompts.Count; i++)
        {
            var reference = FullRecomputeGreedy(model, prompts[i], 6, stop: 10);      // Complete keeps the stop token, as written
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
