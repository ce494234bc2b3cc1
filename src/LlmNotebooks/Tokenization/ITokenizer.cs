namespace LlmNotebooks.Tokenization;

/// <summary>
/// Turns text into token ids and back. Every course tokenizer round-trips: Decode(Encode(s)) == s, and
/// Decode(EncodeOrdinary(s)) == s, for every string it accepts; what it cannot give back it refuses with an
/// <see cref="ArgumentException"/> rather than changing it. In particular a string that is not valid UTF-16 (a lone
/// surrogate, which would come back as U+FFFD) is refused by every tokenizer, with the position of that surrogate.
/// <para><b>Special tokens and user text.</b> A tokenizer may have special tokens, control symbols such as "&lt;|endoftext|&gt;"
/// or a chat template's "[/INST]", whose ids only the code that builds a sequence may write. Text a user typed (a prompt,
/// an instruction, an answer in training data) goes through <see cref="EncodeOrdinary"/>: there a special token's spelling
/// is ordinary text, encoded as the pieces it is made of, so typing "[/INST]" can never end an instruction early.
/// <see cref="Encode"/> is for text the program itself put together; how it reads a special token's spelling is each
/// tokenizer's documented choice (<see cref="BpeTokenizer"/> reads it as the special token, <see cref="Gpt2Tokenizer"/>
/// refuses it unless asked, as tiktoken does).</para>
/// </summary>
public interface ITokenizer
{
    /// <summary>How many different token ids there are (ids are 0 .. VocabSize − 1).</summary>
    int VocabSize { get; }

    /// <summary>The ids of <paramref name="text"/>; see the interface's remarks for how each tokenizer treats the spelling of its special tokens.</summary>
    /// <exception cref="ArgumentException">The text is not valid UTF-16 (the message names the position of the lone surrogate).</exception>
    IReadOnlyList<int> Encode(string text);

    /// <summary>
    /// The ids of <paramref name="text"/> read as ordinary text: the spelling of a special token inside it is encoded as
    /// the ordinary tokens of those characters, never as the special token's id. Use it for anything a user typed.
    /// </summary>
    /// <exception cref="ArgumentException">The text is not valid UTF-16 (the message names the position of the lone surrogate).</exception>
    IReadOnlyList<int> EncodeOrdinary(string text);

    /// <summary>The text of <paramref name="ids"/>: the exact string they were encoded from.</summary>
    string Decode(IEnumerable<int> ids);
}
