using LlmNotebooks.Tokenization;

namespace LlmNotebooks.Tests.Tokenization;

/// <summary>
/// Edge cases that mutation testing (issue 16) found untested: the exact bounds of a file's merge ids, special tokens
/// that start with another special token, the order of special tokens through Truncate and WithSpecialTokens, the
/// byte 0, the training callback, and the loader's messages.
/// </summary>
public class BpeTokenizerEdgeCaseTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("llmnb-bpe-edge-").FullName;
    public void Dispose() => Directory.Delete(_folder, recursive: true);

    string Write(string content)
    {
        string path = Path.Combine(_folder, "tok.bpe");
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void A_merge_may_use_every_earlier_id_and_no_later_one()
    {
        // Merge i creates id 256 + i, so it may use ids 0 … 255 + i: byte 0 and the previous merge's id are allowed.
        var ok = BpeTokenizer.Load(Write("llmnb-bpe 1\nmerge 0 97\nmerge 97 256\n"));
        Assert.Equal(new byte[] { 0, 97 }, ok.TokenBytes(256));
        Assert.Equal(new byte[] { 97, 0, 97 }, ok.TokenBytes(257));
        Assert.Equal(new byte[] { 97, 0 }, BpeTokenizer.Load(Write("llmnb-bpe 1\nmerge 97 0\n")).TokenBytes(256));

        string Error(string content) => Assert.Throws<InvalidDataException>(() => BpeTokenizer.Load(Write(content))).Message;
        Assert.Contains("Merge 0 (256, 97) refers to a token that does not exist yet (ids must be below 256).", Error("llmnb-bpe 1\nmerge 256 97\n"));
        Assert.Contains("Merge 0 (97, 256)", Error("llmnb-bpe 1\nmerge 97 256\n"));
        Assert.Contains("Merge 1 (97, 257) refers to a token that does not exist yet (ids must be below 257).", Error("llmnb-bpe 1\nmerge 97 98\nmerge 97 257\n"));
    }

    [Fact]
    public void A_special_token_that_starts_with_another_is_still_one_id()
    {
        var bpe = BpeTokenizer.Train("abab", 258, ["<s>", "<s>x"]);
        int s = bpe.Encode("<s>")[0], sx = bpe.Encode("<s>x")[0];
        Assert.Equal([256, 257], new[] { s, sx });
        // The longer token must be tried first: "<s>x" is its own id, not "<s>" followed by the letter x.
        Assert.Equal(new[] { 97, sx, 98 }, bpe.Encode("a<s>xb"));
        Assert.Equal(new[] { 97, s, 98 }, bpe.Encode("a<s>b"));
    }

    [Fact]
    public void Truncate_and_WithSpecialTokens_keep_the_special_tokens_in_their_order()
    {
        var bpe = BpeTokenizer.Train("aaabdaaabac", 261, ["<a>", "<b>"]);            // 3 merges, "<a>" = 259, "<b>" = 260
        Assert.Equal([259, 260], new[] { bpe.Encode("<a>")[0], bpe.Encode("<b>")[0] });

        var cut = bpe.Truncate(260);                                                   // 2 merges: "<a>" = 258, "<b>" = 259
        Assert.Equal([258, 259], new[] { cut.Encode("<a>")[0], cut.Encode("<b>")[0] });

        var more = bpe.WithSpecialTokens(["<c>"]);
        Assert.Equal([259, 260, 261], new[] { more.Encode("<a>")[0], more.Encode("<b>")[0], more.Encode("<c>")[0] });
    }

    [Fact]
    public void Byte_zero_is_an_ordinary_token()
    {
        var bpe = BpeTokenizer.Train("abc", 256);
        Assert.Equal(new[] { 0, 97 }, bpe.Encode("\0a"));
        Assert.Equal("\0a", bpe.Decode([0, 97]));
        Assert.Equal("\0", bpe.TokenText(0));
    }

    [Fact]
    public void Training_reports_each_merge_with_its_id_pair_and_count()
    {
        var seen = new List<(int Id, (int, int) Pair, long Count)>();
        var bpe = BpeTokenizer.Train("aaabdaaabac", 259, onMerge: (id, pair, count) => seen.Add((id, pair, count)));
        // "aa" occurs 4 times (twice in each "aaab"); then "ab" and "Zab" (Z = aa) twice each.
        Assert.Equal(new[] { (256, (97, 97), 4L), (257, (97, 98), 2L), (258, (256, 257), 2L) }, seen);
        Assert.Equal(bpe.Merges, seen.Select(m => m.Pair));
    }

    [Fact]
    public void Training_chunks_accept_no_special_tokens_and_refuse_no_text()
    {
        Assert.Equal(new[] { "Hi", " there" }, BpeTokenizer.TrainingChunks("Hi there", null));
        Assert.Equal("text", Assert.Throws<ArgumentNullException>(() => BpeTokenizer.TrainingChunks(null!)).ParamName);
    }

    [Fact]
    public void The_loader_says_what_is_wrong_with_the_path_and_the_lines()
    {
        string missing = Path.Combine(_folder, "none.bpe");
        Assert.Equal($"No tokenizer file at {Path.GetFullPath(missing)}.", Assert.Throws<FileNotFoundException>(() => BpeTokenizer.Load(missing)).Message);
        Assert.Equal($"{Path.GetFullPath(_folder)} is a folder, not a tokenizer file.", Assert.Throws<FileNotFoundException>(() => BpeTokenizer.Load(_folder)).Message);

        string path = Write("llmnb-bpe 2\nmerges x\nend\n");
        Assert.Equal($"{path}, line 2: expected \"merges COUNT specials COUNT\", got \"merges x\".",
            Assert.Throws<InvalidDataException>(() => BpeTokenizer.Load(path)).Message);
        Write("llmnb-bpe 2\n");
        Assert.Equal($"{path}, line 2: expected \"merges COUNT specials COUNT\", got \"\".",
            Assert.Throws<InvalidDataException>(() => BpeTokenizer.Load(path)).Message);

        // A special token's text is a JSON string; a broken one is refused with its line, not thrown as a JSON error.
        Write("llmnb-bpe 2\nmerges 0 specials 1\nspecial 256 \"<pad>\nend\n");
        Assert.Contains("line 3", Assert.Throws<InvalidDataException>(() => BpeTokenizer.Load(path)).Message);
        Write("llmnb-bpe 2\nmerges 0 specials 1\nspecial 256 \"<pad>\"\nend\n");
        Assert.Equal([256], BpeTokenizer.Load(path).Encode("<pad>"));
    }
}
