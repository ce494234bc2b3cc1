using LlmNotebooks.Tensors;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Generation;

/// <summary>
/// Continues many prompts at once, greedily (temperature 0) or by sampling: prompts of equal length go through the
/// model together as one (B, T) batch, so a hundred problems cost about as many forward passes as one. A row stops at
/// its first stop token (kept in its result, so the caller sees <i>which</i> stop it hit), after
/// <c>maxNewTokens</c>, or when the sequence fills the model's context window (positions are learned, so there is no
/// sliding past BlockSize here). A plain <see cref="Gpt"/> decodes with an <see cref="IncrementalDecoder"/> (a key/value
/// cache: one token pass per new token instead of the whole sequence again); any other falls back to full forward passes.
/// <code>
/// var outs = BatchedGeneration.Complete(model, prompts, maxNewTokens: 40, stopTokens: [end]);     // greedy
/// var samples = BatchedGeneration.Complete(model, prompts, 40, [end], temperature: 1, seed: 3);
/// </code>
/// </summary>
public static class BatchedGeneration
{
    /// <summary>
    /// The new tokens of every prompt, in the prompts' order. Deterministic: greedy needs no seed; sampling draws from
    /// one generator seeded with <paramref name="seed"/>, batch by batch in a fixed order (prompts grouped by length,
    /// shortest first, then in their given order). Runs in eval mode without gradients; the model's mode is restored.
    /// </summary>
    /// <param name="model">The model that continues the prompts.</param>
    /// <param name="prompts">Token ids, each prompt 1 to BlockSize long.</param>
    /// <param name="maxNewTokens">At most this many new tokens per prompt.</param>
    /// <param name="stopTokens">A row stops after writing any of these (kept as its last token).</param>
    /// <param name="temperature">0 = greedy (the most likely token); 1 = the model's own distribution.</param>
    /// <param name="seed">Seeds the sampling generator (unused when greedy).</param>
    /// <param name="batchSize">Rows per forward pass (memory grows with it).</param>
    public static IReadOnlyList<IReadOnlyList<int>> Complete(Gpt model, IReadOnlyList<IReadOnlyList<int>> prompts, int maxNewTokens,
                                                             IReadOnlyCollection<int> stopTokens, double temperature = 0, long seed = 0, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(stopTokens);
        Guard.AtLeast(maxNewTokens, 0, nameof(maxNewTokens));
        Guard.AtLeast(batchSize, 1, nameof(batchSize));
        Guard.Finite(temperature, nameof(temperature), 0, hint: "0 means greedy.");
        int V = model.Config.VocabSize, blockSize = model.Config.BlockSize;
        for (int i = 0; i < prompts.Count; i++)
        {
            var prompt = prompts[i] ?? throw new ArgumentException($"Prompt {i} is null.", nameof(prompts));
            if (prompt.Count == 0 || prompt.Count > blockSize)
                throw new ArgumentException($"Prompt {i} has {prompt.Count} tokens; a prompt needs 1 to {blockSize} (the model's context window).", nameof(prompts));
            foreach (int t in prompt)
                if (t < 0 || t >= V) throw new ArgumentException($"Prompt {i} holds token id {t}, outside the model's vocabulary [0, {V - 1}].", nameof(prompts));
        }
        var stops = stopTokens.ToHashSet();
        var results = new List<int>[prompts.Count];
        using var generator = new Generator(unchecked((ulong)seed));
        using var eval = model.EvalScope();
        foreach (var group in Enumerable.Range(0, prompts.Count).GroupBy(i => prompts[i].Count).OrderBy(g => g.Key))
            foreach (var chunk in group.Chunk(batchSize))
            {
                var outputs = Continue(model, chunk.Select(i => prompts[i]).ToList(), maxNewTokens, stops, temperature, generator);
                for (int j = 0; j < chunk.Length; j++) results[chunk[j]] = outputs[j];
            }
        return results;
    }

    /// <summary>One batch of equal-length prompts, continued step by step until every row has stopped.</summary>
    static List<int>[] Continue(Gpt model, List<IReadOnlyList<int>> prompts, int maxNewTokens, HashSet<int> stops, double temperature, Generator generator)
    {
        int B = prompts.Count, T0 = prompts[0].Count;
        int steps = Math.Min(maxNewTokens, model.Config.BlockSize - T0);
        var outputs = Enumerable.Range(0, B).Select(_ => new List<int>()).ToArray();
        if (steps == 0) return outputs;
        var done = new bool[B];
        var rows = new long[B * (T0 + steps)];
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T0; t++) rows[b * (T0 + steps) + t] = prompts[b][t];
        using var all = tensor(rows, dtype: int64).reshape(B, T0 + steps);        // filled in place as tokens are chosen
        using var decoder = IncrementalDecoder.Supports(model) ? new IncrementalDecoder(model, B) : null;
        Tensor? logits = null;                                                     // (B, V): the next token's scores
        if (decoder is not null)
            for (int t = 0; t < T0 - 1; t++)
            {
                using var prefill = NewDisposeScope();
                decoder.Step(all[.., t]);                                          // the prompt fills the cache
            }
        for (int step = 0; step < steps && done.Contains(false); step++)
        {
            using var scope = NewDisposeScope();
            int T = T0 + step;
            logits = decoder is not null ? decoder.Step(all[.., T - 1]) : model.forward(all[.., ..T])[.., -1];
            var next = temperature == 0
                ? logits.argmax(1)
                : multinomial(softmax(logits.to(float64) / temperature, 1), 1, generator: generator).squeeze(1);   // (B)
            all[.., T] = next;
            var chosen = next.data<long>().ToArray();
            for (int b = 0; b < B; b++)
            {
                if (done[b]) continue;
                outputs[b].Add((int)chosen[b]);
                if (stops.Contains((int)chosen[b])) done[b] = true;
            }
        }
        return outputs;
    }
}
