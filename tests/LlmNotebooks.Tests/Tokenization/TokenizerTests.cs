using LlmNotebooks.Benchmarks;
using System.Text.RegularExpressions;
using LlmNotebooks.Tokenization;

namespace LlmNotebooks.Tests.Tokenization;

public class TokenizerTests
{
    const string TrainingText =
        "The cat sat on the mat. The cat ate the rat! Кошка сидела на коврике, кошка ела мышь. 123 + 456 = 579. " +
        "Гарри Поттер взял волшебную палочку и пошёл в Хогвартс. It's the cat's hat, isn't it?";

    static readonly string[] TestStrings =
    [
        "", " ", "hello world", "The cat sat on the mat.", "Кошка сидела на коврике", "Я люблю нейросети 🙂",
        "mixed: Маша gave 3 apples\tand\nnewlines  ", "👩‍👩‍👧 emoji ZWJ sequence", "   leading and trailing   ",
    ];

    public static TheoryData<string> Strings() => new(TestStrings);

    static readonly Gpt2Tokenizer Gpt2 = new();
    // Lazy: xunit discovery creates no instance but does run static initialisers; a mutation-testing run would
    // otherwise execute the (possibly mutated) trainer outside any test.
    static readonly Lazy<BpeTokenizer> TrainedBpe = new(() => BpeTokenizer.Train(TrainingText, 300, ["<|endoftext|>"]));
    static BpeTokenizer Bpe => TrainedBpe.Value;
    static readonly CharTokenizer Chars = CharTokenizer.Train(string.Concat(TestStrings));

    [Theory]
    [MemberData(nameof(Strings))]
    public void Every_tokenizer_round_trips_every_string(string text)
    {
        foreach (ITokenizer tokenizer in new ITokenizer[] { Bpe, Chars, Gpt2 })
            Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Fact]
    public void Bpe_learns_the_hand_worked_merges()
    {
        var bpe = BpeTokenizer.Train("aaabdaaabac", 259);
        Assert.Equal(new[] { (97, 97), (97, 98), (256, 257) }, bpe.Merges);
        Assert.Equal(new[] { 258, 100, 258, 97, 99 }, bpe.Encode("aaabdaaabac"));
        Assert.Equal("aaab", bpe.TokenText(258));
    }

    [Fact]
    public void Special_tokens_are_single_ids_and_never_split()
    {
        int eot = Bpe.SpecialTokens["<|endoftext|>"];
        Assert.Equal(Bpe.VocabSize - 1, eot);
        var ids = Bpe.Encode("the cat<|endoftext|>Кошка");
        Assert.Single(ids, eot);
        Assert.Equal("the cat<|endoftext|>Кошка", Bpe.Decode(ids));
    }

    [Fact]
    public void Bpe_compresses_the_text_it_was_trained_on()
    {
        Assert.Equal(300, Bpe.VocabSize);
        Assert.True(Bpe.Encode(TrainingText).Count < 0.6 * System.Text.Encoding.UTF8.GetByteCount(TrainingText));
    }

    [Fact]
    public void Incremental_training_learns_the_same_merges_as_recounting_from_scratch()
    {
        var fast = BpeTokenizer.Train(TrainingText, 330).Merges;
        Assert.Equal(fast, RecountingBpe.Train(TrainingText, 330));
        Assert.Equal(fast, RecountingBpe.Train(TrainingText, 330, deduplicateChunks: true));
    }

    [Fact]
    public void A_truncated_tokenizer_is_the_one_trained_to_the_smaller_size()
    {
        var big = BpeTokenizer.Train(TrainingText, 330, ["<|endoftext|>"]);
        var small = BpeTokenizer.Train(TrainingText, 300, ["<|endoftext|>"]);
        var cut = big.Truncate(300);
        Assert.Equal(small.Merges, cut.Merges);
        Assert.Equal(small.SpecialTokens, cut.SpecialTokens);
        Assert.Equal(small.Encode(TrainingText + "<|endoftext|>"), cut.Encode(TrainingText + "<|endoftext|>"));
        Assert.Throws<ArgumentOutOfRangeException>(() => big.Truncate(400));
    }

    [Fact]
    public void Save_and_load_give_identical_encodings()
    {
        string dir = Directory.CreateTempSubdirectory("llmnb-bpe-").FullName;
        try
        {
            string path = Path.Combine(dir, "tok.bpe");
            Bpe.Save(path);
            var loaded = BpeTokenizer.Load(path);
            Assert.Equal(Bpe.Merges, loaded.Merges);
            Assert.Equal(Bpe.SpecialTokens, loaded.SpecialTokens);
            foreach (var s in TestStrings.Append(TrainingText))
                Assert.Equal(Bpe.Encode(s), loaded.Encode(s));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Bad_files_and_unknown_input_get_clear_errors()
    {
        string dir = Directory.CreateTempSubdirectory("llmnb-bpe-").FullName;
        try
        {
            Assert.Throws<FileNotFoundException>(() => BpeTokenizer.Load(Path.Combine(dir, "none.bpe")));
            string bad = Path.Combine(dir, "bad.bpe");
            File.WriteAllText(bad, "llmnb-bpe 1\nmerge 97 98\nmerge x y\n");
            Assert.Contains("line 3", Assert.Throws<InvalidDataException>(() => BpeTokenizer.Load(bad)).Message);
            File.WriteAllText(bad, "llmnb-bpe 1\nmerge 97 300\n");
            Assert.Contains("does not exist yet", Assert.Throws<InvalidDataException>(() => BpeTokenizer.Load(bad)).Message);
            File.WriteAllText(bad, "{\"not\": \"a tokenizer\"}");
            Assert.Contains("first line", Assert.Throws<InvalidDataException>(() => BpeTokenizer.Load(bad)).Message);
        }
        finally { Directory.Delete(dir, true); }

        var e = Assert.Throws<ArgumentException>(() => CharTokenizer.Train("abc").Encode("abd"));
        Assert.Contains("'d' (U+0064) is not in this tokenizer's vocabulary", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Bpe.Decode([Bpe.VocabSize]));
        Assert.Throws<ArgumentOutOfRangeException>(() => BpeTokenizer.Train("abc", 100));
    }

    [Fact]
    public void Char_tokenizer_treats_an_emoji_as_one_token()
    {
        var chars = CharTokenizer.Train("ab🙂");
        Assert.Equal(3, chars.VocabSize);
        var ids = chars.Encode("🙂ab");
        Assert.Equal(3, ids.Count);
        Assert.Equal("🙂", chars.Vocabulary[ids[0]]);
    }

    [Fact]
    public void Gpt2_reference_tokenizer_gives_the_published_ids_and_costs_more_for_russian()
    {
        Assert.Equal(new[] { 15496, 995 }, Gpt2.Encode("Hello world"));
        int english = Gpt2.Encode("I love neural networks").Count;
        int russian = Gpt2.Encode("Я люблю нейросети").Count;
        Assert.True(russian > 2 * english, $"Russian {russian} tokens vs English {english}");
        Assert.Throws<ArgumentOutOfRangeException>(() => Gpt2.Decode([50257]));
    }
}
