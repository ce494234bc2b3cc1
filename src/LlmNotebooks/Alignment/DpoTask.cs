using System.Globalization;
using LlmNotebooks.Tensors;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Alignment;

/// <summary>
/// DPO (<see cref="Dpo.Loss"/>) as an <see cref="ITrainingTask"/>: offline, on preference pairs, with no reward model,
/// no sampling and no critic. The task holds the frozen reference; the <see cref="Trainer"/> trains the policy. A batch
/// of n pairs is one forward pass of the policy over 2n rows (the n chosen responses, then the n rejected ones) with
/// gradients, and one of the reference without; the loss of the batch counts as n predictions, so the Trainer reports
/// the mean over pairs. The Trainer adds what every run gets: the learning-rate schedule, gradient clipping, finite
/// checks with the cause of a divergence, checkpoints and exact resume. Pairs are read in the order
/// <see cref="PreferenceTask"/> describes.
/// <code>
/// var dpo = new DpoTask(policy.Copy(frozen: true), pairs, null, padToken, beta: 0.1);
/// using var trainer = new Trainer(policy, dpo, DpoTask.Options(steps: 30, learningRate: 3e-4));
/// trainer.Run();
/// dpo.History   // per step: loss, implicit reward margin, pair accuracy, chosen and rejected rewards
/// </code>
/// </summary>
public sealed class DpoTask : ITrainingTask
{
    readonly PreferencePairs _pairs;
    readonly SortedDictionary<int, Sums> _steps = [];

    record struct Sums(double Loss, double Margin, double Correct, double Chosen, double Rejected, long Count);

    /// <summary>The frozen starting policy the implicit rewards are measured against (never trained).</summary>
    public Gpt Reference { get; }
    /// <summary>β: the scale of the implicit reward β·log(π/π_ref); larger keeps the policy nearer the reference.</summary>
    public double Beta { get; }

    /// <param name="reference">A frozen copy of the starting policy (<c>policy.Copy(frozen: true)</c>).</param>
    /// <param name="train">The training pairs (token ids; each response ends with its end token).</param>
    /// <param name="validation">Held-out pairs for the validation loss, or null.</param>
    /// <param name="padToken">The id that fills rows shorter than the batch's longest (never scored).</param>
    /// <param name="beta">β &gt; 0 (DPO's paper uses 0.1–0.5).</param>
    public DpoTask(Gpt reference, IReadOnlyList<PairTokens> train, IReadOnlyList<PairTokens>? validation, int padToken, double beta = 0.1)
    {
        Reference = reference ?? throw new ArgumentNullException(nameof(reference));
        Guard.Positive(beta, nameof(beta), "DPO's β scales the implicit reward; 0.1 is usual.");
        Beta = beta;
        _pairs = new PreferencePairs(train, validation, padToken, "DPO", string.Create(CultureInfo.InvariantCulture, $", β {beta:R}"));
    }

    /// <summary>
    /// Options for DPO as this course runs it: <paramref name="steps"/> steps of <paramref name="batchSize"/> pairs at a
    /// constant <paramref name="learningRate"/> (no warmup, no decay), AdamW without weight decay (β₁ 0.9, β₂ 0.999), and
    /// the gradient norm clipped at 1. Change any of them with <c>with</c>.
    /// </summary>
    public static TrainerOptions Options(int steps, int batchSize = 32, double learningRate = 1e-4) =>
        PreferencePairs.ConstantRate(steps, batchSize, learningRate, "DPO");

    public string TrainFingerprint => _pairs.TrainFingerprint;
    public string? ValidationFingerprint => _pairs.ValidationFingerprint;
    public long TrainExamples => _pairs.TrainExamples;

    /// <summary>
    /// Per training step this task computed, in step order, what the batch showed before the update (a step of several
    /// micro-batches counts all of them). A resumed run's task holds the steps it ran.
    /// </summary>
    public IReadOnlyList<DpoStep> History => _steps.Select(s =>
    {
        double n = Math.Max(1, s.Value.Count);
        return new DpoStep(s.Key, s.Value.Loss / n, s.Value.Margin / n, s.Value.Correct / n, s.Value.Chosen / n, s.Value.Rejected / n);
    }).ToList();

    public void Check(nn.Module model)
    {
        if (model is not Gpt policy)
            throw new ArgumentException($"A DpoTask trains a Gpt policy; got a {model?.GetType().Name ?? "null"}.", nameof(model));
        if (ReferenceEquals(policy, Reference))
            throw new ArgumentException("The reference must be a separate frozen copy of the starting policy (policy.Copy(frozen: true)), not the policy itself.", nameof(model));
        if (policy.Config != Reference.Config)
            throw new ArgumentException($"The reference model's shape {Reference.Config} differs from the policy's {policy.Config}: " +
                                        "DPO compares the two on the same tokens.", nameof(model));
        _pairs.Check(policy.Config.BlockSize, policy.Config.VocabSize, "the policy", nameof(model));
    }

    public LossSum TrainLoss(nn.Module model, int step, int part, int parts, int batchSize, long seed)
    {
        var pairs = _pairs.TrainBatch(step, part, parts, batchSize, seed);
        var (sum, margin, accuracy, chosen, rejected) = Score((Gpt)model, pairs);
        int n = pairs.Count;
        var before = part == 0 || !_steps.TryGetValue(step, out var s) ? default : s;      // part 0 starts the step (again, if it is rerun)
        _steps[step] = new Sums(before.Loss + sum.item<float>(), before.Margin + margin * n, before.Correct + Math.Round(accuracy * n),
                                before.Chosen + chosen, before.Rejected + rejected, before.Count + n);
        return new LossSum(sum, n);
    }

    public LossSum ValidationLoss(nn.Module model, int index, int batches, int batchSize)
    {
        var pairs = _pairs.ValidationBatch(index, batches, batchSize);
        return new LossSum(Score((Gpt)model, pairs).Sum, pairs.Count);
    }

    /// <summary>
    /// The summed DPO loss of the pairs (differentiable), the mean margin and accuracy (<see cref="Dpo.Loss"/>), and the
    /// summed implicit rewards of the chosen and the rejected answers.
    /// </summary>
    (Tensor Sum, double Margin, double Accuracy, double Chosen, double Rejected) Score(Gpt policy, IReadOnlyList<PairTokens> pairs)
    {
        int n = pairs.Count;
        using var batch = _pairs.Batch(pairs, policy.Config.BlockSize);
        Tensor reference;
        using (Reference.EvalScope()) reference = SequenceLogProbs.Summed(Reference, batch);      // (2n): chosen, then rejected
        var logp = SequenceLogProbs.Summed(policy, batch);
        var (loss, margin, accuracy) = Dpo.Loss(logp[..n], logp[n..], reference[..n], reference[n..], Beta);
        double chosen, rejected;
        using (no_grad())
        {
            chosen = (Beta * (logp[..n] - reference[..n])).sum().item<float>();
            rejected = (Beta * (logp[n..] - reference[n..])).sum().item<float>();
        }
        return (loss * n, margin, accuracy, chosen, rejected);
    }
}
