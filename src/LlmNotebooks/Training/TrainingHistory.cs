namespace LlmNotebooks.Training;

/// <summary>One training step: its (0-based) number, the batch loss, the learning rate used and the gradient norm before clipping.</summary>
public sealed record TrainStep(int Step, double Loss, double LearningRate, double GradNorm);

/// <summary>A validation measurement after <paramref name="Step"/> completed steps.</summary>
public sealed record ValidationPoint(int Step, double Loss);

/// <summary>What happened in a run so far; it travels inside checkpoints, so a resumed run keeps its whole curve.</summary>
public sealed class TrainingHistory
{
    public List<TrainStep> Train { get; init; } = [];
    public List<ValidationPoint> Validation { get; init; } = [];
    /// <summary>Seconds spent in training steps (not evaluation or checkpoints), over all sessions of the run.</summary>
    public double TrainSeconds { get; set; }
    /// <summary>Tokens the model has been trained on.</summary>
    public long Tokens { get; set; }

    /// <summary>Training throughput: tokens per second of step time.</summary>
    public double TokensPerSecond => TrainSeconds > 0 ? Tokens / TrainSeconds : 0;

    /// <summary>The last validation loss (NaN before the first measurement).</summary>
    public double LastValidationLoss => Validation.Count > 0 ? Validation[^1].Loss : double.NaN;

    /// <summary>Mean training loss of the last <paramref name="steps"/> steps (a smoother number than one batch).</summary>
    public double RecentTrainLoss(int steps = 50) => Train.Count == 0 ? double.NaN : Train.TakeLast(steps).Average(s => s.Loss);
}
