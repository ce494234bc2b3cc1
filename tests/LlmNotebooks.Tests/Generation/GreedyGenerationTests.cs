using LlmNotebooks.Generation;
using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Generation;

/// <summary>
/// Generation checked against a hand-written loop, on a tiny model trained just long enough that different contexts
/// predict different next tokens (an untrained model predicts the same token everywhere, so it cannot tell whether
/// the sampled token is fed back or which position's logits are read).
/// </summary>
public class GreedyGenerationTests
{
    /// <summary>The pattern the model learns: after token Cycle[i] comes Cycle[i + 1] (a single cycle over all 11 ids).</summary>
    static readonly int[] Cycle = [0, 3, 7, 1, 9, 4, 10, 2, 6, 5, 8];

    static int Successor(int token) => Cycle[(Array.IndexOf(Cycle, token) + 1) % Cycle.Length];

    static readonly Lazy<Gpt> Trained = new(TrainOnTheCycle);

    /// <summary>60 AdamW steps on windows of the cycle starting at random points: about 2 s on 2 cores.</summary>
    static Gpt TrainOnTheCycle()
    {
        manual_seed(11);
        var model = new Gpt(GptConfig.Tiny);
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-2);
        var random = new Random(11);
        int T = GptConfig.Tiny.BlockSize;
        for (int step = 0; step < 60; step++)
        {
            using var scope = NewDisposeScope();
            var rows = new long[8 * (T + 1)];
            for (int b = 0; b < 8; b++)
            {
                int start = random.Next(Cycle.Length);
                for (int t = 0; t <= T; t++) rows[b * (T + 1) + t] = Cycle[(start + t) % Cycle.Length];
            }
            var x = tensor(rows, dtype: int64).reshape(8, T + 1);
            optimizer.zero_grad();
            var logits = model.forward(x[.., ..T]);
            var loss = nn.functional.cross_entropy(logits.reshape(-1, GptConfig.Tiny.VocabSize), x[.., 1..].reshape(-1));
            loss.backward();
            optimizer.step();
        }
        model.train();
        return model;
    }

    /// <summary>Greedy decoding written out: the last BlockSize tokens in, the argmax of the last position's logits out, appended.</summary>
    static List<int> HandWrittenGreedy(Gpt model, IReadOnlyList<int> prompt, int count)
    {
        var tokens = prompt.ToList();
        var added = new List<int>();
        using var noGrad = no_grad();
        for (int i = 0; i < count; i++)
        {
            using var scope = NewDisposeScope();
            var window = tokens.TakeLast(model.Config.BlockSize).Select(t => (long)t).ToArray();
            var logits = model.forward(tensor(window, dtype: int64).unsqueeze(0));      // (1, T, V)
            int next = (int)logits[0, -1].argmax().item<long>();
            tokens.Add(next);
            added.Add(next);
        }
        return added;
    }

    [Fact]
    public void The_trained_model_predicts_different_tokens_for_different_contexts()
    {
        var model = Trained.Value;
        // What makes the other tests able to fail: the argmax depends on the last token, and position 0 of a
        // window predicts something else than its last position.
        var first = HandWrittenGreedy(model, [0, 3], 12);
        Assert.True(first.Distinct().Count() >= 6, $"greedy continuation {string.Join(" ", first)}");
        using var noGrad = no_grad();
        using var logits = model.forward(tensor(new long[] { 0, 3, 7, 1 }, dtype: int64).unsqueeze(0));
        Assert.NotEqual(logits[0, 0].argmax().item<long>(), logits[0, -1].argmax().item<long>());
    }

    [Fact]
    public void Greedy_generation_matches_the_hand_written_argmax_loop_past_the_context_window()
    {
        var model = Trained.Value;
        model.eval();
        int[] prompt = [0, 3, 7];
        var expected = HandWrittenGreedy(model, prompt, 20);                         // 23 tokens > BlockSize 8: the window slides
        model.train();
        Assert.Equal(expected, Sampler.Generate(model, prompt, 20, SamplingOptions.Greedy));
        Assert.Equal(expected, Sampler.Generate(model, prompt, 20, new SamplingOptions(0), seed: 99));   // no randomness in greedy
        // A long prompt: only its last BlockSize tokens are read.
        int[] longPrompt = [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, .. prompt.TakeLast(GptConfig.Tiny.BlockSize)];
        model.eval();
        var expectedLong = HandWrittenGreedy(model, longPrompt, 5);
        model.train();
        Assert.Equal(expectedLong, Sampler.Generate(model, longPrompt, 5, SamplingOptions.Greedy));
    }

    [Fact]
    public void Greedy_generation_follows_the_learned_cycle()
    {
        var model = Trained.Value;
        var generated = Sampler.Generate(model, [9, 4], 10, SamplingOptions.Greedy);
        var cycle = new List<int>();
        int last = 4;
        for (int i = 0; i < 10; i++) cycle.Add(last = Successor(last));
        Assert.Equal(cycle, generated);
    }

    [Fact]
    public void The_text_overload_returns_the_prompt_followed_by_the_decoded_continuation()
    {
        var model = Trained.Value;
        var chars = LlmNotebooks.Tokenization.CharTokenizer.Train("abcdefghijk");      // 11 characters, ids 0–10
        string prompt = chars.Decode([9, 4]);
        string expected = prompt + chars.Decode(HandWrittenGreedy(model, [9, 4], 6));
        Assert.Equal(expected, Sampler.Generate(model, chars, prompt, 6, SamplingOptions.Greedy));
    }

    [Fact]
    public void Sampling_honours_the_callers_options_and_seed()
    {
        var model = Trained.Value;
        int[] prompt = [0, 3, 7];
        var options = new SamplingOptions(Temperature: 3.0, TopK: 4);
        // The same draws written out: one generator seeded once, multinomial over the filtered last-position scores.
        var expected = new List<int>();
        var tokens = prompt.ToList();
        model.eval();
        using (var generator = new Generator(42))
        using (no_grad())
            for (int i = 0; i < 15; i++)
            {
                using var scope = NewDisposeScope();
                var window = tokens.TakeLast(model.Config.BlockSize).Select(t => (long)t).ToArray();
                var logits = model.forward(tensor(window, dtype: int64).unsqueeze(0))[0, -1].to(float64);
                var probs = Sampler.Filter(logits, options);
                Assert.Equal(4, probs.gt(0).sum().item<long>());                       // top-k kept 4 tokens
                int next = (int)multinomial(probs, 1, generator: generator).item<long>();
                tokens.Add(next);
                expected.Add(next);
            }
        model.train();
        var generated = Sampler.Generate(model, prompt, 15, options, seed: 42);
        Assert.Equal(expected, generated);
        // A hot temperature over four tokens strays from the argmax chain: the options did change something.
        Assert.NotEqual(HandWrittenGreedy(model, prompt, 15), generated);
        // Top-1 at any temperature is greedy, whatever the seed.
        var greedy = Sampler.Generate(model, prompt, 15, SamplingOptions.Greedy);
        for (long seed = 0; seed < 3; seed++)
            Assert.Equal(greedy, Sampler.Generate(model, prompt, 15, new SamplingOptions(5.0, TopK: 1), seed: seed));
    }

    [Fact]
    public void Generation_stops_before_the_stop_token()
    {
        var model = Trained.Value;
        var all = Sampler.Generate(model, [0, 3], 10, SamplingOptions.Greedy).ToList();
        int stop = all[4];
        int firstStop = all.IndexOf(stop);
        Assert.Equal(all.Take(firstStop), Sampler.Generate(model, [0, 3], 10, SamplingOptions.Greedy, stopToken: stop));
        Assert.Empty(Sampler.Generate(model, [0, 3], 0, SamplingOptions.Greedy));
    }

    [Fact]
    public void Generation_leaves_the_training_mode_and_gradient_tracking_as_it_found_them()
    {
        var model = Trained.Value;
        model.train();
        Sampler.Generate(model, [0, 3], 3, new SamplingOptions(1.0), seed: 1);
        Assert.True(model.training);
        Assert.True(model.modules().All(m => m.training));
        Assert.True(is_grad_enabled());
        using (var p = Sampler.NextTokenProbabilities(model, [0, 3])) Assert.True(model.training);
        model.eval();
        Sampler.Generate(model, [0, 3], 3, SamplingOptions.Greedy);
        Assert.False(model.training);
        model.train();
    }

    [Fact]
    public void NextTokenProbabilities_reads_the_last_position_of_the_last_window()
    {
        var model = Trained.Value;
        int[] context = [6, 6, 6, 6, 0, 3, 7, 1, 9, 4, 10, 2];                         // 12 tokens, window of 8
        using var probs = Sampler.NextTokenProbabilities(model, context, new SamplingOptions(1.0));
        using var noGrad = no_grad();
        model.eval();
        using var logits = model.forward(tensor(context.TakeLast(8).Select(t => (long)t).ToArray(), dtype: int64).unsqueeze(0));
        using var expected = logits[0, -1].to(float64).softmax(0);
        model.train();
        Assert.True(probs.allclose(expected, rtol: 1e-9, atol: 1e-12));
        Assert.Equal(Successor(2), probs.argmax().item<long>());
    }
}
