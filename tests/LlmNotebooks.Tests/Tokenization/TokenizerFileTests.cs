using System.Text;
using LlmNotebooks.Tokenization;

namespace LlmNotebooks.Tests.Tokenization;

/// <summary>A tokenizer file loads as exactly the tokenizer that was saved, or not at all.</summary>
public class TokenizerFileTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("llmnb-bpe-file-").FullName;
    public void Dispose() => Directory.Delete(_folder, recursive: true);

    static readonly BpeTokenizer Bpe = BpeTokenizer.Train(
        string.Concat(Enumerable.Range(0, 60).Select(i => $"word{i * 37 % 101} кошка{i % 7} ")), 400, ["<|endoftext|>", "<|pad|>"]);

    [Fact]
    public void Every_cut_of_a_saved_file_is_refused_not_loaded_as_another_tokenizer()
    {
        string path = Path.Combine(_folder, "tok.bpe"), cut = Path.Combine(_folder, "cut.bpe");
        Bpe.Save(path);
        byte[] bytes = File.ReadAllBytes(path);
        var loaded = BpeTokenizer.Load(path);
        Assert.Equal(Bpe.Merges, loaded.Merges);
        Assert.Equal(Bpe.SpecialTokens, loaded.SpecialTokens);

        for (int length = 0; length < bytes.Length; length++)               // at a line boundary, inside a number, inside the JSON…
        {
            File.WriteAllBytes(cut, bytes[..length]);
            var e = Record.Exception(() => BpeTokenizer.Load(cut));
            Assert.True(e is InvalidDataException, $"a file cut to {length} of {bytes.Length} bytes loaded ({e?.GetType().Name ?? "no error"})");
        }
    }

    [Fact]
    public void Damaged_lines_and_wrong_counts_are_named()
    {
        string path = Path.Combine(_folder, "tok.bpe");
        Bpe.Save(path);
        var lines = File.ReadAllText(path).Split('\n');
        void Write(Func<string[], string[]> change) => File.WriteAllText(path, string.Join('\n', change((string[])lines.Clone())));
        string Error() => Assert.Throws<InvalidDataException>(() => BpeTokenizer.Load(path)).Message;

        Write(l => { l[1] = "merges 1 specials 2"; return l; });
        Assert.Contains("promises 1 merges", Error());
        Write(l => { l[3] = "merge +32 116"; return l; });
        Assert.Contains("line 4", Error());
        Write(l => { l[3] = "merge 32  116"; return l; });
        Assert.Contains("line 4", Error());
        Write(l => l.Where((_, i) => i != 5).ToArray());                    // a merge line missing in the middle
        Assert.Contains("line", Error());
        Write(l => l.Where((_, i) => i != l.Length - 2).ToArray());          // the end line missing
        Assert.Contains("\"end\"", Error());
        File.WriteAllBytes(path, [0xff, 0xfe, 0x6c, 0x00]);
        Assert.Contains("not UTF-8", Error());
        Assert.Throws<FileNotFoundException>(() => BpeTokenizer.Load(_folder));
    }

    [Fact]
    public void Files_of_the_first_format_still_load_when_they_end_with_a_whole_line()
    {
        string path = Path.Combine(_folder, "old.bpe");
        var sb = new StringBuilder("llmnb-bpe 1\n");
        foreach (var (l, r) in Bpe.Merges) sb.Append($"merge {l} {r}\n");
        foreach (var (s, id) in Bpe.SpecialTokens.OrderBy(p => p.Value)) sb.Append($"special {id} {System.Text.Json.JsonSerializer.Serialize(s)}\n");
        File.WriteAllText(path, sb.ToString());
        var old = BpeTokenizer.Load(path);
        Assert.Equal(Bpe.Merges, old.Merges);
        Assert.Equal(Bpe.SpecialTokens, old.SpecialTokens);

        File.WriteAllText(path, sb.ToString()[..^3]);                       // "merge 32 80" cut to "merge 32 8"
        Assert.Contains("cut short", Assert.Throws<InvalidDataException>(() => BpeTokenizer.Load(path)).Message);

        old.Save(path);                                                     // re-saving gives the checked format
        Assert.StartsWith("llmnb-bpe 2\n", File.ReadAllText(path));
    }

    [Fact]
    public void Token_text_out_of_range_and_a_lone_surrogate_get_clear_errors()
    {
        Assert.Equal("<|pad|>", Bpe.TokenText(Bpe.VocabSize - 1));
        foreach (int id in new[] { -1, Bpe.VocabSize, int.MaxValue })
            Assert.Contains("outside this tokenizer's vocabulary", Assert.Throws<ArgumentOutOfRangeException>(() => Bpe.TokenText(id)).Message);
        var chars = CharTokenizer.Train("abc");
        var e = Assert.Throws<ArgumentException>(() => chars.Encode("a\ud800b"));
        Assert.Contains("lone surrogate", e.Message);
        Assert.Contains("U+1F642", Assert.Throws<ArgumentException>(() => chars.Encode("🙂")).Message);
    }
}
