using LlmNotebooks.Alignment.Assistant;

namespace LlmNotebooks.Tests.Alignment.Assistant;

public class PreferenceDataTests
{
    static readonly AssistantQuestion France = AssistantTask.Questions[0];

    [Fact]
    public void A_pair_of_identical_answers_is_refused_with_a_clear_error()
    {
        var e = Assert.Throws<ArgumentException>(() => PreferenceData.Label(France, "Столица Франции — Париж.", "Столица Франции — Париж.", new Random(1)));
        Assert.Contains("two different answers", e.Message);
        Assert.Contains("Столица Франции?", e.Message);
        Assert.Throws<ArgumentException>(() => new PreferencePair(France, "x", "x", 0, 0, false));
    }

    [Fact]
    public void Without_noise_the_higher_true_score_is_chosen()
    {
        var pairs = PreferenceData.Constructed(AssistantTask.TrainQuestions, 500, seed: 2, noiseRate: 0);
        Assert.All(pairs, p => Assert.True(p.ChosenScore >= p.RejectedScore));
        Assert.All(pairs, p => Assert.Equal(p.ChosenScore, HumanPreference.Default.Score(p.Question, p.Chosen)));
        Assert.DoesNotContain(pairs, p => p.Flipped);
        Assert.All(pairs, p => Assert.Contains(p.Question, AssistantTask.TrainQuestions));
    }

    [Fact]
    public void Label_noise_flips_about_the_given_fraction_and_is_deterministic()
    {
        var pairs = PreferenceData.Constructed(AssistantTask.TrainQuestions, 4000, seed: 3, noiseRate: 0.05);
        double flipped = pairs.Count(p => p.Flipped) / (double)pairs.Count;
        Assert.InRange(flipped, 0.04, 0.06);
        Assert.All(pairs.Where(p => p.Flipped && p.ChosenScore != p.RejectedScore), p => Assert.True(p.ChosenScore < p.RejectedScore));
        var again = PreferenceData.Constructed(AssistantTask.TrainQuestions, 4000, seed: 3, noiseRate: 0.05);
        Assert.Equal(pairs.Select(p => p.Chosen + "|" + p.Rejected), again.Select(p => p.Chosen + "|" + p.Rejected));
        Assert.Contains(pairs, p => p.Question.Language == "ru");
        Assert.Contains(pairs, p => p.Question.Language == "en");
    }

    [Fact]
    public void Pairs_from_samples_skip_identical_samples_and_count_them()
    {
        var samples = new[] { (France, (IReadOnlyList<string>)["Столица Франции — Париж.", "Столица Франции — Париж.", "Конечно! Столица Франции — Париж.", "Марсель."]) };
        var (pairs, skipped) = PreferenceData.FromSamples(samples, seed: 1, noiseRate: 0);
        Assert.Equal(1, skipped);
        var pair = Assert.Single(pairs);
        Assert.Equal("Конечно! Столица Франции — Париж.", pair.Chosen);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(0.6)]
    [InlineData(double.NaN)]
    public void A_noise_rate_outside_0_to_half_is_refused(double noise)
    {
        var e = Assert.Throws<ArgumentException>(() => PreferenceData.Label(France, "a.", "b.", new Random(1), noise));
        Assert.Contains("noiseRate must be a finite number in [0, 0.5]", e.Message);
    }
}
