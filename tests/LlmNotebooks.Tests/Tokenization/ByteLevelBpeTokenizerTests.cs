using System.Text.Json;
using System.Text.Json.Nodes;
using LlmNotebooks.Tokenization;

namespace LlmNotebooks.Tests.Tokenization;

/// <summary>A Hugging Face vocab.json + merges.txt pair, written by the test in SmolLM2's layout, read back.</summary>
public class ByteLevelBpeTokenizerTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("llmnb-bytelevel-").FullName;
    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others (space, control bytes…) for 256 + n.</summary>
    static char[] ByteChars()
    {
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range('¡', '¬' - '¡' + 1)).Concat(Enumerable.Range('®', 'ÿ' - '®' + 1)).ToHashSet();
        var chars = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++) chars[b] = printable.Contains(b) ? (char)b : (char)(256 + n++);
        return chars;
    }

    /// <summary>
    /// SmolLM2's special tokens first (&lt;|endoftext|&gt; 0, &lt;|im_start|&gt; 1, &lt;|im_end|&gt; 2), the 256 byte characters
    /// (3 … 258), then four merges: Ġ t → Ġt (259), h e → he (260), Ġt he → Ġthe (261), 1 2 → 12 (262).
    /// </summary>
    Dictionary<string, int> WriteFiles(bool withTokenizerJson)
    {
        var vocab = new Dictionary<string, int> { ["<|endoftext|>"] = 0, ["<|im_start|>"] = 1, ["<|im_end|>"] = 2 };
        foreach (char c in ByteChars()) vocab[c.ToString()] = vocab.Count;
        string[] merges = ["Ġ t", "h e", "Ġt he", "1 2"];
        foreach (var m in merges) vocab[m.Replace(" ", "")] = vocab.Count;
        File.WriteAllText(Path.Combine(_folder, "vocab.json"), JsonSerializer.Serialize(vocab));
        File.WriteAllLines(Path.Combine(_folder, "merges.txt"), ["#version: 0.2", .. merges]);
        if (withTokenizerJson)
        {
            var description = new JsonObject
            {
                ["added_tokens"] = new JsonArray(
                    new JsonObject { ["id"] = 0, ["content"] = "<|endoftext|>", ["special"] = true },
                    new JsonObject { ["id"] = 1, ["content"] = "<|im_start|>", ["special"] = true },
                    new JsonObject { ["id"] = 2, ["content"] = "<|im_end|>", ["special"] = true }),
                ["pre_tokenizer"] = new JsonObject
                {
                    ["type"] = "Sequence",
                    ["pretokenizers"] = new JsonArray(
                        new JsonObject { ["type"] = "Digits", ["individual_digits"] = true },
                        new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = true }),
                },
            };
            File.WriteAllText(Path.Combine(_folder, "tokenizer.json"), description.ToJsonString());
        }
        return vocab;
    }

    [Fact]
    public void Merges_apply_inside_chunks_and_special_tokens_are_matched_whole()
    {
        var vocab = WriteFiles(withTokenizerJson: true);
        var tokenizer = ByteLevelBpeTokenizer.FromFolder(_folder);
        Assert.Equal(263, tokenizer.VocabSize);
        Assert.Equal(new Dictionary<string, int> { ["<|endoftext|>"] = 0, ["<|im_start|>"] = 1, ["<|im_end|>"] = 2 }, tokenizer.SpecialTokens);
        Assert.Equal([vocab["Ġthe"]], tokenizer.Encode(" the"));
        Assert.Equal([1, vocab["t"], vocab["he"], vocab["Ġthe"], 2, 0], tokenizer.Encode("<|im_start|>the the<|im_end|><|endoftext|>"));
        Assert.Equal("<|im_start|>the the<|im_end|>", tokenizer.Decode([1, vocab["t"], vocab["he"], vocab["Ġthe"], 2]));
    }

    [Fact]
    public void Typed_special_spellings_stay_text_through_EncodeOrdinary()
    {
        WriteFiles(withTokenizerJson: true);
        var tokenizer = ByteLevelBpeTokenizer.FromFolder(_folder);
        const string typed = "the <|im_end|> the<|endoftext|>";
        var ids = tokenizer.EncodeOrdinary(typed);
        Assert.DoesNotContain(ids, id => tokenizer.SpecialTokens.Values.Contains(id));
        Assert.Equal(typed, tokenizer.Decode(ids));
        Assert.Equal(tokenizer.Encode("the the"), tokenizer.EncodeOrdinary("the the"));
        Assert.Contains("position 1", Assert.Throws<ArgumentException>(() => tokenizer.EncodeOrdinary("a\uD800b")).Message);
    }

    [Fact]
    public void Digits_are_split_one_by_one_when_tokenizer_json_says_so_and_kept_in_runs_otherwise()
    {
        var vocab = WriteFiles(withTokenizerJson: true);
        var smol = ByteLevelBpeTokenizer.FromFolder(_folder);
        Assert.True(smol.IndividualDigits);
        Assert.Equal([vocab["Ġ"], vocab["1"], vocab["2"]], smol.Encode(" 12"));

        File.Delete(Path.Combine(_folder, "tokenizer.json"));
        var gpt2Rule = ByteLevelBpeTokenizer.FromFolder(_folder);
        Assert.False(gpt2Rule.IndividualDigits);
        Assert.Equal([vocab["12"]], gpt2Rule.Encode("12"));
        Assert.Equal(3, gpt2Rule.SpecialTokens.Count);                       // <|…|> tokens of the vocabulary
    }

    [Theory]
    [InlineData("héllo wörld 12 345, 'tis the end\n\tof  it 🙂")]
    [InlineData("")]
    public void Any_text_round_trips(string text)
    {
        WriteFiles(withTokenizerJson: true);
        var tokenizer = ByteLevelBpeTokenizer.FromFolder(_folder);
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        WriteFiles(withTokenizerJson: false);
        File.Delete(Path.Combine(_folder, "merges.txt"));
        var e = Assert.Throws<FileNotFoundException>(() => ByteLevelBpeTokenizer.FromFolder(_folder));
        Assert.Contains("No merges.txt", e.Message);
        WriteFiles(withTokenizerJson: false);
        Assert.Throws<ArgumentOutOfRangeException>(() => ByteLevelBpeTokenizer.FromFolder(_folder).Decode([263]));
    }
}
