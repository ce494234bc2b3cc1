namespace LlmNotebooks.Alignment.Assistant;

/// <summary>A policy's sampled answers on a set of questions, and their averages (see <see cref="PolicyEvaluation"/>).</summary>
public sealed record PolicyReport(IReadOnlyList<AnswerSample> Samples)
{
    /// <summary>The mean hidden true score (<see cref="HumanPreference"/>): what we actually want to be high.</summary>
    public double TrueScore => Samples.Average(s => s.TrueScore);

    /// <summary>The mean reward-model score: what PPO and GRPO optimise.</summary>
    public double RewardScore => Samples.Average(s => s.RewardScore);

    /// <summary>The mean of log π − log π_ref over the samples: the Monte-Carlo estimate of KL(π‖π_ref) per answer, in nats.</summary>
    public double Kl => Samples.Average(s => s.Kl);

    /// <summary>The fraction of answers that ended with the end token.</summary>
    public double FinishedFraction => Samples.Count(s => s.Finished) / (double)Samples.Count;
}
