using System.Diagnostics;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmNotebooks.Alignment;

/// <summary>
/// DPO training (<see cref="Dpo.Loss"/>) on preference pairs, offline: no sampling, no reward model, no critic. Each
/// <see cref="Step"/> reads a batch of pairs (shuffled once per epoch, seeded), computes the summed log-probabilities of
/// chosen and rejected responses under the policy (with gradients) and the frozen reference (without), and takes one
/// AdamW step on the loss. Logged: the loss, the implicit reward margin and the pair accuracy.
/// </summary>
public sealed class DpoTrainer : IDisposable
{
    readonly Gpt _policy, _reference;
    readonly IReadOnlyList<PairTokens> _pairs;
    readonly int _pad;
    readonly AdamW _optimizer;
    readonly List<DpoStep> _history = [];
    readonly Random _random;
    int[] _order;
    int _cursor;

    public DpoOptions Options { get; }
    public IReadOnlyList<DpoStep> History => _history;

    public DpoTrainer(Gpt policy, Gpt reference, IReadOnlyList<PairTokens> pairs, int padToken, DpoOptions options)
    {
        _policy = policy ?? throw new ArgumentNullException(nameof(policy));
        _reference = reference ?? throw new ArgumentNullException(nameof(reference));
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (pairs.Count == 0) throw new ArgumentException("DPO needs at least one preference pair.", nameof(pairs));
        if (ReferenceEquals(policy, reference))
            throw new ArgumentException("The reference must be a separate frozen copy of the starting policy (policy.Copy(frozen: true)), not the policy itself.", nameof(reference));
        _pairs = pairs;
        _pad = padToken;
        Options = options;
        _optimizer = optim.AdamW(policy.parameters().Where(p => p.requires_grad), lr: options.LearningRate, weight_decay: 0.0);
        _random = new Random(unchecked((int)options.Seed));
        _order = Shuffled();
    }

    int[] Shuffled() => Enumerable.Range(0, _pairs.Count).OrderBy(_ => _random.Next()).ToArray();

    /// <summary>One batch, one update.</summary>
    public DpoStep Step(int step)
    {
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var batch = new List<PairTokens>(Options.BatchSize);
        for (int i = 0; i < Math.Min(Options.BatchSize, _pairs.Count); i++)
        {
            if (_cursor == _order.Length) { _order = Shuffled(); _cursor = 0; }
            batch.Add(_pairs[_order[_cursor++]]);
        }
        int n = batch.Count;
        var prompts = batch.Select(p => p.Prompt).Concat(batch.Select(p => p.Prompt)).ToList();
        var responses = batch.Select(p => p.Chosen).Concat(batch.Select(p => p.Rejected)).ToList();
        using var tokens = ResponseBatch.Create(prompts, responses, _pad, _policy.Config.BlockSize);
        Tensor reference;
        using (no_grad()) reference = SequenceLogProbs.Summed(_reference, tokens);                  // (2n): chosen, then rejected
        _policy.train();
        var policy = SequenceLogProbs.Summed(_policy, tokens);
        var (loss, margin, accuracy) = Dpo.Loss(policy[..n], policy[n..], reference[..n], reference[n..], Options.Beta);
        double chosenReward, rejectedReward;
        using (no_grad())
        {
            chosenReward = (Options.Beta * (policy[..n] - reference[..n])).mean().item<float>();
            rejectedReward = (Options.Beta * (policy[n..] - reference[n..])).mean().item<float>();
        }
        _optimizer.zero_grad();
        loss.backward();
        nn.utils.clip_grad_norm_(_policy.parameters().Where(p => p.requires_grad), 1.0);
        _optimizer.step();
        double value = loss.item<float>();
        if (!double.IsFinite(value)) throw new InvalidOperationException($"DPO step {step}: the loss is {Guard.Show(value)}; lower the learning rate ({Options.LearningRate}).");
        var result = new DpoStep(step, value, margin, accuracy, chosenReward, rejectedReward, clock.Elapsed.TotalSeconds);
        _history.Add(result);
        return result;
    }

    public void Dispose() => _optimizer.Dispose();
}
