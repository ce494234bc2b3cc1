namespace LlmNotebooks.Alignment;

/// <summary>The settings of a <see cref="DpoTrainer"/>.</summary>
public sealed record DpoOptions
{
    /// <summary>β: the scale of the implicit reward β·log(π/π_ref); larger keeps the policy nearer the reference (&gt; 0).</summary>
    public double Beta { get; init; } = 0.1;
    /// <summary>Pairs per step.</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>AdamW's learning rate.</summary>
    public double LearningRate { get; init; } = 1e-4;
    /// <summary>
    /// Seed of the order in which pairs are read (its low 32 bits seed a System.Random). 0 by default, not
    /// <see cref="Defaults.Seed"/>: chapter 6's DPO run relies on this default.
    /// </summary>
    public long Seed { get; init; }

    /// <summary>Throws on a setting that cannot work, saying which and why.</summary>
    public void Validate()
    {
        Guard.Positive(Beta, nameof(Beta), "DPO's β scales the implicit reward; 0.1 is usual.");
        Guard.AtLeast(BatchSize, 1, nameof(BatchSize));
        Guard.Positive(LearningRate, nameof(LearningRate));
    }
}
