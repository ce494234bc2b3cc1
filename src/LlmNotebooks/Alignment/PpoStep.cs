namespace LlmNotebooks.Alignment;

/// <summary>What one PPO step did.</summary>
/// <param name="Step">The step's number.</param>
/// <param name="MeanReward">The mean reward-function score of the step's completions (before the KL price).</param>
/// <param name="Kl">The mean over completions of Σ_t (log π_old − log π_ref): the sampled estimate of KL(π‖π_ref) in nats per answer.</param>
/// <param name="PolicyLoss">The clipped surrogate loss of the last epoch.</param>
/// <param name="ValueLoss">The critic's clipped loss of the last epoch.</param>
/// <param name="ClipFraction">The fraction of response tokens where the ratio was clipped, last epoch.</param>
/// <param name="FinishedFraction">The fraction of completions that ended with the stop token.</param>
/// <param name="Seconds">Wall time of the step: rollouts, scoring and updates.</param>
public sealed record PpoStep(int Step, double MeanReward, double Kl, double PolicyLoss, double ValueLoss, double ClipFraction, double FinishedFraction, double Seconds);
