namespace LlmNotebooks.Tokenization;

/// <summary>Turns text into token ids and back. Every course tokenizer round-trips: Decode(Encode(s)) == s.</summary>
public interface ITokenizer
{
    /// <summary>How many different token ids there are (ids are 0 .. VocabSize − 1).</summary>
    int VocabSize { get; }

    IReadOnlyList<int> Encode(string text);

    string Decode(IEnumerable<int> ids);
}
