using LlmNotebooks.Alignment;
using LlmNotebooks.Alignment.Assistant;
using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Alignment.Assistant;

public class PolicyEvaluationTests
{
    static readonly AssistantQuestion France = AssistantTask.Questions[0], Italy = AssistantTask.Questions[4];

    static AnswerSample S(AssistantQuestion q, double score) => new(q, "", true, score, 0, 0);

    [Fact]
    public void The_win_rate_counts_wins_and_half_ties_sample_by_sample()
    {
        var policy = new PolicyReport([S(France, 3), S(France, 1), S(Italy, 0), S(Italy, -1)]);
        var baseline = new PolicyReport([S(France, 2), S(France, 1), S(Italy, 2), S(Italy, -3)]);
        Assert.Equal((1 + 0.5 + 0 + 1) / 4.0, PolicyEvaluation.WinRate(policy, baseline));
        Assert.Equal(0.75, policy.TrueScore);
        var e = Assert.Throws<ArgumentException>(() => PolicyEvaluation.WinRate(policy, new PolicyReport([S(France, 1)])));
        Assert.Contains("same questions in the same order", e.Message);
    }

    [Fact]
    public void An_evaluation_judges_every_sample_and_a_policy_has_zero_kl_from_its_own_copy()
    {
        var tokenizer = AssistantTask.TrainTokenizer(300);
        manual_seed(5);
        using var policy = new Gpt(new GptConfig(tokenizer.VocabSize, BlockSize: 24, Layers: 1, Heads: 2, Channels: 16));
        using var reference = policy.Copy(frozen: true);
        manual_seed(6);
        using var rm = new RewardModel(policy.Copy());
        var report = PolicyEvaluation.Evaluate(policy, reference, rm, tokenizer, [France, Italy], samplesPerQuestion: 3, maxNewTokens: 6, seed: 1);
        Assert.Equal(6, report.Samples.Count);
        Assert.Equal([France, France, France, Italy, Italy, Italy], report.Samples.Select(s => s.Question));
        Assert.All(report.Samples, s => Assert.Equal(HumanPreference.Default.Score(s.Question, s.Text), s.TrueScore));
        Assert.All(report.Samples, s => Assert.True(Math.Abs(s.Kl) < 1e-5, $"KL {s.Kl}"));
        var again = PolicyEvaluation.Evaluate(policy, reference, rm, tokenizer, [France, Italy], 3, 6, seed: 1);
        Assert.Equal(report.Samples.Select(s => s.Text), again.Samples.Select(s => s.Text));
        Assert.Equal(0.5, PolicyEvaluation.WinRate(report, again));
    }
}
