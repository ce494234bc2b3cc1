using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace LlmNotebooks.Tokenization;

/// <summary>
/// The real GPT-2 tokenizer (50,257 tokens), from Microsoft.ML.Tokenizers with its bundled vocabulary — the reference
/// the course's own BPE is compared with. Example: Encode("Hello world") = [15496, 995].
/// <para><b>Its one special token, "&lt;|endoftext|&gt;" (id 50256), as tiktoken treats it.</b> Text that contains that
/// spelling is refused by <see cref="Encode(string)"/> (tiktoken's <c>encode</c> with its default
/// <c>disallowed_special="all"</c>), because a user who types it must not end the document for the model. Say what you
/// mean: <see cref="Encode(string, bool)"/> with <c>allowSpecial: true</c> reads it as id 50256 (tiktoken's
/// <c>allowed_special={"&lt;|endoftext|&gt;"}</c>), <see cref="EncodeOrdinary"/> reads it as the seven ordinary tokens
/// "&lt;", "|", "end", "of", "text", "|", "&gt;" (tiktoken's <c>encode_ordinary</c>).</para>
/// </summary>
public sealed class Gpt2Tokenizer : ITokenizer
{
    /// <summary>GPT-2's end-of-text token; its id is <see cref="EndOfTextId"/>.</summary>
    public const string EndOfText = "<|endoftext|>";

    /// <summary>The id of <see cref="EndOfText"/>, the last of the vocabulary.</summary>
    public const int EndOfTextId = 50256;

    static readonly Lazy<Tokenizer> Shared = new(() => TiktokenTokenizer.CreateForModel("gpt2"));

    /// <summary>50,257: 256 bytes, 50,000 merges and <see cref="EndOfText"/>.</summary>
    public int VocabSize => 50257;

    /// <summary>The ids of <paramref name="text"/>, which must not contain <see cref="EndOfText"/> (see the class remarks).</summary>
    /// <exception cref="ArgumentException">The text contains "&lt;|endoftext|&gt;", or is not valid UTF-16.</exception>
    public IReadOnlyList<int> Encode(string text) => Encode(text, allowSpecial: false);

    /// <summary>
    /// The ids of <paramref name="text"/>. <paramref name="allowSpecial"/> true: "&lt;|endoftext|&gt;" in it becomes id
    /// 50256 (for text the program put together, such as documents joined by that separator); false: such text is refused
    /// with an error that names both ways out.
    /// </summary>
    /// <exception cref="ArgumentException">The text contains "&lt;|endoftext|&gt;" and <paramref name="allowSpecial"/> is false, or is not valid UTF-16.</exception>
    public IReadOnlyList<int> Encode(string text, bool allowSpecial)
    {
        Guard.ValidUtf16(text, nameof(text));
        int at = text.IndexOf(EndOfText, StringComparison.Ordinal);
        if (at >= 0 && !allowSpecial)
            throw new ArgumentException(
                $"The text contains GPT-2's special token \"{EndOfText}\" at position {at}; Encode refuses it, as tiktoken does, so that typed text never " +
                $"becomes a control token. Call Encode(text, allowSpecial: true) to read it as the end-of-text token (id {EndOfTextId}), " +
                "or EncodeOrdinary(text) to read it as ordinary characters (user text).", nameof(text));
        return Shared.Value.EncodeToIds(text);
    }

    /// <summary>
    /// The ids of <paramref name="text"/> as ordinary text: "&lt;|endoftext|&gt;" in it is encoded as the ordinary tokens of
    /// its characters, [27, 91, 437, 1659, 5239, 91, 29], never as id 50256 (tiktoken's <c>encode_ordinary</c>). Equal to
    /// <see cref="Encode(string)"/> for text without that spelling.
    /// </summary>
    /// <exception cref="ArgumentException">The text is not valid UTF-16 (the message names the position of the lone surrogate).</exception>
    public IReadOnlyList<int> EncodeOrdinary(string text)
    {
        Guard.ValidUtf16(text, nameof(text));
        if (!text.Contains(EndOfText, StringComparison.Ordinal)) return Shared.Value.EncodeToIds(text);
        // GPT-2's own pre-tokenisation (the pattern BpeTokenizer uses): no chunk can hold the whole special token, since
        // "<|", "endoftext" and "|>" fall in different classes; each chunk is then merged on its own, as tiktoken does.
        var ids = new List<int>();
        foreach (Match m in BpeTokenizer.Chunks().Matches(text))
            ids.AddRange(Shared.Value.EncodeToIds(m.Value, considerPreTokenization: false, considerNormalization: false));
        return ids;
    }

    /// <summary>The text of <paramref name="ids"/> (50256 is written "&lt;|endoftext|&gt;").</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var list = ids.ToList();
        if (list.FirstOrDefault(id => id < 0 || id >= VocabSize, 0) is var bad && (bad < 0 || bad >= VocabSize))
            throw new ArgumentOutOfRangeException(nameof(ids), $"Token id {bad} is outside GPT-2's vocabulary [0, {VocabSize - 1}].");
        return Shared.Value.Decode(list) ?? "";
    }
}
