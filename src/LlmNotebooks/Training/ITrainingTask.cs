using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Training;

/// <summary>
/// The loss of a batch: the sum of the per-prediction losses and how many predictions were scored. The Trainer divides
/// by max(1, <see cref="Count"/>), so a batch with nothing to score (every label masked) gives 0, never NaN, and a step
/// made of several micro-batches (gradient accumulation) weighs every prediction the same as one large batch would.
/// </summary>
/// <param name="Sum">A scalar tensor: the summed loss, connected to the model's parameters for backpropagation.</param>
/// <param name="Count">How many predictions (tokens) the sum covers.</param>
public readonly record struct LossSum(Tensor Sum, long Count);

/// <summary>
/// What a <see cref="Trainer"/> learns from: the training batch of every step, a fixed validation sample, and the loss
/// of each. Pretraining (<see cref="LanguageModelingTask"/>) and supervised fine-tuning on instruction pairs are two
/// tasks; the Trainer's loop, schedule, clipping, checkpoints and resume are the same for both.
/// <para>
/// A task must be deterministic: micro-batch <c>part</c> of step <c>step</c> is always the same examples, and the
/// <c>parts</c> micro-batches of a step together are the examples one batch of <c>parts × batchSize</c> would hold. That
/// is what makes a resumed run equal an uninterrupted one, and gradient accumulation equal one large batch.
/// </para>
/// </summary>
public interface ITrainingTask
{
    /// <summary>A short hash of the training data, stored in checkpoints and checked on resume.</summary>
    string TrainFingerprint { get; }

    /// <summary>A short hash of the validation data, or null when there is none (then no validation loss is measured).</summary>
    string? ValidationFingerprint { get; }

    /// <summary>How many examples the training data holds (to turn epochs into steps).</summary>
    long TrainExamples { get; }

    /// <summary>
    /// Throws, before any step runs, when <paramref name="model"/> cannot read this data (a token id outside its
    /// vocabulary, examples longer than its context window), saying what to change.
    /// </summary>
    void Check(nn.Module model);

    /// <summary>
    /// The loss of micro-batch <paramref name="part"/> (0-based) of <paramref name="parts"/> of training step
    /// <paramref name="step"/>, each micro-batch <paramref name="batchSize"/> examples, drawn with <paramref name="seed"/>.
    /// Runs in the caller's dispose scope and in the model's current mode (train).
    /// </summary>
    LossSum TrainLoss(nn.Module model, int step, int part, int parts, int batchSize, long seed);

    /// <summary>
    /// The loss of validation batch <paramref name="index"/> of <paramref name="batches"/>: the same examples every time.
    /// The Trainer calls it in eval mode, without gradients.
    /// </summary>
    LossSum ValidationLoss(nn.Module model, int index, int batches, int batchSize);
}
