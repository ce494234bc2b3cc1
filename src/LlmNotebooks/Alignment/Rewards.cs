using LlmNotebooks.Generation;
using LlmNotebooks.Tokenization;

namespace LlmNotebooks.Alignment;

/// <summary>
/// Reward functions take a whole batch of completions and return one number each (as trl's do), so a reward model scores
/// a group in one forward pass instead of one pass per answer.
/// <code>
/// RewardFunction rm = cs => rewardModel.Score(cs.Select(c => c.Prompt).ToList(), cs.Select(c => c.Response).ToList(), pad);
/// RewardFunction verified = Rewards.Each(c => Verify(tokenizer.Decode(c.Content)) ? 1 : 0);
/// </code>
/// </summary>
public delegate IReadOnlyList<double> RewardFunction(IReadOnlyList<Completion> completions);

/// <summary>Calling a <see cref="RewardFunction"/> and checking its answer; adapting a per-completion reward.</summary>
public static class Rewards
{
    /// <summary>A batched reward from a function of one completion (a verifier, a rule): called once per completion.</summary>
    public static RewardFunction Each(Func<Completion, double> reward)
    {
        ArgumentNullException.ThrowIfNull(reward);
        return completions => completions.Select(reward).ToArray();
    }

    /// <summary>
    /// The rewards of <paramref name="completions"/>: one finite number each, checked before anything is trained on them
    /// (a NaN or ±∞ reward would turn every weight it touches into NaN). A refusal names the prompt and the completion.
    /// </summary>
    /// <exception cref="InvalidOperationException">The function returned the wrong count, or a non-finite reward.</exception>
    public static double[] Score(RewardFunction reward, IReadOnlyList<Completion> completions, ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(reward);
        ArgumentNullException.ThrowIfNull(completions);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var rewards = reward(completions) ?? throw new InvalidOperationException("The reward function returned null: it must return one number per completion.");
        if (rewards.Count != completions.Count)
            throw new InvalidOperationException($"The reward function returned {rewards.Count} rewards for {completions.Count} completions: it must return one per completion, in order.");
        for (int i = 0; i < rewards.Count; i++)
            if (!double.IsFinite(rewards[i]))
                throw new InvalidOperationException($"The reward function returned {Guard.Show(rewards[i])} for prompt «{tokenizer.Decode(completions[i].Prompt)}» and completion " +
                                                    $"«{tokenizer.Decode(completions[i].Content)}» (finished: {completions[i].Finished}). A reward must be a finite number: " +
                                                    "check the reward function on this input.");
        return rewards.ToArray();
    }
}
