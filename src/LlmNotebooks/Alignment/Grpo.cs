using System.Diagnostics;
using System.Globalization;
using LlmNotebooks.Generation;
using LlmNotebooks.Tensors;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using TorchSharp.Modules;
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

/// <summary>The settings of a GRPO run. Immutable; change a copy with <c>with</c>.</summary>
public sealed record GrpoOptions
{
    /// <summary>G: responses sampled per prompt (at least 2).</summary>
    public int GroupSize { get; init; } = 8;
    /// <summary>Prompts per step (each step learns from PromptsPerStep × GroupSize responses).</summary>
    public int PromptsPerStep { get; init; } = 8;
    /// <summary>β: the weight of the KL penalty to the reference model (DeepSeekMath: 0.04). 0 turns it off.</summary>
    public double Beta { get; init; } = 0.04;
    /// <summary>ε: the probability ratio is clipped to [1 − ε, 1 + ε].</summary>
    public double ClipEpsilon { get; init; } = 0.2;
    /// <summary>Gradient updates on each batch of samples (μ in the paper). With 1 the ratio is always 1 and clipping never acts.</summary>
    public int InnerEpochs { get; init; } = 2;
    public double LearningRate { get; init; } = 1e-4;
    /// <summary>The global gradient norm is clipped to this (0 = no clipping).</summary>
    public double GradClip { get; init; } = 1.0;
    public int MaxNewTokens { get; init; } = 32;
    /// <summary>Sampling temperature of the rollouts (must be positive: a greedy group would hold G copies of one answer).</summary>
    public double Temperature { get; init; } = 1.0;
    public long Seed { get; init; } = Defaults.Seed;

    public void Validate()
    {
        Grpo.RequireGroupSize(GroupSize);
        Guard.AtLeast(PromptsPerStep, 1, nameof(PromptsPerStep));
        PolicyGradient.RequireBeta(Beta);
        PolicyGradient.RequireClip(ClipEpsilon);
        Guard.AtLeast(InnerEpochs, 1, nameof(InnerEpochs));
        Guard.Finite(LearningRate, nameof(LearningRate), min: double.Epsilon, max: 10);
        Guard.Finite(GradClip, nameof(GradClip), min: 0);
        Guard.AtLeast(MaxNewTokens, 1, nameof(MaxNewTokens));
        Guard.Finite(Temperature, nameof(Temperature), min: double.Epsilon, max: 100,
                     hint: "GRPO needs different samples within a group, so the temperature must be above 0.");
    }
}

/// <summary>What one GRPO step saw and did.</summary>
/// <param name="Step">0-based step number.</param>
/// <param name="MeanReward">The mean reward of the step's samples (before the update).</param>
/// <param name="Kl">The mean k3 estimate of KL(π ‖ π_ref) per response token, at the last inner epoch.</param>
/// <param name="AllEqualGroups">The fraction of groups whose rewards were all equal: no learning signal from them.</param>
/// <param name="FinishedFraction">The fraction of samples that ended with the stop token rather than running out of tokens.</param>
/// <param name="MeanLength">Mean response length in tokens (the stop token included when written).</param>
/// <param name="ClippedFraction">The fraction of response tokens whose ratio was outside [1 − ε, 1 + ε] at the last inner epoch.</param>
/// <param name="Loss">The loss of the last inner epoch.</param>
/// <param name="Seconds">Wall time of the step: sampling, scoring and updates.</param>
public sealed record GrpoStep(int Step, double MeanReward, double Kl, double AllEqualGroups, double FinishedFraction, double MeanLength,
                              double ClippedFraction, double Loss, double Seconds)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"step {Step}: reward {MeanReward:F3}, KL {Kl:F4}, all-equal groups {AllEqualGroups:P0}, finished {FinishedFraction:P0}, length {MeanLength:F1}, {Seconds:F2} s");
}

/// <summary>
/// Trains a policy with GRPO. Each <see cref="Step"/>: sample G responses to each prompt (<see cref="Rollouts"/>), score
/// them with the reward function, turn rewards into group-relative advantages, then take <see cref="GrpoOptions.InnerEpochs"/>
/// gradient steps on the loss −[min(ρ·A, clip(ρ)·A) − β·k3] averaged over each response's tokens and then over responses
/// (the paper's 1/G Σᵢ 1/|oᵢ| Σₜ, <see cref="Grpo.Loss"/>). The reference model is never trained. AdamW without weight decay
/// updates the policy (<see cref="PolicyUpdate"/>: gradients clipped to <see cref="GrpoOptions.GradClip"/>, the loss
/// checked before the step, the policy's mode restored).
/// <code>
/// var grpo = new GrpoTrainer(policy, policy.Copy(frozen: true), Rewards.Each(c => Verify(c) ? 1 : 0), tokenizer, stop, pad, new GrpoOptions());
/// for (int s = 0; s &lt; 30; s++) grpo.Step(PromptsFor(s), s);
/// </code>
/// </summary>
public sealed class GrpoTrainer : IDisposable
{
    readonly RewardFunction _reward;
    readonly ITokenizer _tokenizer;
    readonly int _stop, _pad;
    readonly PolicyUpdate _update;
    readonly List<GrpoStep> _history = [];

    public Gpt Policy { get; }
    public Gpt Reference { get; }
    public GrpoOptions Options { get; }
    public IReadOnlyList<GrpoStep> History => _history;

    /// <param name="policy">The model to train (its parameters that require a gradient).</param>
    /// <param name="reference">A frozen copy of the starting policy (<see cref="Gpt.Copy"/> with frozen: true), for the KL penalty.</param>
    /// <param name="reward">The scores of a batch of completions, one each; each must be finite (NaN or ±∞ stops the run with the prompt and completion that caused it).</param>
    /// <param name="tokenizer">Decodes prompts and completions for error messages.</param>
    /// <param name="stopToken">The token that ends a response (it is sampled, scored and trained like any other).</param>
    /// <param name="padToken">Fills rows shorter than the batch's longest (never scored).</param>
    /// <param name="options">Group size, KL weight, clipping, learning rate and sampling.</param>
    public GrpoTrainer(Gpt policy, Gpt reference, RewardFunction reward, ITokenizer tokenizer, int stopToken, int padToken, GrpoOptions options)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(reward);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (ReferenceEquals(policy, reference))
            throw new ArgumentException("The reference must be a separate, frozen copy of the policy (policy.Copy(frozen: true)); the policy itself moves with every step.", nameof(reference));
        if (policy.Config != reference.Config)
            throw new ArgumentException($"The reference model's shape {reference.Config} differs from the policy's {policy.Config}: the KL penalty compares the two token by token.", nameof(reference));
        Policy = policy; Reference = reference; Options = options;
        _reward = reward; _tokenizer = tokenizer; _stop = stopToken; _pad = padToken;
        _update = new PolicyUpdate(policy, options.LearningRate, options.GradClip, "GRPO");
    }

    /// <summary>One GRPO step on <paramref name="prompts"/> (usually <see cref="GrpoOptions.PromptsPerStep"/> of them); <paramref name="step"/> seeds the sampling.</summary>
    public GrpoStep Step(IReadOnlyList<IReadOnlyList<int>> prompts, int step)
    {
        var clock = Stopwatch.StartNew();
        int G = Options.GroupSize;
        long seed = unchecked(Options.Seed * 1_000_003 + step);
        using var rollouts = Rollouts.Sample(Policy, prompts, G, Options.MaxNewTokens, _stop, _pad, Options.Temperature, seed);
        var rewards = Rewards.Score(_reward, rollouts.Completions, _tokenizer);
        var advantages = Grpo.GroupAdvantages(rewards, G);
        int groups = prompts.Count;
        double allEqual = Enumerable.Range(0, groups).Count(g => Grpo.AllEqual(rewards, g * G, G)) / (double)groups;

        using var scope = NewDisposeScope();
        var batch = rollouts.Batch;
        var mask = batch.ResponseMask;
        Tensor referenceLogProbs;
        using (Reference.EvalScope()) referenceLogProbs = SequenceLogProbs.PerToken(Reference, batch);
        var adv = tensor(advantages.Select(a => (float)a).ToArray()).unsqueeze(1);       // (B, 1): one advantage for every token of a response
        double tokens = Math.Max(1, mask.sum().item<float>());
        double loss = 0, kl = 0, clippedFraction = 0;
        for (int epoch = 0; epoch < Options.InnerEpochs; epoch++)
        {
            using var inner = NewDisposeScope();
            Tensor logp = null!;
            (loss, _) = _update.Step(() =>                                               // in training mode; checked before the optimizer runs
            {
                logp = SequenceLogProbs.PerToken(Policy, batch);
                return Grpo.Loss(logp, rollouts.OldLogProbs, referenceLogProbs, adv, mask, Options.ClipEpsilon, Options.Beta);
            }, step);
            using (no_grad())
            {
                kl = (PolicyGradient.KlK3(logp, referenceLogProbs) * mask).sum().item<float>() / tokens;
                var ratio = exp(logp - rollouts.OldLogProbs);
                var outside = (ratio - 1).abs() > Options.ClipEpsilon;
                clippedFraction = (outside.to(float32) * mask).sum().item<float>() / tokens;
            }
        }
        var record = new GrpoStep(step, rewards.Average(), kl, allEqual, rollouts.Completions.Count(c => c.Finished) / (double)rollouts.Completions.Count,
                                  batch.ResponseLengths.Average(), clippedFraction, loss, clock.Elapsed.TotalSeconds);
        _history.Add(record);
        return record;
    }

    public void Dispose() => _update.Dispose();
}
