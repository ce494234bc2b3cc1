using System.Globalization;

namespace LlmNotebooks.Tests.FineTuning.Quantizing;

/// <summary>
/// Runs a ToString under the invariant culture (1,234 and 4.125), so that tests of formatted text pass on any machine:
/// the library formats with the current culture, as a notebook shows numbers to its reader.
/// </summary>
static class InvariantCulture
{
    public static string Format(Func<string> text)
    {
        var saved = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        try { return text(); }
        finally { CultureInfo.CurrentCulture = saved; }
    }
}
