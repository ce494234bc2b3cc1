using LlmNotebooks.Tokenization;

namespace LlmNotebooks.Tests.Tokenization;

/// <summary>Decode(Encode(s)) == s cannot hold for a lone surrogate, so every tokenizer refuses one and says where it is.</summary>
public class InvalidUtf16Tests
{
    static readonly Lazy<BpeTokenizer> TrainedBpe = new(() => BpeTokenizer.Train("abc abc 🙂 abd", 270, ["<|endoftext|>"]));
    static readonly CharTokenizer Chars = CharTokenizer.Train("ab\uD800\uDC00🙂");

    static IEnumerable<ITokenizer> Tokenizers() => [Chars, TrainedBpe.Value, new Gpt2Tokenizer()];

    // Built in code, not [InlineData]: xunit's test-case serialisation would replace a lone surrogate with U+FFFD.
    static readonly (string Text, int Position)[] Cases = [("a\uD800b", 1), ("\uDC00", 0), ("ab🙂\uD83D", 4), ("🙂\uDE42\uD83D", 2)];

    [Fact]
    public void Every_tokenizer_refuses_a_lone_surrogate_naming_its_position()
    {
        foreach (var (text, position) in Cases)
            foreach (var tokenizer in Tokenizers())
                foreach (Func<string, IReadOnlyList<int>> encode in new Func<string, IReadOnlyList<int>>[] { tokenizer.Encode, tokenizer.EncodeOrdinary })
                {
                    var e = Assert.Throws<ArgumentException>(() => encode(text));
                    Assert.Contains($"position {position}", e.Message);
                    Assert.Contains("lone surrogate", e.Message);
                    Assert.Equal("text", e.ParamName);
                }
    }

    [Fact]
    public void Valid_surrogate_pairs_still_round_trip()
    {
        foreach (var tokenizer in Tokenizers())
        {
            const string text = "ab🙂\uD800\uDC00";
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
            Assert.Equal(text, tokenizer.Decode(tokenizer.EncodeOrdinary(text)));
        }
    }

    [Fact]
    public void Null_text_is_refused_by_name()
    {
        foreach (var tokenizer in Tokenizers())
            Assert.Equal("text", Assert.Throws<ArgumentNullException>(() => tokenizer.Encode(null!)).ParamName);
    }
}
