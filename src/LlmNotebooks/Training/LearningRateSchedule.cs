namespace LlmNotebooks.Training;

/// <summary>
/// The learning rate at every step: a linear warmup from near 0 to <paramref name="MaxLr"/> over
/// <paramref name="WarmupSteps"/> (large early updates with untrained Adam statistics would wreck the model), then a
/// cosine curve down to <paramref name="MinLr"/> at <paramref name="TotalSteps"/> (small steps at the end settle into
/// a minimum instead of bouncing around it). Steps are 0-based.
/// </summary>
public sealed record LearningRateSchedule(double MaxLr, double MinLr, int WarmupSteps, int TotalSteps)
{
    /// <summary>The learning rate for step <paramref name="step"/> (0-based).</summary>
    public double At(long step)
    {
        if (step < WarmupSteps) return MaxLr * (step + 1) / WarmupSteps;
        if (step >= TotalSteps) return MinLr;
        double progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        return MinLr + 0.5 * (1 + Math.Cos(Math.PI * progress)) * (MaxLr - MinLr);
    }

    /// <summary>Throws when the schedule makes no sense, saying which value is wrong (NaN and ±∞ included).</summary>
    public void Validate()
    {
        if (!(double.IsFinite(MaxLr) && double.IsFinite(MinLr) && MaxLr > 0 && MinLr >= 0 && MinLr <= MaxLr))
            throw new ArgumentException($"Expected finite learning rates with 0 ≤ MinLr ≤ MaxLr and MaxLr > 0, got MinLr {Guard.Show(MinLr)}, MaxLr {Guard.Show(MaxLr)}.");
        if (WarmupSteps < 0 || TotalSteps <= 0 || WarmupSteps > TotalSteps) throw new ArgumentException($"Expected 0 ≤ WarmupSteps ≤ TotalSteps and TotalSteps > 0, got {WarmupSteps}, {TotalSteps}.");
    }
}
