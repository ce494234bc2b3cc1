namespace LlmNotebooks.Alignment;

/// <summary>The settings of a <see cref="PpoTrainer"/>; the defaults suit the chapter's small assistant task.</summary>
public sealed record PpoOptions
{
    /// <summary>Completions sampled per prompt at each step.</summary>
    public int SamplesPerPrompt { get; init; } = 4;
    /// <summary>β: the price per nat of KL divergence from the reference, paid at every token (≥ 0).</summary>
    public double Beta { get; init; } = 0.05;
    /// <summary>ε of the clipped probability ratio (PPO: 0.2).</summary>
    public double ClipEpsilon { get; init; } = 0.2;
    /// <summary>How far a value may move from its rollout-time value in one batch (the clipped value loss).</summary>
    public double ValueClip { get; init; } = 0.2;
    /// <summary>γ: the discount per token (1: a reward at the end counts fully at every earlier token).</summary>
    public double Gamma { get; init; } = 1.0;
    /// <summary>λ of GAE: 0 trusts the critic fully, 1 uses the whole observed return.</summary>
    public double Lambda { get; init; } = 0.95;
    /// <summary>Passes over each batch of rollouts (each pass one update of the policy and one of the critic).</summary>
    public int Epochs { get; init; } = 2;
    /// <summary>AdamW's learning rate for the policy.</summary>
    public double LearningRate { get; init; } = 1e-4;
    /// <summary>AdamW's learning rate for the critic (it starts from scratch, so it learns faster than the policy moves).</summary>
    public double ValueLearningRate { get; init; } = 1e-3;
    /// <summary>
    /// The global gradient norm of the policy's update, and separately of the critic's, is clipped to this (0 = no
    /// clipping).
    /// </summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>The longest response sampled.</summary>
    public int MaxNewTokens { get; init; } = 32;
    /// <summary>Base seed of the rollouts: step s samples with <c>Hashes.StreamSeed(Seed, RolloutStream, s)</c>.</summary>
    public long Seed { get; init; } = Defaults.Seed;

    /// <summary>Throws on a setting that cannot work, saying which and why.</summary>
    public void Validate()
    {
        Guard.AtLeast(SamplesPerPrompt, 1, nameof(SamplesPerPrompt));
        Guard.Finite(Beta, nameof(Beta), 0, hint: "β is the price of drifting from the reference model; a negative price would reward drifting.");
        Guard.Positive(ClipEpsilon, nameof(ClipEpsilon), "PPO clips the ratio to [1 − ε, 1 + ε]; ε = 0.2 is usual.");
        Guard.Positive(ValueClip, nameof(ValueClip));
        Guard.Finite(Gamma, nameof(Gamma), 0, 1);
        Guard.Finite(Lambda, nameof(Lambda), 0, 1);
        Guard.AtLeast(Epochs, 1, nameof(Epochs));
        Guard.Positive(LearningRate, nameof(LearningRate));
        Guard.Positive(ValueLearningRate, nameof(ValueLearningRate));
        Guard.Finite(GradClip, nameof(GradClip), min: 0);
        Guard.AtLeast(MaxNewTokens, 1, nameof(MaxNewTokens));
    }
}
