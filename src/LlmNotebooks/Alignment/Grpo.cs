using LlmNotebooks.Training;
using static TorchSharp.torch;

namespace LlmNotebooks.Alignment;

/// <summary>
/// Group Relative Policy Optimization (Shao et al., DeepSeekMath, 2024): sample G responses to each prompt, score each,
/// and judge every response against its own group: advantage = (r − mean of the group) / (std of the group + ε). No critic
/// is needed: the group's mean reward is the baseline that PPO's value model would estimate.
/// </summary>
public static class Grpo
{
    /// <summary>
    /// (rᵢ − mean) / (std + ε) within each consecutive group of <paramref name="groupSize"/> rewards (the population standard
    /// deviation). A group whose rewards are all equal gets advantage 0 everywhere: it carries no learning signal.
    /// </summary>
    /// <exception cref="ArgumentException">A group size below 2, a reward count that is not a whole number of groups, or a non-finite reward.</exception>
    public static double[] GroupAdvantages(IReadOnlyList<double> rewards, int groupSize, double epsilon = 1e-4)
    {
        ArgumentNullException.ThrowIfNull(rewards);
        RequireGroupSize(groupSize);
        Guard.Finite(epsilon, nameof(epsilon), min: 0);
        if (rewards.Count % groupSize != 0)
            throw new ArgumentException($"{rewards.Count} rewards do not split into groups of {groupSize}: expected samplesPerPrompt × prompts rewards, prompt-major.", nameof(rewards));
        for (int i = 0; i < rewards.Count; i++)
            if (!double.IsFinite(rewards[i])) throw new ArgumentException($"Reward {i} is {Guard.Show(rewards[i])}: every reward must be a finite number.", nameof(rewards));
        var advantages = new double[rewards.Count];
        for (int start = 0; start < rewards.Count; start += groupSize)
        {
            double mean = 0, variance = 0;
            for (int i = start; i < start + groupSize; i++) mean += rewards[i];
            mean /= groupSize;
            for (int i = start; i < start + groupSize; i++) variance += (rewards[i] - mean) * (rewards[i] - mean);
            double std = Math.Sqrt(variance / groupSize);
            for (int i = start; i < start + groupSize; i++) advantages[i] = std == 0 ? 0 : (rewards[i] - mean) / (std + epsilon);   // all equal: no signal, not 0/0
        }
        return advantages;
    }

    /// <summary>Whether every reward of a group is the same (then its advantages are all 0 and it teaches nothing).</summary>
    public static bool AllEqual(IReadOnlyList<double> rewards, int start, int groupSize)
    {
        for (int i = start + 1; i < start + groupSize; i++) if (rewards[i] != rewards[start]) return false;
        return true;
    }

    /// <summary>
    /// GRPO's loss (Shao et al. 2024): −1/G Σᵢ 1/|oᵢ| Σₜ [min(ρ·A, clip(ρ, 1 − ε, 1 + ε)·A) − β·k3], the clipped surrogate
    /// minus the KL penalty, averaged over each response's tokens and then over the responses. Every response counts the
    /// same whatever its length (a response without tokens counts 0).
    /// </summary>
    /// <param name="logProbs">(B, T−1) log π(token) under the policy being trained, 0 outside the mask (differentiable).</param>
    /// <param name="oldLogProbs">(B, T−1) log π_old(token) under the policy that sampled the responses.</param>
    /// <param name="referenceLogProbs">(B, T−1) log π_ref(token) under the frozen reference.</param>
    /// <param name="advantages">(B, 1): one advantage per response (<see cref="GroupAdvantages"/>), for all its tokens.</param>
    /// <param name="mask">(B, T−1): 1 at response tokens (<see cref="ResponseBatch.ResponseMask"/>).</param>
    /// <param name="epsilon">The clip range ε.</param>
    /// <param name="beta">β, the weight of the KL penalty (0 turns it off).</param>
    public static Tensor Loss(Tensor logProbs, Tensor oldLogProbs, Tensor referenceLogProbs, Tensor advantages, Tensor mask, double epsilon, double beta)
    {
        ArgumentNullException.ThrowIfNull(mask);
        PolicyGradient.RequireBeta(beta);
        using var scope = NewDisposeScope();
        var surrogate = PolicyGradient.ClippedSurrogate(logProbs, oldLogProbs, advantages, epsilon);
        var k3 = PolicyGradient.KlK3(logProbs, referenceLogProbs);
        var perToken = -(surrogate - beta * k3) * mask;
        return (perToken.sum(1) / mask.sum(1).clamp_min(1)).mean().MoveToOuterDisposeScope();
    }

    internal static void RequireGroupSize(int groupSize)
    {
        if (groupSize < 2)
            throw new ArgumentOutOfRangeException(nameof(groupSize), $"A GRPO group needs at least 2 samples per prompt, got {groupSize}: each sample is judged against " +
                                                                     "the others of its group, and a group of one has nothing to compare with (its advantage is always 0). Use 4–16.");
    }
}
