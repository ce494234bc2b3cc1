namespace LlmNotebooks.Training;

/// <summary>
/// Everything that decides a training run besides the model and the data. Immutable; change a copy with <c>with</c>.
/// The defaults suit the course's small GPTs on a CPU.
/// </summary>
public sealed record TrainerOptions
{
    /// <summary>Optimizer steps (iterations) in the whole run.</summary>
    public int Steps { get; init; } = 1000;
    /// <summary>Windows per batch.</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>Peak learning rate, reached after the warmup.</summary>
    public double MaxLr { get; init; } = 3e-3;
    /// <summary>Learning rate at the end of the cosine decay.</summary>
    public double MinLr { get; init; } = 3e-4;
    /// <summary>Steps of linear warmup.</summary>
    public int WarmupSteps { get; init; } = 50;
    /// <summary>AdamW's decoupled weight decay, applied to matrices only (not to biases or LayerNorm gains).</summary>
    public double WeightDecay { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    /// <summary>Gradients whose global L2 norm exceeds this are scaled down to it (0 = no clipping).</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Validation loss is measured every this many steps (and after the last one).</summary>
    public int EvalEvery { get; init; } = 100;
    /// <summary>Batches in one validation measurement (always the same evenly spread windows).</summary>
    public int EvalBatches { get; init; } = 8;
    /// <summary>Seeds the batches (and dropout): the same seed gives the same run.</summary>
    public long Seed { get; init; } = 1234;
    /// <summary>Where checkpoints go (a .safetensors path); null for none.</summary>
    public string? CheckpointPath { get; init; }
    /// <summary>A checkpoint every this many steps (and after the last step); 0 = only after the last step.</summary>
    public int CheckpointEvery { get; init; }
    /// <summary>Name shown in the progress display.</summary>
    public string Title { get; init; } = "training";

    /// <summary>The learning-rate schedule these options describe.</summary>
    public LearningRateSchedule Schedule => new(MaxLr, MinLr, WarmupSteps, Steps);

    /// <summary>Throws when an option is out of range, saying which one.</summary>
    public void Validate()
    {
        if (Steps <= 0) throw new ArgumentException($"Steps must be positive, got {Steps}.");
        if (BatchSize <= 0) throw new ArgumentException($"BatchSize must be positive, got {BatchSize}.");
        if (WeightDecay < 0) throw new ArgumentException($"WeightDecay must be ≥ 0, got {WeightDecay}.");
        if (GradClip < 0) throw new ArgumentException($"GradClip must be ≥ 0 (0 turns clipping off), got {GradClip}.");
        if (EvalEvery <= 0 || EvalBatches <= 0) throw new ArgumentException($"EvalEvery and EvalBatches must be positive, got {EvalEvery} and {EvalBatches}.");
        if (CheckpointEvery < 0) throw new ArgumentException($"CheckpointEvery must be ≥ 0, got {CheckpointEvery}.");
        if (Beta1 is < 0 or >= 1 || Beta2 is < 0 or >= 1) throw new ArgumentException($"Betas must be in [0, 1), got {Beta1}, {Beta2}.");
        Schedule.Validate();
    }
}
