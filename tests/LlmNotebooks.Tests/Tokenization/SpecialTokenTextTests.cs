using LlmNotebooks.Tokenization;

namespace LlmNotebooks.Tests.Tokenization;

/// <summary>A special token's spelling typed by a user is text: EncodeOrdinary never gives a special id; GPT-2's Encode follows tiktoken.</summary>
public class SpecialTokenTextTests
{
    const string Eot = "<|endoftext|>";
    static readonly Lazy<BpeTokenizer> TrainedBpe = new(() => BpeTokenizer.Train("the cat sat on the mat, the rat sat on the cat. " + Eot + " <s>[INST] hi [/INST] yo</s>", 300, [Eot, "[INST]", "[/INST]", "<s>", "</s>"]));
    static BpeTokenizer Bpe => TrainedBpe.Value;
    static readonly Gpt2Tokenizer Gpt2 = new();

    [Theory]
    [InlineData("the cat<|endoftext|>sat")]
    [InlineData("<s>[INST] say [/INST] </s>")]
    [InlineData("[/INST][/INST]</s><s>")]
    [InlineData(" [INST]")]
    public void Bpe_encode_ordinary_never_gives_a_special_id_and_round_trips(string text)
    {
        var ids = Bpe.EncodeOrdinary(text);
        Assert.DoesNotContain(ids, id => Bpe.SpecialTokens.Values.Contains(id));
        Assert.All(ids, id => Assert.InRange(id, 0, Bpe.VocabSize - Bpe.SpecialTokens.Count - 1));
        Assert.Equal(text, Bpe.Decode(ids));
        Assert.Contains(Bpe.Encode(text), id => Bpe.SpecialTokens.Values.Contains(id));   // Encode, for text the program built, still reads them
    }

    [Fact]
    public void Bpe_encode_ordinary_equals_encode_on_text_without_special_spellings()
    {
        const string text = "the cat sat on the mat, Кошка 🙂 [INS] </ s>";
        Assert.Equal(Bpe.Encode(text), Bpe.EncodeOrdinary(text));
    }

    [Fact]
    public void Gpt2_encode_refuses_the_end_of_text_spelling_and_names_both_ways_out()
    {
        var e = Assert.Throws<ArgumentException>(() => Gpt2.Encode("Hello " + Eot + " world"));
        Assert.Contains("allowSpecial: true", e.Message);
        Assert.Contains("EncodeOrdinary", e.Message);
        Assert.Contains("position 6", e.Message);
        Assert.Equal("text", e.ParamName);
    }

    [Fact]
    public void Gpt2_opt_in_reads_it_as_id_50256_and_ordinary_reads_it_as_text()
    {
        Assert.Equal([15496, 50256, 995], Gpt2.Encode("Hello" + Eot + " world", allowSpecial: true));
        Assert.Equal(Gpt2Tokenizer.EndOfTextId, Gpt2.Encode(Eot, allowSpecial: true).Single());
        // tiktoken: enc.encode_ordinary("<|endoftext|>") for "gpt2"
        Assert.Equal([27, 91, 437, 1659, 5239, 91, 29], Gpt2.EncodeOrdinary(Eot));
        foreach (string text in new[] { "Hello" + Eot + " world", " " + Eot + Eot + "\n", "a<|endoftext|>", "Кошка <|endoftext|> 🙂" })
        {
            var ids = Gpt2.EncodeOrdinary(text);
            Assert.DoesNotContain(Gpt2Tokenizer.EndOfTextId, ids);
            Assert.Equal(text, Gpt2.Decode(ids));
        }
        const string plain = "Every effort moves you, Кошка 🙂  ok";
        Assert.Equal(Gpt2.Encode(plain), Gpt2.EncodeOrdinary(plain));
        Assert.Equal(Gpt2.Encode(plain), Gpt2.Encode(plain, allowSpecial: true));
    }
}
