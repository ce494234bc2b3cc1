namespace LlmNotebooks;

/// <summary>
/// The library's defaults that every floor shares. They live at the root, below everything, so that a trainer or an
/// options record can use them without reaching up into the notebook layer.
/// </summary>
public static class Defaults
{
    /// <summary>
    /// The course seed: every notebook starts from it (<c>Course.DefaultSeed</c> is the same number), and the library's
    /// seeds default to it (for example <c>TrainerOptions.Seed</c>).
    /// </summary>
    public const long Seed = 1234;
}
