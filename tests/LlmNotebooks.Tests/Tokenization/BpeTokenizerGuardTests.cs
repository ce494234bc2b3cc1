using LlmNotebooks.Benchmarks;
using LlmNotebooks.Tokenization;

namespace LlmNotebooks.Tests.Tokenization;

/// <summary>The BPE tokenizer's guards by their messages (an index error from a list would be thrown without them).</summary>
public class BpeTokenizerGuardTests
{
    /// <summary>256 bytes, 3 merges ((a, a), (a, b), (256, 257)), one special token at id 259: vocabulary 260.</summary>
    static BpeTokenizer Small() => BpeTokenizer.Train("aaabdaaabac", 260, ["<|endoftext|>"]);

    [Fact]
    public void Both_trainers_refuse_a_vocabulary_without_room_for_the_bytes_and_special_tokens()
    {
        const string one = "The vocabulary needs at least 256 byte tokens plus 1 special tokens; got 256. (Parameter 'vocabSize')";
        const string none = "The vocabulary needs at least 256 byte tokens plus 0 special tokens; got 255. (Parameter 'vocabSize')";
        Assert.Equal(one, Assert.Throws<ArgumentOutOfRangeException>(() => BpeTokenizer.Train("abc", 256, ["<s>"])).Message);
        Assert.Equal(one, Assert.Throws<ArgumentOutOfRangeException>(() => RecountingBpe.Train("abc", 256, ["<s>"])).Message);
        Assert.Equal(none, Assert.Throws<ArgumentOutOfRangeException>(() => BpeTokenizer.Train("abc", 255)).Message);
        Assert.Equal(none, Assert.Throws<ArgumentOutOfRangeException>(() => RecountingBpe.Train("abc", 255)).Message);
        // Repeated special tokens count once; exactly enough room trains no merge.
        Assert.Equal(257, BpeTokenizer.Train("abc", 257, ["<s>", "<s>"]).VocabSize);
        Assert.Empty(RecountingBpe.Train("abc", 257, ["<s>", "<s>"]));
    }

    [Fact]
    public void Truncate_names_the_sizes_it_can_give()
    {
        var bpe = Small();
        Assert.Equal(260, bpe.VocabSize);
        foreach (int size in new[] { 256, 261 })
            Assert.Equal($"Expected a vocabulary between 257 and 260, got {size}. (Parameter 'vocabSize')",
                Assert.Throws<ArgumentOutOfRangeException>(() => bpe.Truncate(size)).Message);
        Assert.Empty(bpe.Truncate(257).Merges);
        Assert.Equal(3, bpe.Truncate(260).Merges.Count);
    }

    [Fact]
    public void Ids_outside_the_vocabulary_are_refused_in_the_courses_words()
    {
        var bpe = Small();
        foreach (int id in new[] { 260, -1 })
        {
            Assert.Equal($"Token id {id} is outside the vocabulary [0, 259]. (Parameter 'ids')",
                Assert.Throws<ArgumentOutOfRangeException>(() => bpe.Decode([97, id])).Message);
            Assert.Equal($"Token id {id} is outside this tokenizer's vocabulary [0, 259] (256 bytes, 3 merges, 1 special tokens). (Parameter 'id')",
                Assert.Throws<ArgumentOutOfRangeException>(() => bpe.TokenText(id)).Message);
        }
        foreach (int id in new[] { 259, -1 })
            Assert.Equal($"Token id {id} is not a byte or merge token (0 … 258). (Parameter 'id')",
                Assert.Throws<ArgumentOutOfRangeException>(() => bpe.TokenBytes(id)).Message);
        // The edges are fine.
        Assert.Equal("<|endoftext|>", bpe.TokenText(259));
        Assert.Equal("aaab", bpe.TokenText(258));
        Assert.Equal("\0", bpe.TokenText(0));
        Assert.Equal("a<|endoftext|>", bpe.Decode([97, 259]));
        Assert.Equal(4, bpe.TokenBytes(258).Count);
        Assert.Equal(new byte[] { 0 }, bpe.TokenBytes(0));
    }

    [Fact]
    public void An_empty_special_token_is_refused_in_the_courses_words()
    {
        var bpe = Small();
        foreach (var token in new[] { "", null })
            Assert.Equal("A special token must be a non-empty string such as \"<pad>\". (Parameter 'tokens')",
                Assert.Throws<ArgumentException>(() => bpe.WithSpecialTokens(["<pad>", token!])).Message);
        Assert.Equal("tokens", Assert.Throws<ArgumentNullException>(() => bpe.WithSpecialTokens(null!)).ParamName);
        var more = bpe.WithSpecialTokens(["<pad>", "<|endoftext|>", "<pad>"]);
        Assert.Equal(261, more.VocabSize);
        Assert.Equal(260, more.SpecialTokens["<pad>"]);
        Assert.Equal(259, more.SpecialTokens["<|endoftext|>"]);
    }
}
