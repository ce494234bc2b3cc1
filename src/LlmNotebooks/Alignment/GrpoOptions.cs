namespace LlmNotebooks.Alignment;

/// <summary>The settings of a GRPO run. Immutable; change a copy with <c>with</c>.</summary>
public sealed record GrpoOptions
{
    /// <summary>G: responses sampled per prompt (at least 2).</summary>
    public int GroupSize { get; init; } = 8;
    /// <summary>Prompts per step (each step learns from PromptsPerStep × GroupSize responses).</summary>
    public int PromptsPerStep { get; init; } = 8;
    /// <summary>β: the weight of the KL penalty to the reference model (DeepSeekMath: 0.04). 0 turns it off.</summary>
    public double Beta { get; init; } = 0.04;
    /// <summary>ε: the probability ratio is clipped to [1 − ε, 1 + ε].</summary>
    public double ClipEpsilon { get; init; } = 0.2;
    /// <summary>Gradient updates on each batch of samples (μ in the paper). With 1 the ratio is always 1 and clipping never acts.</summary>
    public int InnerEpochs { get; init; } = 2;
    public double LearningRate { get; init; } = 1e-4;
    /// <summary>The global gradient norm is clipped to this (0 = no clipping).</summary>
    public double GradClip { get; init; } = 1.0;
    public int MaxNewTokens { get; init; } = 32;
    /// <summary>Sampling temperature of the rollouts (must be positive: a greedy group would hold G copies of one answer).</summary>
    public double Temperature { get; init; } = 1.0;
    public long Seed { get; init; } = Defaults.Seed;

    public void Validate()
    {
        Grpo.RequireGroupSize(GroupSize);
        Guard.AtLeast(PromptsPerStep, 1, nameof(PromptsPerStep));
        PolicyGradient.RequireBeta(Beta);
        PolicyGradient.RequireClip(ClipEpsilon);
        Guard.AtLeast(InnerEpochs, 1, nameof(InnerEpochs));
        Guard.Finite(LearningRate, nameof(LearningRate), min: double.Epsilon, max: 10);
        Guard.Finite(GradClip, nameof(GradClip), min: 0);
        Guard.AtLeast(MaxNewTokens, 1, nameof(MaxNewTokens));
        Guard.Finite(Temperature, nameof(Temperature), min: double.Epsilon, max: 100,
                     hint: "GRPO needs different samples within a group, so the temperature must be above 0.");
    }
}
