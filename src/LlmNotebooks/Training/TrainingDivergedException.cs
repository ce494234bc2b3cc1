namespace LlmNotebooks.Training;

/// <summary>
/// A training run stopped because a number went non-finite (NaN or ±∞): the loss, the gradient norm, the validation
/// loss or the weights. The message names the step and the likely cause. The step that failed was not applied
/// (or, when its update produced the non-finite weights, no checkpoint was written from it), so the last checkpoint
/// on disk is the last good state.
/// </summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>The 0-based step at which the run stopped.</summary>
    public int Step { get; }

    public TrainingDivergedException(int step, string message) : base(message) => Step = step;
}
