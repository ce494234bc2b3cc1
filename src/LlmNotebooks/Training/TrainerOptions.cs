namespace LlmNotebooks.Training;

/// <summary>
/// Everything that decides a training run besides the model and the data. Immutable; change a copy with <c>with</c>.
/// The defaults suit the course's small GPTs on a CPU.
/// </summary>
public sealed record TrainerOptions
{
    /// <summary>Optimizer steps (iterations) in the whole run.</summary>
    public int Steps { get; init; } = 1000;
    /// <summary>Examples (windows) per micro-batch: what one forward pass holds, so what decides the memory.</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>
    /// Micro-batches per optimizer step (Hugging Face's gradient_accumulation_steps): their gradients are summed before
    /// the update, so a step learns from BatchSize × GradientAccumulation examples with the memory of BatchSize.
    /// </summary>
    public int GradientAccumulation { get; init; } = 1;
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
    /// <summary>
    /// Seeds the batches (and dropout): the same seed gives the same run. Dropout masks are drawn from torch's global
    /// generator, seeded per step and restored afterwards (see <see cref="Tensors.TorchRandom"/>), so training leaves
    /// the global generator as it found it.
    /// </summary>
    public long Seed { get; init; } = Defaults.Seed;
    /// <summary>Where checkpoints go (a .safetensors path); null for none.</summary>
    public string? CheckpointPath { get; init; }
    /// <summary>A checkpoint every this many steps (and after the last step); 0 = only after the last step.</summary>
    public int CheckpointEvery { get; init; }
    /// <summary>
    /// 0 (the default): every checkpoint replaces the file at <see cref="CheckpointPath"/>. N &gt; 0 (Hugging Face's
    /// save_total_limit): each checkpoint is its own file, CheckpointPath with "-step000300" before the extension, and
    /// only the newest N of this run are kept (older ones are deleted after the new one is safely written).
    /// </summary>
    public int KeepCheckpoints { get; init; }
    /// <summary>Name shown in the progress display.</summary>
    public string Title { get; init; } = "training";

    /// <summary>The largest <see cref="MaxLr"/> accepted: far past divergence, yet small enough that every update fits a float32 weight.</summary>
    public const double MaxLearningRate = 1000;

    /// <summary>The largest <see cref="WeightDecay"/> accepted (lr·WeightDecay must fit a float32 factor).</summary>
    public const double MaxWeightDecay = 1000;

    /// <summary>The largest <see cref="GradClip"/> accepted (a norm this large never clips; 0 turns clipping off).</summary>
    public const double MaxGradClip = 1e6;

    /// <summary>The learning-rate schedule these options describe.</summary>
    public LearningRateSchedule Schedule => new(MaxLr, MinLr, WarmupSteps, Steps);

    /// <summary>Examples one optimizer step learns from: BatchSize × GradientAccumulation.</summary>
    public int EffectiveBatchSize => BatchSize * GradientAccumulation;

    /// <summary>
    /// Optimizer steps for <paramref name="epochs"/> passes over <paramref name="examples"/> examples at this effective
    /// batch size (Hugging Face's num_train_epochs, which the Trainer turns into steps the same way, rounding up).
    /// </summary>
    public int StepsForEpochs(double epochs, long examples)
    {
        Guard.Positive(epochs, nameof(epochs));
        if (examples <= 0) throw new ArgumentOutOfRangeException(nameof(examples), $"Expected a positive number of examples, got {examples}.");
        double steps = Math.Ceiling(epochs * examples / EffectiveBatchSize);
        if (steps > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(epochs), $"{epochs} epochs of {examples} examples are {steps} steps, more than a run can hold.");
        return (int)steps;
    }

    /// <summary>
    /// The file the checkpoint after <paramref name="completedSteps"/> steps goes to: <see cref="CheckpointPath"/>
    /// itself, or with <see cref="KeepCheckpoints"/> set, CheckpointPath with "-step000300" before its extension.
    /// </summary>
    public string CheckpointFile(int completedSteps)
    {
        string path = CheckpointPath ?? throw new InvalidOperationException("CheckpointPath is null: this run writes no checkpoints.");
        if (KeepCheckpoints == 0) return path;
        string stem = Path.Combine(Path.GetDirectoryName(path) ?? "", Path.GetFileNameWithoutExtension(path));
        return $"{stem}-step{completedSteps.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)}{Path.GetExtension(path)}";
    }

    /// <summary>The numbered checkpoints of this run that exist on disk, oldest first (with <see cref="KeepCheckpoints"/> set).</summary>
    public IReadOnlyList<string> RunCheckpoints(string checkpointPath)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(checkpointPath))!;
        if (!Directory.Exists(folder)) return [];
        string name = Path.GetFileNameWithoutExtension(checkpointPath), extension = Path.GetExtension(checkpointPath);
        var pattern = new System.Text.RegularExpressions.Regex("^" + System.Text.RegularExpressions.Regex.Escape(name) + @"-step(\d{6,})" +
                                                               System.Text.RegularExpressions.Regex.Escape(extension) + "$");
        return Directory.GetFiles(folder)
            .Select(f => (File: f, Match: pattern.Match(Path.GetFileName(f))))
            .Where(f => f.Match.Success)
            .OrderBy(f => long.Parse(f.Match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
            .Select(f => f.File).ToList();
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when an option is out of range, saying which one: every number must be
    /// finite (NaN and ±∞ are refused, as they would train into NaN weights or silently turn clipping off), and the
    /// checkpoint path must be usable as a file path now, not only after the whole run.
    /// </summary>
    public void Validate()
    {
        Guard.AtLeast(Steps, 1, nameof(Steps));
        Guard.AtLeast(BatchSize, 1, nameof(BatchSize));
        Guard.AtLeast(GradientAccumulation, 1, nameof(GradientAccumulation), "1 means no accumulation: one micro-batch per step.");
        Guard.AtLeast(KeepCheckpoints, 0, nameof(KeepCheckpoints), "0 means one file, replaced by every checkpoint.");
        Guard.Positive(MaxLr, nameof(MaxLr));
        Guard.Finite(MaxLr, nameof(MaxLr), max: MaxLearningRate, hint: "AdamW moves each weight by about the learning rate per step; useful values are 1e-4 to 1e-2.");
        Guard.Finite(MinLr, nameof(MinLr), 0, MaxLr, "It is where the cosine ends, so 0 ≤ MinLr ≤ MaxLr.");
        Guard.AtLeast(WarmupSteps, 0, nameof(WarmupSteps));
        Guard.Finite(WeightDecay, nameof(WeightDecay), min: 0, max: MaxWeightDecay, hint: "Each step shrinks the matrices by the factor 1 − lr·WeightDecay; useful values are 0 to 0.1.");
        Guard.UnitInterval(Beta1, nameof(Beta1));
        Guard.UnitInterval(Beta2, nameof(Beta2));
        Guard.Finite(GradClip, nameof(GradClip), min: 0, max: MaxGradClip, hint: "0 turns clipping off.");
        Guard.AtLeast(EvalEvery, 1, nameof(EvalEvery));
        Guard.AtLeast(EvalBatches, 1, nameof(EvalBatches));
        Guard.AtLeast(CheckpointEvery, 0, nameof(CheckpointEvery), "0 means only after the last step.");
        if (Title is null) throw new ArgumentException("Title must not be null (it names the run in the progress display).", nameof(Title));
        if (CheckpointPath is not null) ValidateCheckpointPath(CheckpointPath);
        Schedule.Validate();
    }

    /// <summary>Refuses a checkpoint path that could never be written: empty, malformed, a folder, or below a file.</summary>
    static void ValidateCheckpointPath(string path)
    {
        string Bad(string why) => $"CheckpointPath {(path.Length == 0 ? "\"\"" : path)} {why}";
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException(Bad("is empty; give a file path such as run/ckpt.safetensors, or null for no checkpoints."), nameof(CheckpointPath));
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new ArgumentException(Bad($"is not a valid path ({e.Message})."), nameof(CheckpointPath), e);
        }
        if (path.EndsWith(Path.DirectorySeparatorChar) || path.EndsWith(Path.AltDirectorySeparatorChar) || Directory.Exists(full))
            throw new ArgumentException(Bad($"is a folder; give a file path such as {Path.Combine(full, "ckpt.safetensors")}."), nameof(CheckpointPath));
        for (var folder = Path.GetDirectoryName(full); !string.IsNullOrEmpty(folder); folder = Path.GetDirectoryName(folder))
        {
            if (Directory.Exists(folder)) break;
            if (File.Exists(folder)) throw new ArgumentException(Bad($"lies below {folder}, which is a file, not a folder."), nameof(CheckpointPath));
        }
    }
}
