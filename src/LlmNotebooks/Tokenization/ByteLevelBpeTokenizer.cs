using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace LlmNotebooks.Tokenization;

/// <summary>
/// A Hugging Face byte-level BPE tokenizer read from its two files, <c>vocab.json</c> (token → id) and <c>merges.txt</c>
/// (the merges in the order they were learned): the scheme of GPT-2, SmolLM2 and many others, with any vocabulary.
/// Text is cut into chunks by GPT-2's pattern (optionally every digit alone first, as SmolLM2 does), each chunk's UTF-8
/// bytes are written as printable characters (a space is 'Ġ'), and the merges are applied inside each chunk. Special
/// tokens such as <c>&lt;|endoftext|&gt;</c> are matched whole and never merged. Built on Microsoft.ML.Tokenizers' BPE.
/// <code>
/// var tokenizer = ByteLevelBpeTokenizer.FromFolder("artifacts/models/smollm2-135m");
/// tokenizer.Decode(tokenizer.Encode("The capital of France is"));   // the same text back
/// </code>
/// </summary>
public sealed partial class ByteLevelBpeTokenizer : ITokenizer
{
    /// <summary>The vocabulary file's name in a Hugging Face folder.</summary>
    public const string VocabFile = "vocab.json";

    /// <summary>The merges file's name in a Hugging Face folder.</summary>
    public const string MergesFile = "merges.txt";

    /// <summary>The fast tokenizer's description (optional here: read for the special tokens and the digit rule when present).</summary>
    public const string TokenizerJsonFile = "tokenizer.json";

    readonly Tokenizer _bpe;
    readonly Dictionary<string, int> _special;

    /// <inheritdoc />
    public int VocabSize { get; }

    /// <summary>Special tokens (matched whole in the text, never merged) and their ids.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens => _special;

    /// <summary>Whether every digit is a chunk of its own (SmolLM2, Llama 3) rather than runs of digits (GPT-2).</summary>
    public bool IndividualDigits { get; }

    /// <summary>GPT-2's chunks: contractions, words with their leading space, numbers, punctuation, spaces.</summary>
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    private static partial Regex Gpt2Chunks();

    /// <summary>
    /// The same chunks after Hugging Face's Digits(individual_digits) pre-tokenizer: a digit is always alone, and the space
    /// before a number stays a chunk of its own (as " 12" becomes " ", "1", "2" there).
    /// </summary>
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    private static partial Regex DigitChunks();

    ByteLevelBpeTokenizer(Tokenizer bpe, Dictionary<string, int> special, int vocabSize, bool individualDigits)
    {
        _bpe = bpe;
        _special = special;
        VocabSize = vocabSize;
        IndividualDigits = individualDigits;
    }

    /// <summary>
    /// Reads <c>vocab.json</c> and <c>merges.txt</c> from <paramref name="folder"/>. Special tokens are the added tokens that
    /// <c>tokenizer.json</c> marks special when that file is there, otherwise the vocabulary's tokens written &lt;|…|&gt;.
    /// <paramref name="individualDigits"/>: null reads the rule from tokenizer.json (a "Digits" pre-tokenizer with
    /// individual_digits), or takes GPT-2's (runs of digits) when that file is absent.
    /// </summary>
    /// <exception cref="FileNotFoundException">A file is missing (named, with where Hugging Face folders keep it).</exception>
    /// <exception cref="InvalidDataException">vocab.json is not a JSON map of tokens to ids.</exception>
    public static ByteLevelBpeTokenizer FromFolder(string folder, bool? individualDigits = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string vocabPath = Path.Combine(folder, VocabFile), mergesPath = Path.Combine(folder, MergesFile), jsonPath = Path.Combine(folder, TokenizerJsonFile);
        foreach (var path in new[] { vocabPath, mergesPath })
            if (!File.Exists(path))
                throw new FileNotFoundException($"No {Path.GetFileName(path)} in {Path.GetFullPath(folder)}: a byte-level BPE tokenizer needs {VocabFile} and {MergesFile} " +
                                                "from the model's Hugging Face repository (its 'Files' tab), in the same folder.", path);
        Dictionary<string, int> vocab;
        try { vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(vocabPath)) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new InvalidDataException($"{vocabPath} is not a JSON map of tokens to ids ({e.Message}). Download it again.", e); }

        JsonNode? description = null;
        if (File.Exists(jsonPath))
        {
            try { description = JsonNode.Parse(File.ReadAllText(jsonPath)); }
            catch (JsonException e) { throw new InvalidDataException($"{jsonPath} is not valid JSON ({e.Message}). Download it again, or delete it to use {VocabFile} and {MergesFile} alone.", e); }
        }
        var special = description is null ? SpecialsFromVocabulary(vocab) : SpecialsFromDescription(description, vocab);
        bool digits = individualDigits ?? (description is not null && SplitsDigits(description["pre_tokenizer"]));

        var options = new BpeOptions(vocabPath, mergesPath)
        {
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(digits ? DigitChunks() : Gpt2Chunks(), special),
            SpecialTokens = special,
        };
        int vocabSize = Math.Max(vocab.Count == 0 ? 0 : vocab.Values.Max() + 1, special.Count == 0 ? 0 : special.Values.Max() + 1);
        return new ByteLevelBpeTokenizer(Microsoft.ML.Tokenizers.BpeTokenizer.Create(options), special, vocabSize, digits);
    }

    /// <inheritdoc />
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Guard.ValidUtf16(text, nameof(text));
        return _bpe.EncodeToIds(text);
    }

    /// <summary>
    /// The ids of <paramref name="text"/> as ordinary text (what a user typed): a special token's spelling in it, such as
    /// "&lt;|im_start|&gt;", is encoded as the ordinary tokens of its characters, never as the special id. Equal to
    /// <see cref="Encode"/> for text without such a spelling.
    /// </summary>
    public IReadOnlyList<int> EncodeOrdinary(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Guard.ValidUtf16(text, nameof(text));
        if (!_special.Keys.Any(s => text.Contains(s, StringComparison.Ordinal))) return _bpe.EncodeToIds(text);
        // The pre-tokenizer's own chunks, each merged on its own: no chunk holds a whole "<|…|>" spelling, since "<|" and "|>"
        // fall in a different character class from the letters between them.
        var ids = new List<int>();
        foreach (System.Text.RegularExpressions.Match m in (IndividualDigits ? DigitChunks() : Gpt2Chunks()).Matches(text))
            ids.AddRange(_bpe.EncodeToIds(m.Value, considerPreTokenization: false, considerNormalization: false));
        return ids;
    }

    /// <inheritdoc />
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var list = ids.ToList();
        foreach (int id in list)
            if (id < 0 || id >= VocabSize) throw new ArgumentOutOfRangeException(nameof(ids), $"Token id {id} is outside this vocabulary [0, {VocabSize - 1}].");
        return _bpe.Decode(list) ?? "";
    }

    static Dictionary<string, int> SpecialsFromVocabulary(Dictionary<string, int> vocab) =>
        vocab.Where(p => p.Key.Length > 4 && p.Key.StartsWith("<|", StringComparison.Ordinal) && p.Key.EndsWith("|>", StringComparison.Ordinal))
             .ToDictionary(p => p.Key, p => p.Value);

    static Dictionary<string, int> SpecialsFromDescription(JsonNode description, Dictionary<string, int> vocab)
    {
        var result = new Dictionary<string, int>();
        if (description["added_tokens"] is JsonArray added)
            foreach (var token in added.OfType<JsonObject>())
                if (token["special"]?.GetValueKind() == JsonValueKind.True && token["content"]?.GetValue<string>() is string content && token["id"] is JsonNode id)
                    result[content] = id.GetValue<int>();
        return result.Count > 0 ? result : SpecialsFromVocabulary(vocab);
    }

    /// <summary>Whether a pre_tokenizer description holds Digits with individual_digits true (alone, or inside a Sequence).</summary>
    static bool SplitsDigits(JsonNode? preTokenizer) => preTokenizer switch
    {
        JsonObject o when o["type"]?.GetValue<string>() == "Digits" => o["individual_digits"]?.GetValueKind() == JsonValueKind.True,
        JsonObject o when o["pretokenizers"] is JsonArray list => list.Any(SplitsDigits),
        _ => false,
    };
}
