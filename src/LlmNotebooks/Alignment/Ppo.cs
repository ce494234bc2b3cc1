using LlmNotebooks.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Alignment;

/// <summary>
/// The arithmetic of PPO (Schulman et al. 2017) as RLHF uses it (Ouyang et al. 2022), on per-token tensors of shape
/// (B, T−1) aligned with <see cref="ResponseBatch.ResponseMask"/>: position t is the decision "which token comes at t+1",
/// and only positions where the mask is 1 (response tokens) count. <see cref="PpoTrainer"/> puts the pieces together.
/// </summary>
public static class Ppo
{
    /// <summary>Σ x·mask / max(1, Σ mask): the mean over response tokens only.</summary>
    public static Tensor MaskedMean(Tensor x, Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(mask);
        RequireSameShape(x, mask, "x", "mask");
        return (x * mask).sum() / mask.sum().clamp_min(1);
    }

    /// <summary>
    /// The reward of every token: −β·(log π(token) − log π_ref(token)) at each response token (a per-token estimate of
    /// the KL divergence from the reference, the price of drifting away from it), plus the reward model's
    /// <paramref name="scores"/> (B) at each sequence's last response token.
    /// </summary>
    /// <exception cref="ArgumentException">β &lt; 0 (a negative price would reward drifting away), or shapes that do not match.</exception>
    public static Tensor PerTokenRewards(Tensor scores, Tensor logProbs, Tensor referenceLogProbs, Tensor mask, double beta)
    {
        Guard.Finite(beta, nameof(beta), 0, hint: "β is the price per nat of KL divergence from the reference model; 0 turns the penalty off.");
        RequireSameShape(logProbs, mask, "logProbs", "mask");
        RequireSameShape(referenceLogProbs, mask, "referenceLogProbs", "mask");
        if (scores.dim() != 1 || scores.shape[0] != mask.shape[0])
            throw new ArgumentException($"Expected one score per sequence, shape ({mask.shape[0]}), got ({string.Join(", ", scores.shape)}).", nameof(scores));
        var rewards = -beta * (logProbs - referenceLogProbs) * mask;                              // (B, T-1)
        // the last response position of each row: the largest t with mask 1 (rows without any get their score nowhere)
        var positions = arange(mask.shape[1], dtype: float32, device: mask.device).unsqueeze(0);   // (1, T-1)
        var last = (positions * mask - (1 - mask)).argmax(1, keepdim: true);                      // (B, 1)
        var hasResponse = mask.sum(1, keepdim: true).gt(0).to(float32);                          // (B, 1)
        return rewards.scatter_add(1, last, scores.unsqueeze(1).to(float32) * hasResponse);
    }

    /// <summary>
    /// Generalised advantage estimation (Schulman et al. 2016), backwards over each response:
    /// δ_t = r_t + γ·V_{t+1} − V_t (V after the last response token is 0: the episode is over), and
    /// A_t = δ_t + γλ·A_{t+1}. λ = 0 gives the one-step estimate δ_t; λ = 1 gives the discounted return minus V_t.
    /// Returns the advantages and the returns A + V (the critic's targets), both 0 outside the mask.
    /// </summary>
    public static (Tensor Advantages, Tensor Returns) Gae(Tensor rewards, Tensor values, Tensor mask, double gamma = 1.0, double lambda = 0.95)
    {
        Guard.Finite(gamma, nameof(gamma), 0, 1);
        Guard.Finite(lambda, nameof(lambda), 0, 1);
        RequireSameShape(rewards, mask, "rewards", "mask");
        RequireSameShape(values, mask, "values", "mask");
        using var _ = no_grad();
        long T = mask.shape[1];
        var columns = new Tensor[T];
        var next = zeros_like(values[.., 0]);          // A_{t+1}
        var nextValue = zeros_like(values[.., 0]);     // V_{t+1}, 0 beyond the response
        for (long t = T - 1; t >= 0; t--)
        {
            var m = mask[.., t];
            var delta = rewards[.., t] + gamma * nextValue - values[.., t];
            var a = (delta + gamma * lambda * next) * m;
            columns[t] = a;
            next = a;
            nextValue = values[.., t] * m;
        }
        var advantages = stack(columns, 1);
        return (advantages, (advantages + values) * mask);
    }

    /// <summary>
    /// (x − mean) / √(var + 1e-8) over the masked positions (population variance), 0 elsewhere: advantages on the same
    /// scale at every step, whatever the rewards' scale.
    /// </summary>
    public static Tensor Whiten(Tensor x, Tensor mask)
    {
        RequireSameShape(x, mask, "x", "mask");
        var mean = MaskedMean(x, mask);
        var variance = MaskedMean((x - mean).square(), mask);
        return (x - mean) / (variance + 1e-8).sqrt() * mask;
    }

    /// <summary>
    /// PPO's clipped surrogate loss, −mean min(ρ·A, clip(ρ, 1−ε, 1+ε)·A) over response tokens, with
    /// ρ = exp(log π − log π_old). Once ρ has moved ε beyond 1 in the direction A favours, the gradient stops: one batch
    /// of rollouts can be reused for several epochs without the policy running away. Also returns the fraction of
    /// tokens where clipping was active.
    /// </summary>
    /// <exception cref="ArgumentException">ε ≤ 0.</exception>
    public static (Tensor Loss, double ClipFraction) ClippedPolicyLoss(Tensor logProbs, Tensor oldLogProbs, Tensor advantages, Tensor mask, double epsilon = 0.2)
    {
        Guard.Positive(epsilon, nameof(epsilon), "It is how far the probability ratio may move from 1 per update (PPO uses 0.2).");
        RequireSameShape(logProbs, mask, "logProbs", "mask");
        RequireSameShape(oldLogProbs, mask, "oldLogProbs", "mask");
        RequireSameShape(advantages, mask, "advantages", "mask");
        var loss = MaskedMean(-PolicyGradient.ClippedSurrogate(logProbs, oldLogProbs, advantages, epsilon), mask);
        double fraction;
        using (no_grad())
        {
            // active clipping: the clipped term is the smaller one, so the gradient through this token is 0
            var ratio = (logProbs - oldLogProbs).exp();
            var active = (ratio * advantages).gt(ratio.clamp(1 - epsilon, 1 + epsilon) * advantages);
            fraction = MaskedMean(active.to(float32), mask).item<float>();
        }
        return (loss, fraction);
    }

    /// <summary>
    /// The critic's clipped loss, ½·mean max((V − R)², (V_clip − R)²) over response tokens, where
    /// V_clip = V_old + clip(V − V_old, −ε, ε): like the policy, the value function may move only ε per batch.
    /// </summary>
    public static Tensor ClippedValueLoss(Tensor values, Tensor oldValues, Tensor returns, Tensor mask, double epsilon = 0.2)
    {
        Guard.Positive(epsilon, nameof(epsilon), "It is how far a value may move from its rollout-time value per batch.");
        RequireSameShape(values, mask, "values", "mask");
        RequireSameShape(oldValues, mask, "oldValues", "mask");
        RequireSameShape(returns, mask, "returns", "mask");
        var clipped = oldValues + (values - oldValues).clamp(-epsilon, epsilon);
        return 0.5 * MaskedMean(maximum((values - returns).square(), (clipped - returns).square()), mask);
    }

    static void RequireSameShape(Tensor a, Tensor b, string nameA, string nameB)
    {
        ArgumentNullException.ThrowIfNull(a, nameA);
        ArgumentNullException.ThrowIfNull(b, nameB);
        if (!a.shape.SequenceEqual(b.shape))
            throw new ArgumentException($"{nameA} has shape ({string.Join(", ", a.shape)}) but {nameB} has ({string.Join(", ", b.shape)}); both are per-token tensors (B, T−1).", nameA);
    }
}
