using LlmNotebooks.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Alignment;

/// <summary>
/// Stage 2 of RLHF as an <see cref="ITrainingTask"/>: a <see cref="RewardModel"/> learns from preference pairs with the
/// Bradley–Terry loss −log σ(r_chosen − r_rejected) (<see cref="RewardModel.BradleyTerryLoss"/>). A batch of n pairs is
/// one forward pass over 2n rows, the n chosen responses and then the n rejected ones; its loss counts as n
/// predictions, so the <see cref="Trainer"/> reports the mean over pairs. The Trainer adds what every run gets: the
/// learning-rate schedule, gradient clipping, finite checks with the cause of a divergence, checkpoints and exact
/// resume. <see cref="RewardModel.Fit"/> is the short way to run it.
/// <para>
/// Order: the pairs are shuffled once per epoch with a seeded generator, and consecutive steps read consecutive pairs
/// of that order (example k of the run is pair k mod N of epoch k / N), so the micro-batches of a step together are one
/// large batch and a resumed run reads the same pairs. Validation batch i of n reads pairs from the start of the i-th of
/// n equal shares.
/// </para>
/// <code>
/// var task = new PreferenceTask(trainPairs, heldOutPairs, padToken);
/// using var trainer = new Trainer(rewardModel, task, PreferenceTask.Options(steps: 150));
/// trainer.Run();
/// task.History   // per step: the Bradley–Terry loss and the batch's pair accuracy
/// </code>
/// </summary>
public sealed class PreferenceTask : ITrainingTask
{
    readonly PreferencePairs _pairs;
    readonly SortedDictionary<int, (double Loss, double Correct, long Count)> _steps = [];

    /// <param name="train">The training pairs (token ids; each response ends with its end token).</param>
    /// <param name="validation">Held-out pairs for the validation loss, or null.</param>
    /// <param name="padToken">The id that fills rows shorter than the batch's longest (never read: the reward is read at the last real token).</param>
    public PreferenceTask(IReadOnlyList<PairTokens> train, IReadOnlyList<PairTokens>? validation, int padToken) =>
        _pairs = new PreferencePairs(train, validation, padToken, "A reward model");

    /// <summary>
    /// Options for training a reward model as this course does: <paramref name="steps"/> steps of
    /// <paramref name="batchSize"/> pairs at a constant <paramref name="learningRate"/> (no warmup, no decay), AdamW
    /// without weight decay (β₁ 0.9, β₂ 0.999), and the gradient norm clipped at 1. Change any of them with <c>with</c>.
    /// </summary>
    public static TrainerOptions Options(int steps, int batchSize = 32, double learningRate = 3e-4) =>
        PreferencePairs.ConstantRate(steps, batchSize, learningRate, "reward model");

    public string TrainFingerprint => _pairs.TrainFingerprint;
    public string? ValidationFingerprint => _pairs.ValidationFingerprint;
    public long TrainExamples => _pairs.TrainExamples;

    /// <summary>
    /// Per training step this task computed, in step order: the batch's loss and pair accuracy before the update (a step
    /// of several micro-batches counts all of them). A resumed run's task holds the steps it ran.
    /// </summary>
    public IReadOnlyList<PreferenceStep> History =>
        _steps.Select(s => new PreferenceStep(s.Key, s.Value.Loss / Math.Max(1, s.Value.Count), s.Value.Correct / Math.Max(1, s.Value.Count))).ToList();

    public void Check(nn.Module model)
    {
        if (model is not RewardModel rm)
            throw new ArgumentException($"A PreferenceTask trains a RewardModel; got a {model?.GetType().Name ?? "null"}. " +
                                        "(To learn from pairs without a reward model, use a DpoTask.)", nameof(model));
        _pairs.Check(rm.BlockSize, rm.VocabSize, "the reward model", nameof(model));
    }

    public LossSum TrainLoss(nn.Module model, int step, int part, int parts, int batchSize, long seed)
    {
        var pairs = _pairs.TrainBatch(step, part, parts, batchSize, seed);
        var (sum, correct) = Score((RewardModel)model, pairs);
        var before = part == 0 || !_steps.TryGetValue(step, out var s) ? default : s;     // part 0 starts the step (again, if it is rerun)
        _steps[step] = (before.Loss + sum.item<float>(), before.Correct + correct, before.Count + pairs.Count);
        return new LossSum(sum, pairs.Count);
    }

    public LossSum ValidationLoss(nn.Module model, int index, int batches, int batchSize)
    {
        var pairs = _pairs.ValidationBatch(index, batches, batchSize);
        return new LossSum(Score((RewardModel)model, pairs).Sum, pairs.Count);
    }

    /// <summary>The summed Bradley–Terry loss of the pairs (differentiable) and how many the model already ranks right.</summary>
    (Tensor Sum, long Correct) Score(RewardModel model, IReadOnlyList<PairTokens> pairs)
    {
        int n = pairs.Count;
        using var batch = _pairs.Batch(pairs, model.BlockSize);
        var rewards = model.Scores(batch);                                                  // (2n): chosen, then rejected
        var (chosen, rejected) = (rewards[..n], rewards[n..]);
        long correct;
        using (no_grad()) correct = chosen.gt(rejected).sum().item<long>();
        return (RewardModel.BradleyTerryLoss(chosen, rejected) * n, correct);
    }
}
