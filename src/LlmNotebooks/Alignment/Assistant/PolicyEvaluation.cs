using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Alignment.Assistant;

/// <summary>
/// Judging a policy of the <see cref="AssistantTask"/>: sample answers, and score each three ways: the hidden true score
/// (<see cref="HumanPreference"/>), the reward model's score, and the log-ratio to the reference (the KL estimate).
/// </summary>
public static class PolicyEvaluation
{
    /// <summary>
    /// <paramref name="samplesPerQuestion"/> answers to each question (temperature 1, at most
    /// <paramref name="maxNewTokens"/> tokens, seeded), judged. Question-major: question 0's samples first. The questions
    /// are encoded as ordinary text (<see cref="ITokenizer.EncodeOrdinary"/>): a "&lt;|end|&gt;" typed in one stays text.
    /// </summary>
    public static PolicyReport Evaluate(Gpt policy, Gpt reference, RewardModel rewardModel, ITokenizer tokenizer, IReadOnlyList<AssistantQuestion> questions,
                                        int samplesPerQuestion, int maxNewTokens, long seed, HumanPreference? judge = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(rewardModel);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(questions);
        judge ??= HumanPreference.Default;
        var (end, pad) = AssistantTask.SpecialIds(tokenizer);
        var prompts = questions.Select(q => tokenizer.EncodeOrdinary(AssistantTask.PromptText(q))).ToList();
        using var scope = NewDisposeScope();
        using var rollouts = Rollouts.Sample(policy, prompts, samplesPerQuestion, maxNewTokens, end, pad, 1.0, seed);
        double[] kl;
        using (no_grad())
        {
            var referenceLogProbs = SequenceLogProbs.PerToken(reference, rollouts.Batch);
            kl = ((rollouts.OldLogProbs - referenceLogProbs) * rollouts.Batch.ResponseMask).sum(1).to(float64).data<double>().ToArray();
        }
        var completions = rollouts.Completions;
        var rm = rewardModel.Score(completions.Select(c => c.Prompt).ToList(), completions.Select(c => c.Response).ToList(), pad);
        var samples = completions.Select((c, i) =>
        {
            var q = questions[c.PromptIndex];
            string text = tokenizer.Decode(c.Content);
            return new AnswerSample(q, text, c.Finished, judge.Score(q, text), rm[i], kl[i]);
        }).ToList();
        return new PolicyReport(samples);
    }

    /// <summary>
    /// How often <paramref name="policy"/>'s answer beats <paramref name="baseline"/>'s on the true score, sample by sample
    /// (both sampled for the same questions in the same order): a win counts 1, a tie ½.
    /// </summary>
    /// <exception cref="ArgumentException">The two reports do not answer the same questions in the same order.</exception>
    public static double WinRate(PolicyReport policy, PolicyReport baseline)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(baseline);
        if (policy.Samples.Count != baseline.Samples.Count || policy.Samples.Zip(baseline.Samples).Any(p => p.First.Question != p.Second.Question))
            throw new ArgumentException($"A win rate compares answers to the same questions in the same order: got {policy.Samples.Count} and {baseline.Samples.Count} samples " +
                                        "(or different questions). Evaluate both policies on the same questions with the same samples per question.", nameof(baseline));
        if (policy.Samples.Count == 0) throw new ArgumentException("No samples to compare.", nameof(policy));
        return policy.Samples.Zip(baseline.Samples).Sum(p => p.First.TrueScore > p.Second.TrueScore ? 1.0 : p.First.TrueScore == p.Second.TrueScore ? 0.5 : 0.0) / policy.Samples.Count;
    }
}
