using System.Diagnostics;
using LlmNotebooks.Tensors;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.Alignment;

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
        long seed = Hashes.StreamSeed(Options.Seed, Hashes.RolloutStream, step);   // the step's own sampling stream
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
