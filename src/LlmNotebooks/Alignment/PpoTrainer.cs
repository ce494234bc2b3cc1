using System.Diagnostics;
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
/// PPO for a language model, actor–critic, as in InstructGPT. Each <see cref="Step"/>:
/// <list type="number">
/// <item>rollouts: sample <see cref="PpoOptions.SamplesPerPrompt"/> answers per prompt from the policy (the actor),
/// keeping each token's log-probability;</item>
/// <item>rewards: the reward function (the reward model) scores each answer; every token pays
/// β·(log π_old − log π_ref) for drifting from the frozen reference, and the last token gets the score
/// (<see cref="Ppo.PerTokenRewards"/>);</item>
/// <item>advantages: the critic (<see cref="ValueModel"/>) estimates V at every token; GAE turns rewards and values into
/// advantages (how much better each token did than the critic expected) and returns, and the advantages are whitened;</item>
/// <item>updates: <see cref="PpoOptions.Epochs"/> passes over the batch, each one AdamW step of the policy on the clipped
/// surrogate loss and one of the critic on the clipped value loss (each a <see cref="PolicyUpdate"/>: gradients clipped to
/// <see cref="PpoOptions.GradClip"/>, the loss checked before the step, the module's mode restored).</item>
/// </list>
/// The critic is a second transformer with its own optimizer: its forward and backward passes and its memory are PPO's
/// extra cost over GRPO.
/// </summary>
public sealed class PpoTrainer : IDisposable
{
    readonly Gpt _policy, _reference;
    readonly ValueModel _critic;
    readonly RewardFunction _reward;
    readonly ITokenizer _tokenizer;
    readonly int _stop, _pad;
    readonly PolicyUpdate _policyUpdate, _valueUpdate;
    readonly List<PpoStep> _history = [];

    public PpoOptions Options { get; }
    public IReadOnlyList<PpoStep> History => _history;

    /// <param name="policy">The model being optimised (trained in place).</param>
    /// <param name="reference">The frozen reference (<c>sft.Copy(frozen: true)</c>) the KL price is measured against.</param>
    /// <param name="critic">The value model, trained alongside.</param>
    /// <param name="reward">The scores of a batch of completions (the reward model's), one each; NaN or ±∞ stops training, before any update, with the completion's text.</param>
    /// <param name="tokenizer">Decodes prompts and completions for error messages.</param>
    /// <param name="stopToken">The token that ends a response (sampled and scored like any other).</param>
    /// <param name="padToken">Fills rows shorter than the batch's longest (never scored).</param>
    /// <param name="options">Samples per prompt, β, clipping, GAE's γ and λ, epochs and learning rates.</param>
    public PpoTrainer(Gpt policy, Gpt reference, ValueModel critic, RewardFunction reward, ITokenizer tokenizer, int stopToken, int padToken, PpoOptions options)
    {
        _policy = policy ?? throw new ArgumentNullException(nameof(policy));
        _reference = reference ?? throw new ArgumentNullException(nameof(reference));
        _critic = critic ?? throw new ArgumentNullException(nameof(critic));
        _reward = reward ?? throw new ArgumentNullException(nameof(reward));
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (ReferenceEquals(policy, reference))
            throw new ArgumentException("The reference must be a separate frozen copy of the starting policy (policy.Copy(frozen: true)), not the policy itself: otherwise the KL price is always 0.", nameof(reference));
        Options = options;
        _stop = stopToken;
        _pad = padToken;
        _policyUpdate = new PolicyUpdate(policy, options.LearningRate, options.GradClip, "PPO");
        _valueUpdate = new PolicyUpdate(critic, options.ValueLearningRate, options.GradClip, "PPO", "critic", nameof(PpoOptions.ValueLearningRate));
    }

    /// <summary>One rollout of <paramref name="prompts"/> and <see cref="PpoOptions.Epochs"/> updates; returns (and logs) what it did.</summary>
    public PpoStep Step(IReadOnlyList<IReadOnlyList<int>> prompts, int step)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new ArgumentException("A PPO step needs at least one prompt.", nameof(prompts));
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        using var rollouts = Rollouts.Sample(_policy, prompts, Options.SamplesPerPrompt, Options.MaxNewTokens, _stop, _pad, 1.0, Hashes.StreamSeed(Options.Seed, Hashes.RolloutStream, step));
        var batch = rollouts.Batch;
        var scores = Rewards.Score(_reward, rollouts.Completions, _tokenizer);
        var mask = batch.ResponseMask;
        var old = rollouts.OldLogProbs;
        Tensor referenceLogProbs, oldValues;
        using (no_grad())
        {
            referenceLogProbs = SequenceLogProbs.PerToken(_reference, batch);
            using var criticEval = _critic.EvalScope();
            oldValues = _critic.forward(batch.Tokens);
        }
        var rewards = Ppo.PerTokenRewards(tensor(scores.Select(s => (float)s).ToArray()), old, referenceLogProbs, mask, Options.Beta);
        var (advantages, returns) = Ppo.Gae(rewards, oldValues, mask, Options.Gamma, Options.Lambda);
        advantages = Ppo.Whiten(advantages, mask);
        double kl = ((old - referenceLogProbs) * mask).sum(1).mean().item<float>();

        double policyLoss = 0, valueLoss = 0, clipFraction = 0;
        for (int epoch = 0; epoch < Options.Epochs; epoch++)
        {
            using var epochScope = NewDisposeScope();
            (policyLoss, _) = _policyUpdate.Step(() =>                                   // each update in training mode, checked before the optimizer runs
            {
                var (loss, clipped) = Ppo.ClippedPolicyLoss(SequenceLogProbs.PerToken(_policy, batch), old, advantages, mask, Options.ClipEpsilon);
                clipFraction = clipped;
                return loss;
            }, step);
            (valueLoss, _) = _valueUpdate.Step(() => Ppo.ClippedValueLoss(_critic.forward(batch.Tokens), oldValues, returns, mask, Options.ValueClip), step);
        }
        var result = new PpoStep(step, scores.Average(), kl, policyLoss, valueLoss, clipFraction,
                                 rollouts.Completions.Count(c => c.Finished) / (double)rollouts.Completions.Count, clock.Elapsed.TotalSeconds);
        _history.Add(result);
        return result;
    }

    public void Dispose()
    {
        _policyUpdate.Dispose();
        _valueUpdate.Dispose();
    }
}
