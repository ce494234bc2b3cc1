using LlmNotebooks.Tensors;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Alignment;

/// <summary>One sampled response to one prompt.</summary>
/// <param name="PromptIndex">Which prompt of the list it answers.</param>
/// <param name="Prompt">The prompt's tokens.</param>
/// <param name="Response">The sampled tokens, without the stop token.</param>
/// <param name="Finished">True when the model wrote the stop token; false when it ran out of tokens (or of context window).</param>
public sealed record Completion(int PromptIndex, IReadOnlyList<int> Prompt, IReadOnlyList<int> Response, bool Finished);

/// <summary>
/// What one round of sampling produced: the completions, the same sequences packed for scoring, and their log-probabilities
/// under the policy that sampled them (π_old of PPO and GRPO, the denominator of the importance ratio).
/// </summary>
public sealed class RolloutBatch : IDisposable
{
    /// <summary>Prompt-major: prompt 0's samples, then prompt 1's, …</summary>
    public IReadOnlyList<Completion> Completions { get; }
    /// <summary>Each prompt + response, with the stop token appended where the completion finished (so it is scored too).</summary>
    public ResponseBatch Batch { get; }
    /// <summary>(B, T − 1), detached: the per-token log-probabilities under the sampling policy (at temperature 1).</summary>
    public Tensor OldLogProbs { get; }

    public RolloutBatch(IReadOnlyList<Completion> completions, ResponseBatch batch, Tensor oldLogProbs)
    {
        Completions = completions; Batch = batch; OldLogProbs = oldLogProbs;
    }

    public void Dispose()
    {
        Batch.Dispose();
        OldLogProbs.Dispose();
    }
}

/// <summary>
/// Sampling several responses per prompt from a policy, as RLHF does before every update. Prompts of the same token length
/// are sampled together in one batch, one new token per forward pass for every row at once; a row that has written the stop
/// token is finished and its later tokens are ignored. Runs in eval mode without gradients (the model's mode is restored).
/// The same seed gives the same samples.
/// </summary>
public static class Rollouts
{
    /// <summary>
    /// <paramref name="samplesPerPrompt"/> responses to every prompt, each at most <paramref name="maxNewTokens"/> tokens (and
    /// never past the model's context window), sampled at <paramref name="temperature"/> (0 = greedy).
    /// </summary>
    /// <exception cref="ArgumentException">No prompts, an empty prompt, a prompt that fills the whole context window, or a bad count.</exception>
    public static RolloutBatch Sample(Gpt policy, IReadOnlyList<IReadOnlyList<int>> prompts, int samplesPerPrompt, int maxNewTokens,
                                      int stopToken, int padToken, double temperature = 1.0, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new ArgumentException("Give at least one prompt to sample responses for.", nameof(prompts));
        Guard.AtLeast(samplesPerPrompt, 1, nameof(samplesPerPrompt));
        Guard.AtLeast(maxNewTokens, 1, nameof(maxNewTokens));
        Guard.Finite(temperature, nameof(temperature), min: 0, hint: "0 means greedy.");
        int block = policy.Config.BlockSize, V = policy.Config.VocabSize;
        if (stopToken < 0 || stopToken >= V) throw new ArgumentOutOfRangeException(nameof(stopToken), $"The stop token must be an id in [0, {V}), got {stopToken}.");
        for (int i = 0; i < prompts.Count; i++)
        {
            if (prompts[i] is null || prompts[i].Count == 0)
                throw new ArgumentException($"Prompt {i} is empty: the first token is sampled from the token before it, so give at least one.", nameof(prompts));
            if (prompts[i].Count >= block)
                throw new ArgumentException($"Prompt {i} is {prompts[i].Count} tokens, which fills the model's {block}-token context window and leaves no room for a " +
                                            "response. Shorten the prompt.", nameof(prompts));
        }

        int G = samplesPerPrompt;
        var responses = new List<int>[prompts.Count * G];
        var finished = new bool[prompts.Count * G];
        using var generator = new Generator(unchecked((ulong)seed));
        using (policy.EvalScope())
        {
            // Prompts of equal length share a batch: every row then predicts position t at the same time.
            foreach (var group in Enumerable.Range(0, prompts.Count).GroupBy(i => prompts[i].Count).OrderBy(g => g.Key))
            {
                var rows = group.SelectMany(i => Enumerable.Range(0, G).Select(g => i * G + g)).ToArray();
                int promptLength = group.Key, budget = Math.Min(maxNewTokens, block - promptLength);
                var context = new long[rows.Length, promptLength + budget];
                for (int r = 0; r < rows.Length; r++)
                {
                    var p = prompts[rows[r] / G];
                    for (int t = 0; t < promptLength; t++) context[r, t] = p[t];
                    responses[rows[r]] = [];
                }
                var done = new bool[rows.Length];
                for (int step = 0; step < budget && done.Contains(false); step++)
                {
                    using var scope = NewDisposeScope();
                    int length = promptLength + step;
                    var input = tensor(Slice(context, length), [rows.Length, length], int64);
                    var logits = policy.forward(input).select(1, length - 1).to(float64);      // (R, V): the next token's scores
                    var next = temperature == 0
                        ? logits.argmax(1)
                        : multinomial(softmax(logits / temperature, 1), 1, generator: generator).squeeze(1);
                    var picked = next.data<long>().ToArray();
                    for (int r = 0; r < rows.Length; r++)
                    {
                        context[r, length] = done[r] ? padToken : picked[r];
                        if (done[r]) continue;
                        if (picked[r] == stopToken) { done[r] = true; finished[rows[r]] = true; }
                        else responses[rows[r]].Add((int)picked[r]);
                    }
                }
            }
        }

        var completions = new Completion[responses.Length];
        for (int k = 0; k < responses.Length; k++)
            completions[k] = new Completion(k / G, prompts[k / G], responses[k], finished[k]);
        var batch = ResponseBatch.Create(completions.Select(c => c.Prompt).ToList(),
                                         completions.Select(c => (IReadOnlyList<int>)(c.Finished ? [.. c.Response, stopToken] : c.Response)).ToList(),
                                         padToken, block);
        Tensor old;
        using (policy.EvalScope()) old = SequenceLogProbs.PerToken(policy, batch);
        return new RolloutBatch(completions, batch, old);
    }

    static long[] Slice(long[,] context, int length)
    {
        int rows = context.GetLength(0);
        var flat = new long[rows * length];
        for (int r = 0; r < rows; r++)
            for (int t = 0; t < length; t++) flat[r * length + t] = context[r, t];
        return flat;
    }
}
