using Microsoft.ML.Tokenizers;

namespace LlmNotebooks.Tokenization;

/// <summary>
/// The real GPT-2 tokenizer (50,257 tokens), from Microsoft.ML.Tokenizers with its bundled vocabulary — the reference
/// the course's own BPE is compared with. Example: Encode("Hello world") = [15496, 995].
/// </summary>
public sealed class Gpt2Tokenizer : ITokenizer
{
    static readonly Lazy<Tokenizer> Shared = new(() => TiktokenTokenizer.CreateForModel("gpt2"));

    public int VocabSize => 50257;

    public IReadOnlyList<int> Encode(string text) => Shared.Value.EncodeToIds(text);

    public string Decode(IEnumerable<int> ids)
    {
        var list = ids.ToList();
        if (list.FirstOrDefault(id => id < 0 || id >= VocabSize, 0) is var bad && (bad < 0 || bad >= VocabSize))
            throw new ArgumentOutOfRangeException(nameof(ids), $"Token id {bad} is outside GPT-2's vocabulary [0, {VocabSize - 1}].");
        return Shared.Value.Decode(list) ?? "";
    }
}
