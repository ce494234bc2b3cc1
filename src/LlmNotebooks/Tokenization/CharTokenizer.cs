using System.Globalization;

namespace LlmNotebooks.Tokenization;

/// <summary>
/// One token per character (a Unicode text element, so "é" or an emoji is one token): the simplest tokenizer, and
/// the one nanoGPT's "baby" model uses. The vocabulary is the sorted set of characters of the training text.
/// Example: trained on "abca", Encode("cab") = [2, 0, 1].
/// </summary>
public sealed class CharTokenizer : ITokenizer
{
    readonly Dictionary<string, int> _ids;

    public IReadOnlyList<string> Vocabulary { get; }
    public int VocabSize => Vocabulary.Count;

    public CharTokenizer(IEnumerable<string> characters)
    {
        Vocabulary = characters.Distinct().Order(StringComparer.Ordinal).ToArray();
        _ids = Vocabulary.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
    }

    /// <summary>A tokenizer whose vocabulary is every character that occurs in <paramref name="text"/>.</summary>
    public static CharTokenizer Train(string text) => new(Characters(text));

    /// <summary>One id per character (text element) of <paramref name="text"/>. A character tokenizer has no special tokens, so this is <see cref="EncodeOrdinary"/>.</summary>
    /// <exception cref="ArgumentException">A character outside the vocabulary, or text that is not valid UTF-16 (a lone surrogate; the message names its position).</exception>
    public IReadOnlyList<int> Encode(string text)
    {
        Guard.ValidUtf16(text, nameof(text));
        var ids = new List<int>(text.Length);
        foreach (string c in Characters(text))
        {
            if (!_ids.TryGetValue(c, out int id))
                throw new ArgumentException(
                    $"The character '{c}' ({CodePoints(c)}) is not in this tokenizer's vocabulary of {VocabSize} characters. " +
                    "Train the tokenizer on text that contains it, or use a byte-level tokenizer, which has no unknown characters.", nameof(text));
            ids.Add(id);
        }
        return ids;
    }

    /// <inheritdoc cref="Encode"/>
    public IReadOnlyList<int> EncodeOrdinary(string text) => Encode(text);

    /// <summary>The characters of <paramref name="ids"/>, joined.</summary>
    public string Decode(IEnumerable<int> ids) => string.Concat(ids.Select(id =>
        id >= 0 && id < VocabSize ? Vocabulary[id] : throw new ArgumentOutOfRangeException(nameof(ids), $"Token id {id} is outside the vocabulary [0, {VocabSize - 1}].")));

    /// <summary>The code points of a text element (valid UTF-16, checked before), e.g. "U+0064".</summary>
    static string CodePoints(string element) => string.Join(" ", element.EnumerateRunes().Select(r => $"U+{r.Value:X4}"));

    static IEnumerable<string> Characters(string text)
    {
        var e = StringInfo.GetTextElementEnumerator(text);
        while (e.MoveNext()) yield return e.GetTextElement();
    }
}
