using LlmNotebooks.Alignment.Assistant;

namespace LlmNotebooks.Tests.Alignment.Assistant;

public class HumanPreferenceTests
{
    static readonly AssistantQuestion France = AssistantTask.Questions[0], FranceEn = AssistantTask.Questions[1];
    static readonly HumanPreference Judge = HumanPreference.Default;

    [Theory]
    [InlineData("Конечно! Столица Франции — Париж.", 3.0)]                              // 2 + 1
    [InlineData("Столица Франции — Париж.", 2.0)]
    [InlineData("Это же все знают. Ну, как бы сказать, столица Франции — Марсель, хотя", -5.0)]   // −2 − 1.5 − 0.5 − 1
    [InlineData("Париж и Марсель.", -2.0)]                                              // names a wrong city
    [InlineData("Столица России — Париж.", -1.0)]                                       // a false statement about Russia: no usable answer
    [InlineData("Столица Франции — Мадрид.", -2.0)]                                     // another country's capital is a wrong city too
    [InlineData("Столица Франции — Париж, а не Лион.", -2.0)]                           // and naming a wrong city spoils a right answer
    [InlineData("Парижский", -2.0)]                                                     // not the word «Париж», and unfinished
    [InlineData("", -2.0)]
    public void Scores_are_the_documented_sums(string answer, double expected) => Assert.Equal(expected, Judge.Score(France, answer), 12);

    [Fact]
    public void An_answer_without_fillers_has_a_filler_part_of_plus_zero_not_minus_zero()
    {
        // −1.5 · 0 is −0 in floating point, which a table prints as "-0".
        var parts = Judge.Parts(France, "Столица Франции — Париж.");
        Assert.False(double.IsNegative(parts.Fillers), $"fillers part {parts.Fillers}");
        Assert.Equal("0", parts.Fillers.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Every_constructed_answer_scores_what_its_style_says()
    {
        var random = new Random(11);
        foreach (var q in new[] { France, FranceEn })
            foreach (bool correct in new[] { true, false })
                foreach (var opener in Enum.GetValues<Opener>())
                    for (int fillers = 0; fillers <= 3; fillers++)
                        foreach (bool finished in new[] { true, false })
                        {
                            string answer = AssistantTask.Answer(q, new AnswerStyle(correct, opener, fillers, finished), random);
                            double expected = (correct ? 2 : -2) + opener switch { Opener.Polite => 1, Opener.Rude => -1.5, _ => 0 } - 0.5 * fillers - (finished ? 0 : 1);
                            Assert.Equal(expected, Judge.Score(q, answer), 12);
                        }
        Assert.Equal(3.0, Judge.Best);
    }

    [Fact]
    public void The_weights_can_be_changed()
    {
        var strict = Judge with { PerFiller = -2 };
        Assert.Equal(2 - 2 * 1, strict.Score(FranceEn, "Well, you know, the capital of France is Paris."), 12);
    }
}
