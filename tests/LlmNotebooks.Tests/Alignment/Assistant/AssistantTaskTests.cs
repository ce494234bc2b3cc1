using LlmNotebooks.Alignment.Assistant;

namespace LlmNotebooks.Tests.Alignment.Assistant;

public class AssistantTaskTests
{
    static readonly AssistantQuestion France = AssistantTask.Questions[0];

    [Fact]
    public void The_seeds_question_comes_first_in_both_languages()
    {
        Assert.Equal("Столица Франции?", France.Prompt);
        Assert.Equal("Париж", France.Capital);
        Assert.Contains("Марсель", France.WrongCities);
        Assert.Equal("Capital of France?", AssistantTask.Questions[1].Prompt);
        Assert.Equal(32, AssistantTask.Questions.Count);
        Assert.Equal(24, AssistantTask.TrainQuestions.Count);
        Assert.Equal(8, AssistantTask.HeldOutQuestions.Count);
        Assert.Empty(AssistantTask.TrainQuestions.Intersect(AssistantTask.HeldOutQuestions));
        Assert.Equal(AssistantTask.HeldOutQuestions.Count / 2, AssistantTask.HeldOutQuestions.Count(q => q.Language == "ru"));
    }

    [Fact]
    public void Answers_follow_their_style()
    {
        var random = new Random(3);
        Assert.Equal("Столица Франции — Париж.", AssistantTask.Answer(France, new AnswerStyle(true, Opener.None, 0, true), random));
        string polite = AssistantTask.Answer(France, AnswerStyle.Best, random);
        Assert.Matches("^(Конечно!|С удовольствием отвечу!) Столица Франции — Париж\\.$", polite);
        string worst = AssistantTask.Answer(AssistantTask.Questions[1], new AnswerStyle(false, Opener.Rude, 2, false), random);
        Assert.Matches("^(Everyone knows that\\.|Look it up yourself\\.) .+, .+, the capital of France is (Marseille|Lyon)(, although|, and also)$", worst);
    }

    [Fact]
    public void Sft_examples_are_deterministic_and_mix_the_styles()
    {
        var a = AssistantTask.SftExamples(600, seed: 5);
        Assert.Equal(a.Select(e => e.Answer), AssistantTask.SftExamples(600, seed: 5).Select(e => e.Answer));
        Assert.NotEqual(a.Select(e => e.Answer), AssistantTask.SftExamples(600, seed: 6).Select(e => e.Answer));
        double correct = a.Count(e => e.Style.Correct) / 600.0, finished = a.Count(e => e.Style.Finished) / 600.0;
        Assert.InRange(correct, 0.52, 0.68);
        Assert.InRange(finished, 0.62, 0.78);
        Assert.All(Enum.GetValues<Opener>(), o => Assert.Contains(a, e => e.Style.Opener == o));
        Assert.Contains(a, e => e.Question.Language == "ru");
        Assert.Contains(a, e => e.Question.Language == "en");
    }

    [Fact]
    public void The_tokenizer_has_single_end_and_pad_tokens_and_round_trips()
    {
        var tokenizer = AssistantTask.TrainTokenizer();
        Assert.Single(tokenizer.Encode(AssistantTask.End));
        Assert.Single(tokenizer.Encode(AssistantTask.Pad));
        foreach (var (q, _, answer) in AssistantTask.SftExamples(50, seed: 1))
        {
            string text = AssistantTask.PromptText(q) + answer;
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
            Assert.True(tokenizer.Encode(answer).Count <= answer.Length / 2, $"BPE trained on the task shortens \"{answer}\" to {tokenizer.Encode(answer).Count} tokens");
        }
    }

    [Fact]
    public void Too_many_fillers_are_refused_with_the_limit()
    {
        var e = Assert.Throws<ArgumentException>(() => AssistantTask.Answer(France, new AnswerStyle(true, Opener.None, 4, true), new Random(1)));
        Assert.Contains("0 to 3 fillers", e.Message);
    }
}
