using LlmNotebooks.Tokenization;

namespace LlmNotebooks.Reasoning;

/// <summary>
/// The characters of the arithmetic task and its tokenizer: one token per character, 18 in all (digits, '+', '-',
/// '=', the step separator ',', the <see cref="AnswerMarker"/> '#', <see cref="EndOfAnswer"/> '.', and the padding
/// character '_', which no problem or solution contains).
/// </summary>
public static class ArithmeticFormat
{
    /// <summary>Separates the thinking from the answer: everything after the first '#' is the final answer.</summary>
    public const char AnswerMarker = '#';

    /// <summary>Ends every response (the stop token of sampling).</summary>
    public const char EndOfAnswer = '.';

    /// <summary>Between two chain-of-thought steps.</summary>
    public const char StepSeparator = ',';

    /// <summary>Pads a batch's shorter sequences; never part of a problem or a solution.</summary>
    public const char Padding = '_';

    /// <summary>Every character a problem, its solution or a padded batch can hold.</summary>
    public const string Alphabet = "0123456789+-=,#._";

    /// <summary>The character tokenizer over <see cref="Alphabet"/> (ids in the sorted order of the characters).</summary>
    public static CharTokenizer Tokenizer { get; } = new(Alphabet.Select(c => c.ToString()));

    /// <summary>The token id of the answer marker '#'.</summary>
    public static int MarkerToken => Tokenizer.Encode(AnswerMarker.ToString())[0];

    /// <summary>The token id of '.', the end of every response.</summary>
    public static int EndToken => Tokenizer.Encode(EndOfAnswer.ToString())[0];

    /// <summary>The token id of the padding character '_'.</summary>
    public static int PadToken => Tokenizer.Encode(Padding.ToString())[0];
}
