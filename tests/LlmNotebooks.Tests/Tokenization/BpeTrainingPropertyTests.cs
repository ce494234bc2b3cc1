using LlmNotebooks.Benchmarks;
using CsCheck;
using LlmNotebooks.Tokenization;

namespace LlmNotebooks.Tests.Tokenization;

/// <summary>
/// The fast, incremental <see cref="BpeTokenizer.Train"/> against the textbook <see cref="RecountingBpe.Train"/>
/// on many small random texts. Texts are built from few pieces, so pairs repeat, counts tie and fall as merges
/// consume them (the incremental trainer must re-queue those pairs), and special tokens sit inside the text the
/// way the course recipe puts "&lt;|endoftext|&gt;" after every document (no merge may cross or enter one).
/// </summary>
public class BpeTrainingPropertyTests
{
    const string EndOfText = "<|endoftext|>", Separator = "<sep>";

    /// <summary>Pieces of text: letters that pair up, a space (chunks), a digit, a two-byte letter, a special token's look-alike.</summary>
    static readonly string[] Pieces = ["a", "b", "a", "ab", "c", " ", " a", "1", "é", "<", "|"];

    /// <summary>A text of 0–40 pieces; with specials, each piece may instead be one of the special tokens.</summary>
    static Gen<(string Text, int ExtraVocab, bool WithSpecials)> Cases { get; } =
        Gen.Select(Gen.Int[0, Pieces.Length + 1].Array[0, 40], Gen.Int[0, 24], Gen.Bool).Select(t =>
            (string.Concat(t.Item1.Select(i => i < Pieces.Length ? Pieces[i] : t.Item3 ? (i == Pieces.Length ? EndOfText : Separator) : "a")),
             t.Item2, t.Item3));

    /// <summary>Always the same 400 cases (a fixed PCG seed): the test does not change from run to run.</summary>
    static IEnumerable<(string Text, int ExtraVocab, bool WithSpecials)> FixedCases(int count, ulong seed)
    {
        var pcg = new PCG(1, seed);
        for (int i = 0; i < count; i++) yield return Cases.Generate(pcg, null, out _);
    }

    [Fact]
    public void The_incremental_trainer_learns_the_textbook_merges_on_random_texts_with_and_without_special_tokens()
    {
        int withSpecials = 0, withSpecialInside = 0, merged = 0;
        foreach (var (text, extra, useSpecials) in FixedCases(400, 16))
        {
            string[] specials = useSpecials ? [EndOfText, Separator] : [];
            int vocab = 256 + specials.Length + extra;
            var fast = BpeTokenizer.Train(text, vocab, specials);
            var textbook = RecountingBpe.Train(text, vocab, specials);
            var deduplicated = RecountingBpe.Train(text, vocab, specials, deduplicateChunks: true);
            string shown = $"text \"{text}\", vocabulary {vocab}, specials [{string.Join(", ", specials)}]";
            Assert.True(textbook.SequenceEqual(fast.Merges),
                $"{shown}: Train learned [{string.Join(" ", fast.Merges)}], the recounting trainer [{string.Join(" ", textbook)}]");
            Assert.True(deduplicated.SequenceEqual(fast.Merges), $"{shown}: deduplicated chunks learned other merges");
            Assert.Equal(specials, fast.SpecialTokens.OrderBy(p => p.Value).Select(p => p.Key));
            Assert.Equal(256 + textbook.Count + specials.Length, fast.VocabSize);
            Assert.True(fast.VocabSize <= vocab, shown);
            // The special tokens stay whole: the trained tokenizer encodes each one as its own id and round-trips the text.
            Assert.Equal(text, fast.Decode(fast.Encode(text)));
            if (useSpecials) withSpecials++;
            if (useSpecials && (text.Contains(EndOfText) || text.Contains(Separator))) withSpecialInside++;
            if (fast.Merges.Count > 3) merged++;
        }
        // The cases really exercise what they are meant to (the generator is fixed, so these counts are too).
        Assert.InRange(withSpecials, 100, 300);
        Assert.True(withSpecialInside >= 100, $"only {withSpecialInside} texts hold a special token");
        Assert.True(merged >= 150, $"only {merged} cases learned more than 3 merges");
    }

    [Fact]
    public void No_merge_takes_bytes_from_a_special_token_inside_the_text()
    {
        // Each document is followed by the end-of-text token, as the course's recipe writes its corpus: "<|" would be
        // the most frequent pair of the text, were the special token's own characters counted.
        string text = string.Concat(Enumerable.Repeat("ab" + EndOfText, 20)) + "x<|y<|z";
        foreach (var merges in new[] { BpeTokenizer.Train(text, 270, [EndOfText]).Merges, RecountingBpe.Train(text, 270, [EndOfText]) })
        {
            Assert.Equal((97, 98), merges[0]);                                         // (a, b): 20 times
            Assert.Equal(((int)'<', (int)'|'), merges[1]);                            // (<, |): only in x<|y<|z, twice
            Assert.Equal(2, merges.Count);                                             // then no pair is left
        }
    }
}
