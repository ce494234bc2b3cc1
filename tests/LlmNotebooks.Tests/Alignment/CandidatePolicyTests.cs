using LlmNotebooks.Alignment;

namespace LlmNotebooks.Tests.Alignment;

public class CandidatePolicyTests
{
    static readonly string[] Cities = ["Париж", "Марсель", "Лион", "Берлин"];

    [Fact]
    public void The_score_function_matches_finite_differences_of_log_pi()
    {
        var policy = new CandidatePolicy(Cities, [0.3, -1.0, 0.5, 2.0]);
        for (int a = 0; a < Cities.Length; a++)
        {
            var g = policy.GradLogProbability(a);
            for (int i = 0; i < Cities.Length; i++)
            {
                double h = 1e-6;
                double LogP(double delta)
                {
                    var l = policy.Logits;
                    l[i] += delta;
                    return Math.Log(new CandidatePolicy(Cities, l).Probabilities()[a]);
                }
                Assert.Equal((LogP(h) - LogP(-h)) / (2 * h), g[i], 6);
            }
        }
    }

    [Fact]
    public void One_step_by_hand()
    {
        // uniform π = ¼ each; sampled a, reward 1, no baseline yet: logits += 0.5 · 1 · (onehot(a) − ¼)
        var policy = new CandidatePolicy(Cities);
        var (answer, reward) = policy.Step(new Random(7), a => 1.0, learningRate: 0.5);
        int index = Array.IndexOf(Cities, answer);
        var expected = Enumerable.Range(0, 4).Select(i => 0.5 * ((i == index ? 1 : 0) - 0.25)).ToArray();
        Assert.Equal(1.0, reward);
        Assert.Equal(expected, policy.Logits);
    }

    [Fact]
    public void Reinforce_learns_to_say_Paris()
    {
        var policy = new CandidatePolicy(Cities);
        var random = new Random(1);
        for (int i = 0; i < 200; i++) policy.Step(random, a => a == "Париж" ? 1 : -1, learningRate: 0.3);
        Assert.True(policy.Probabilities()[0] > 0.95, $"π(Париж) = {policy.Probabilities()[0]:F3}");
    }

    [Fact]
    public void Bad_inputs_say_what_is_expected()
    {
        Assert.Contains("at least two candidate", Assert.Throws<ArgumentException>(() => new CandidatePolicy(["Париж"])).Message);
        Assert.Contains("one logit per candidate", Assert.Throws<ArgumentException>(() => new CandidatePolicy(Cities, [1.0])).Message);
        var policy = new CandidatePolicy(Cities);
        Assert.Contains("must be a finite number", Assert.Throws<ArgumentException>(() => policy.Step(new Random(1), _ => double.NaN, 0.1)).Message);
    }
}
