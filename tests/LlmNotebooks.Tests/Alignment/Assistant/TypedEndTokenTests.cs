using LlmNotebooks.Alignment.Assistant;
using LlmNotebooks.Tokenization;

namespace LlmNotebooks.Tests.Alignment.Assistant;

/// <summary>In chapter 6's task only the code adds &lt;|end|&gt;: one typed in an answer or a question is text.</summary>
public class TypedEndTokenTests
{
    static readonly Lazy<BpeTokenizer> Tokenizer = new(() => AssistantTask.TrainTokenizer());

    [Fact]
    public void A_typed_end_token_in_an_answer_is_text_and_only_the_added_end_token_is_special()
    {
        var tokenizer = Tokenizer.Value;
        var (end, pad) = AssistantTask.SpecialIds(tokenizer);
        var question = AssistantTask.Questions[1];
        var pair = new PreferencePair(question, $"Paris.{AssistantTask.End} And more", $"Lyon{AssistantTask.Pad}.", 1, 0, false);
        var tokens = PreferenceData.Tokenize(pair, tokenizer, end);
        Assert.Equal([tokens.Chosen.Count - 1], Enumerable.Range(0, tokens.Chosen.Count).Where(i => tokens.Chosen[i] == end));
        Assert.Equal([tokens.Rejected.Count - 1], Enumerable.Range(0, tokens.Rejected.Count).Where(i => tokens.Rejected[i] == end));
        Assert.DoesNotContain(pad, tokens.Chosen.Concat(tokens.Rejected).Concat(tokens.Prompt));
        Assert.Equal(pair.Chosen, tokenizer.Decode(tokens.Chosen.SkipLast(1)));
        Assert.Equal(AssistantTask.PromptText(question), tokenizer.Decode(tokens.Prompt));
    }
}
