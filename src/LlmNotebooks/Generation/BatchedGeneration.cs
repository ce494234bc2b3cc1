using LlmNotebooks.Tensors;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Generation;

/// <summary>
/// The course's one generation loop: continues many prompts at once, greedily or by sampling, with the model's key/value
/// cache. Prompts of equal length go through the model together as one (B, T) batch; the prompt is read once (the
/// prefill), then every step feeds only the newest token of each row through <see cref="Gpt.forward(Tensor, KvCache)"/>
/// and picks the next one with <see cref="Sampler.NextToken"/>. A row stops at its first stop token (kept in
/// <see cref="Completion.Response"/>, <see cref="Completion.Finished"/> set), after <c>maxNewTokens</c>, or when prompt and
/// response fill the context window. The Sampler, batched reasoning, RL rollouts and instruction answers all run here.
/// <code>
/// var greedy = BatchedGeneration.Generate(model, prompts, maxNewTokens: 40, stopTokens: [end]);
/// var samples = BatchedGeneration.Generate(model, prompts, 40, [end], new SamplingOptions(1.0), seed: 3, samplesPerPrompt: 8);
/// </code>
/// </summary>
public static class BatchedGeneration
{
    /// <summary>
    /// <paramref name="samplesPerPrompt"/> continuations of every prompt, prompt-major (prompt 0's samples first), each in
    /// eval mode without gradients (the model's mode is restored). Deterministic: greedy needs no seed; sampling draws from
    /// one generator seeded with <paramref name="seed"/>, batch by batch in a fixed order (prompts grouped by length,
    /// shortest first, then in their given order; at most <paramref name="batchSize"/> rows per batch).
    /// </summary>
    /// <param name="model">The model that continues the prompts.</param>
    /// <param name="prompts">Token ids, each prompt 1 to BlockSize long (any length ≥ 1 with <paramref name="slideWindow"/>).</param>
    /// <param name="maxNewTokens">At most this many new tokens per row.</param>
    /// <param name="stopTokens">A row stops after writing any of these (kept as its last token).</param>
    /// <param name="sampling">Temperature, top-k, top-p; null is greedy.</param>
    /// <param name="seed">Seeds the sampling generator (unused when greedy).</param>
    /// <param name="samplesPerPrompt">Rows per prompt (G of GRPO); they differ only when sampling.</param>
    /// <param name="batchSize">Rows per forward pass (the cache's memory grows with it).</param>
    /// <param name="slideWindow">
    /// False: prompt plus response never exceed the context window (so the whole sequence can be scored). True: past
    /// BlockSize tokens the model reads only the last BlockSize (positions are learned, so the cache is rebuilt every step
    /// from then on: a full forward pass per token, as without a cache).
    /// </param>
    /// <param name="useCache">False recomputes the whole sequence every step (the same tokens, more slowly: for comparison).</param>
    public static IReadOnlyList<Completion> Generate(Gpt model, IReadOnlyList<IReadOnlyList<int>> prompts, int maxNewTokens, IReadOnlyCollection<int> stopTokens,
                                                     SamplingOptions? sampling = null, long seed = 0, int samplesPerPrompt = 1, int batchSize = 256,
                                                     bool slideWindow = false, bool useCache = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(stopTokens);
        Guard.AtLeast(maxNewTokens, 0, nameof(maxNewTokens));
        Guard.AtLeast(samplesPerPrompt, 1, nameof(samplesPerPrompt));
        Guard.AtLeast(batchSize, 1, nameof(batchSize));
        sampling ??= SamplingOptions.Greedy;
        sampling.Validate();
        int V = model.Config.VocabSize, blockSize = model.Config.BlockSize;
        for (int i = 0; i < prompts.Count; i++)
        {
            var prompt = prompts[i] ?? throw new ArgumentException($"Prompt {i} is null.", nameof(prompts));
            if (prompt.Count == 0 || (!slideWindow && prompt.Count > blockSize))
                throw new ArgumentException($"Prompt {i} has {prompt.Count} tokens; a prompt needs 1 to {blockSize} (the model's context window)" +
                                            (prompt.Count == 0 ? "." : ", or slideWindow: true to read only its last tokens."), nameof(prompts));
            foreach (int t in prompt)
                if (t < 0 || t >= V) throw new ArgumentException($"Prompt {i} holds token id {t}, outside the model's vocabulary [0, {V - 1}].", nameof(prompts));
        }
        foreach (int t in stopTokens)
            if (t < 0 || t >= V) throw new ArgumentOutOfRangeException(nameof(stopTokens), $"Stop token {t} is outside the model's vocabulary [0, {V - 1}]: the model could never write it.");
        var stops = stopTokens.ToHashSet();
        int G = samplesPerPrompt;
        var results = new Completion[prompts.Count * G];
        using var generator = new Generator(unchecked((ulong)seed));
        using var eval = model.EvalScope();
        foreach (var group in Enumerable.Range(0, prompts.Count).GroupBy(i => prompts[i].Count).OrderBy(g => g.Key))
            foreach (var chunk in group.SelectMany(i => Enumerable.Range(i * G, G)).Chunk(batchSize))
            {
                var rows = Continue(model, chunk.Select(r => prompts[r / G]).ToList(), maxNewTokens, stops, sampling, generator, slideWindow, useCache);
                for (int j = 0; j < chunk.Length; j++)
                    results[chunk[j]] = new Completion(chunk[j] / G, prompts[chunk[j] / G], rows[j].Response, rows[j].Finished);
            }
        return results;
    }

    /// <summary>
    /// The new tokens of every prompt, in the prompts' order, each ending with its stop token when it wrote one: greedy
    /// (temperature 0) or sampled at <paramref name="temperature"/>. <see cref="Generate"/> with one sample per prompt.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<int>> Complete(Gpt model, IReadOnlyList<IReadOnlyList<int>> prompts, int maxNewTokens,
                                                             IReadOnlyCollection<int> stopTokens, double temperature = 0, long seed = 0, int batchSize = 256)
    {
        Guard.Finite(temperature, nameof(temperature), 0, hint: "0 means greedy.");
        return Generate(model, prompts, maxNewTokens, stopTokens, new SamplingOptions(temperature), seed, batchSize: batchSize).Select(c => c.Response).ToList();
    }

    /// <summary>One batch of equal-length prompts, continued step by step until every row has stopped.</summary>
    static (List<int> Response, bool Finished)[] Continue(Gpt model, List<IReadOnlyList<int>> prompts, int maxNewTokens, HashSet<int> stops,
                                                           SamplingOptions sampling, Generator generator, bool slideWindow, bool useCache)
    {
        int B = prompts.Count, T0 = prompts[0].Count, block = model.Config.BlockSize;
        int steps = slideWindow ? maxNewTokens : Math.Min(maxNewTokens, block - T0);
        var sequences = prompts.Select(p => p.Select(t => (long)t).ToList()).ToArray();    // every row's tokens so far
        var outputs = Enumerable.Range(0, B).Select(_ => (Response: new List<int>(), Finished: false)).ToArray();
        using var cache = useCache ? model.NewCache(B) : null;
        int fed = 0;                                                                        // tokens of each row already in the cache
        for (int step = 0; step < steps && outputs.Any(o => !o.Finished); step++)
        {
            using var scope = NewDisposeScope();
            int length = sequences[0].Count;
            if (cache is not null && cache.Position + (length - fed) > block)
            {
                cache.Reset();                                                              // past the window: re-read the last BlockSize tokens
                fed = length - block;
            }
            int from = cache is null ? Math.Max(0, length - block) : fed;                  // what the model reads this step
            var input = tensor(sequences.SelectMany(s => s.Skip(from)).ToArray(), dtype: int64).reshape(B, length - from);
            var logits = model.forward(input, cache)[.., -1];                              // (B, V): the next token's scores
            fed = length;
            var next = Sampler.NextToken(logits, sampling, generator).data<long>().ToArray();
            for (int b = 0; b < B; b++)
            {
                sequences[b].Add(next[b]);
                if (outputs[b].Finished) continue;
                outputs[b].Response.Add((int)next[b]);
                if (stops.Contains((int)next[b])) outputs[b].Finished = true;
            }
        }
        return outputs;
    }
}
