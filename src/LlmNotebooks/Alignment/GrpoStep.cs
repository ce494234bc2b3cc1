using System.Globalization;

namespace LlmNotebooks.Alignment;

/// <summary>What one GRPO step saw and did.</summary>
/// <param name="Step">0-based step number.</param>
/// <param name="MeanReward">The mean reward of the step's samples (before the update).</param>
/// <param name="Kl">The mean k3 estimate of KL(π ‖ π_ref) per response token, at the last inner epoch.</param>
/// <param name="AllEqualGroups">The fraction of groups whose rewards were all equal: no learning signal from them.</param>
/// <param name="FinishedFraction">The fraction of samples that ended with the stop token rather than running out of tokens.</param>
/// <param name="MeanLength">Mean response length in tokens (the stop token included when written).</param>
/// <param name="ClippedFraction">The fraction of response tokens whose ratio was outside [1 − ε, 1 + ε] at the last inner epoch.</param>
/// <param name="Loss">The loss of the last inner epoch.</param>
/// <param name="Seconds">Wall time of the step: sampling, scoring and updates.</param>
public sealed record GrpoStep(int Step, double MeanReward, double Kl, double AllEqualGroups, double FinishedFraction, double MeanLength,
                              double ClippedFraction, double Loss, double Seconds)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"step {Step}: reward {MeanReward:F3}, KL {Kl:F4}, all-equal groups {AllEqualGroups:P0}, finished {FinishedFraction:P0}, length {MeanLength:F1}, {Seconds:F2} s");
}
