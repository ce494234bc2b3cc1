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
