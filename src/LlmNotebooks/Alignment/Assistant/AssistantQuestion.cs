namespace LlmNotebooks.Alignment.Assistant;

/// <summary>
/// One question of the assistant task: «Столица Франции?» or "Capital of France?", the right capital, and other cities
/// of the same country that a wrong answer names.
/// </summary>
/// <param name="Language">"ru" or "en".</param>
/// <param name="Prompt">The question as the user types it, e.g. «Столица Франции?».</param>
/// <param name="Statement">The start of a full answer, completed by a city: «Столица Франции —», "The capital of France is".</param>
/// <param name="Capital">The right answer, e.g. «Париж».</param>
/// <param name="WrongCities">Cities of the same country that are not its capital, e.g. «Марсель», «Лион».</param>
public sealed record AssistantQuestion(string Language, string Prompt, string Statement, string Capital, IReadOnlyList<string> WrongCities)
{
    /// <summary>Every city this question's answers can name: the capital first, then the wrong ones.</summary>
    public IEnumerable<string> Cities => WrongCities.Prepend(Capital);

    public override string ToString() => Prompt;
}
