namespace LlmNotebooks;

/// <summary>
/// Range checks for numeric options that also refuse NaN and ±∞. A plain <c>if (x &lt; 0) throw</c> lets NaN through,
/// because every comparison with NaN is false; each check here is written so that NaN fails it.
/// </summary>
static class Guard
{
    /// <summary>A finite number ≥ <paramref name="min"/> (and ≤ <paramref name="max"/> when given).</summary>
    public static void Finite(double value, string name, double min = double.NegativeInfinity, double max = double.PositiveInfinity, string? hint = null)
    {
        if (double.IsFinite(value) && value >= min && value <= max) return;
        throw new ArgumentException($"{name} must be a finite number{Range(min, max, maxOpen: false)}, got {Show(value)}.{Hint(hint)}", name);
    }

    /// <summary>A finite number &gt; 0.</summary>
    public static void Positive(double value, string name, string? hint = null)
    {
        if (double.IsFinite(value) && value > 0) return;
        throw new ArgumentException($"{name} must be a finite number > 0, got {Show(value)}.{Hint(hint)}", name);
    }

    /// <summary>A probability that can be 0 but not 1 (dropout, Adam's betas): a finite number in [0, 1).</summary>
    public static void UnitInterval(double value, string name, string? hint = null)
    {
        if (double.IsFinite(value) && value >= 0 && value < 1) return;
        throw new ArgumentException($"{name} must be a finite number in [0, 1), got {Show(value)}.{Hint(hint)}", name);
    }

    /// <summary>An integer ≥ <paramref name="min"/>.</summary>
    public static void AtLeast(long value, long min, string name, string? hint = null)
    {
        if (value >= min) return;
        throw new ArgumentException($"{name} must be {(min == 1 ? "positive" : $"≥ {min}")}, got {value}.{Hint(hint)}", name);
    }

    /// <summary>
    /// Text (not null) that is valid UTF-16: every surrogate half (U+D800–U+DFFF) in a high–low pair. A lone half is
    /// half of a character outside the Basic Multilingual Plane (an emoji, say) whose other half was lost, usually by a
    /// <c>Substring</c> or a char-by-char loop that cut the pair; UTF-8 has no bytes for it, so a tokenizer could not give
    /// it back (it would decode as U+FFFD). Every <c>ITokenizer.Encode</c> checks its text with this.
    /// </summary>
    /// <exception cref="ArgumentException">A lone surrogate: the message names its position (a UTF-16 index into the text).</exception>
    public static void ValidUtf16(string text, string name)
    {
        ArgumentNullException.ThrowIfNull(text, name);
        int start = text.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (start < 0) return;
        for (int i = start; i < text.Length; i++)
        {
            char c = text[i];
            if (!char.IsSurrogate(c)) continue;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            string which = char.IsHighSurrogate(c) ? "a high surrogate with no low surrogate after it" : "a low surrogate with no high surrogate before it";
            throw new ArgumentException(
                $"{name} is not valid UTF-16: position {i} (of {text.Length} chars) holds U+{(int)c:X4}, a lone surrogate ({which}): half of a character such as an emoji, " +
                "without its other half. No tokenizer can give it back (it would decode as U+FFFD). Fix the text where it was cut: take whole characters " +
                "(System.Text.Rune, or StringInfo's text elements) instead of single chars or a Substring that splits a pair.", name);
        }
    }

    /// <summary>How a number reads in an error: NaN and ∞ spelled out, others in the invariant culture.</summary>
    public static string Show(double value) => value switch
    {
        double.NaN => "NaN",
        double.PositiveInfinity => "+∞",
        double.NegativeInfinity => "−∞",
        _ => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Names for an error message: all of them, or the first <paramref name="max"/> and how many there are in all.</summary>
    public static string Shorten(IReadOnlyList<string> names, int max = 40) =>
        names.Count <= max ? string.Join(", ", names) : string.Join(", ", names.Take(max)) + $", … ({names.Count} in all)";

    static string Range(double min, double max, bool maxOpen) =>
        (double.IsNegativeInfinity(min), double.IsPositiveInfinity(max)) switch
        {
            (true, true) => "",
            (false, true) => $" ≥ {Show(min)}",
            (true, false) => $" ≤ {Show(max)}",
            _ => $" in [{Show(min)}, {Show(max)}{(maxOpen ? ")" : "]")}",
        };

    static string Hint(string? hint) => hint is null ? "" : " " + hint;
}
