using static TorchSharp.torch;

namespace LlmNotebooks.Alignment;

/// <summary>
/// The pieces every policy-gradient method of chapter 6 shares: PPO's clipped objective and the k3 estimate of the KL
/// divergence from the reference model.
/// </summary>
public static class PolicyGradient
{
    /// <summary>
    /// PPO's clipped surrogate, per token: min(ρ·A, clip(ρ, 1 − ε, 1 + ε)·A) with ρ = exp(log π − log π_old). Maximise it. The
    /// clip removes the incentive to move a token's probability further than a factor 1 ± ε away from the policy that sampled
    /// it in one batch: past that point the gradient is zero (Schulman et al. 2017).
    /// </summary>
    /// <param name="logProbs">log π(token) under the policy being trained (differentiable).</param>
    /// <param name="oldLogProbs">log π_old(token) under the policy that sampled it (detached).</param>
    /// <param name="advantages">How much better than expected each token's action was (broadcast against the log-probs).</param>
    /// <param name="epsilon">The clip range ε (0.2 in the paper); must be positive.</param>
    public static Tensor ClippedSurrogate(Tensor logProbs, Tensor oldLogProbs, Tensor advantages, double epsilon)
    {
        RequireClip(epsilon);
        using var scope = NewDisposeScope();
        var ratio = exp(logProbs - oldLogProbs);
        var clipped = ratio.clamp(1 - epsilon, 1 + epsilon);
        return minimum(ratio * advantages, clipped * advantages).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The k3 estimator of KL(π ‖ π_ref) from one sampled token (Schulman 2020, used by GRPO): with d = log π_ref − log π,
    /// k3 = eᵈ − d − 1. Its expectation under π is exactly the KL divergence, and unlike the plain estimate −d it is never
    /// negative (eᵈ ≥ 1 + d), so a single sample cannot report a "negative distance".
    /// </summary>
    public static Tensor KlK3(Tensor logProbPolicy, Tensor logProbReference)
    {
        ArgumentNullException.ThrowIfNull(logProbPolicy);
        ArgumentNullException.ThrowIfNull(logProbReference);
        using var scope = NewDisposeScope();
        var d = logProbReference - logProbPolicy;
        return (exp(d) - d - 1).MoveToOuterDisposeScope();
    }

    internal static void RequireClip(double epsilon) =>
        Guard.Finite(epsilon, "epsilon", min: double.Epsilon, max: 1, hint: "PPO and GRPO clip the probability ratio to [1 − ε, 1 + ε]; ε = 0.2 is the usual value.");

    internal static void RequireBeta(double beta) =>
        Guard.Finite(beta, "beta", min: 0, max: 1e6, hint: "β weighs the KL penalty that keeps the policy near the reference; 0 turns it off, a negative β would reward drifting away.");
}
