using LlmNotebooks.Generation;
using LlmNotebooks.Tensors;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Alignment;

/// <summary>
/// Sampling several responses per prompt from a policy, as RLHF does before every update, through the course's one
/// generation loop (<see cref="BatchedGeneration"/>: prompts of the same length in one batch, the key/value cache, one
/// new token per step for every row; a row that has written the stop token is finished). Then the sequences are packed
/// for scoring and their log-probabilities under the sampling policy computed. Runs in eval mode without gradients (the
/// model's mode is restored). The same seed gives the same samples.
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

        var completions = BatchedGeneration.Generate(policy, prompts, maxNewTokens, [stopToken], new SamplingOptions(temperature), seed, samplesPerPrompt);
        var batch = ResponseBatch.Create(completions.Select(c => c.Prompt).ToList(), completions.Select(c => c.Response).ToList(), padToken, block);
        Tensor old;
        using (policy.EvalScope()) old = SequenceLogProbs.PerToken(policy, batch);
        return new RolloutBatch(completions, batch, old);
    }
}
