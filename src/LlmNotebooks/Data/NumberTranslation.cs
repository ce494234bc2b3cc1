using System.Globalization;
using Humanizer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Data;

/// <summary>
/// A small translation task the course generates itself: a number written in digits, with a language tag, into the
/// same number in words. Example: (&lt;ru&gt;, "1234") → "одна тысяча двести тридцать четыре";
/// (&lt;en&gt;, "21") → "twenty - one" (hyphens are tokens of their own). Humanizer writes the words.
/// Source tokens are characters, target tokens are words; id 0 is padding in both.
/// </summary>
public sealed class NumberTranslation
{
    public const string Pad = "<pad>", Bos = "<bos>", Eos = "<eos>";
    public static readonly IReadOnlyList<string> Languages = ["ru", "en"];

    readonly Dictionary<string, long> _sourceIds, _targetIds;

    public int MaxNumber { get; }
    public IReadOnlyList<string> SourceTokens { get; }
    public IReadOnlyList<string> TargetTokens { get; }
    public long BosId => _targetIds[Bos];
    public long EosId => _targetIds[Eos];
    /// <summary>Longest source: the language tag and the digits.</summary>
    public int MaxSourceLength { get; }
    /// <summary>Longest target: &lt;bos&gt;, the words, &lt;eos&gt;.</summary>
    public int MaxTargetLength { get; }

    public NumberTranslation(int maxNumber = 9999)
    {
        if (maxNumber is < 0 or > 999_999) throw new ArgumentOutOfRangeException(nameof(maxNumber), $"Expected 0 ≤ maxNumber ≤ 999999, got {maxNumber}.");
        MaxNumber = maxNumber;
        SourceTokens = [Pad, .. Languages.Select(l => $"<{l}>"), .. "0123456789".Select(c => c.ToString())];
        var words = Languages.SelectMany(l => Enumerable.Range(0, maxNumber + 1).SelectMany(n => Words(n, l))).Distinct().Order(StringComparer.Ordinal);
        TargetTokens = [Pad, Bos, Eos, .. words];
        _sourceIds = SourceTokens.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => (long)p.i);
        _targetIds = TargetTokens.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => (long)p.i);
        MaxSourceLength = 1 + maxNumber.ToString(CultureInfo.InvariantCulture).Length;
        MaxTargetLength = 2 + Languages.Max(l => Enumerable.Range(0, maxNumber + 1).Max(n => Words(n, l).Count));
    }

    /// <summary>The number in words, as target tokens: 21, "en" → ["twenty", "-", "one"].</summary>
    public static IReadOnlyList<string> Words(int number, string language)
    {
        if (!Languages.Contains(language)) throw new ArgumentException($"Unknown language '{language}'; expected one of {string.Join(", ", Languages)}.", nameof(language));
        return number.ToWords(new CultureInfo(language)).Replace("-", " - ").Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Joins target tokens back into text: ["twenty", "-", "one"] → "twenty-one".</summary>
    public static string Join(IEnumerable<string> words) => string.Join(" ", words).Replace(" - ", "-");

    /// <summary>A seeded split of 0..MaxNumber into training and held-out numbers.</summary>
    public (int[] Train, int[] Test) Split(int seed, double testFraction)
    {
        if (testFraction is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(testFraction), $"Expected a fraction in (0, 1), got {testFraction}.");
        var all = Enumerable.Range(0, MaxNumber + 1).ToArray();
        new Random(seed).Shuffle(all);
        int test = (int)Math.Round(all.Length * testFraction);
        return (all[test..].Order().ToArray(), all[..test].Order().ToArray());
    }

    public long[] EncodeSource(int number, string language)
    {
        if (number < 0 || number > MaxNumber) throw new ArgumentOutOfRangeException(nameof(number), $"Expected 0 ≤ number ≤ {MaxNumber}, got {number}.");
        return [_sourceIds[$"<{language}>"], .. number.ToString(CultureInfo.InvariantCulture).Select(c => _sourceIds[c.ToString()])];
    }

    public long[] EncodeTarget(int number, string language) => [BosId, .. Words(number, language).Select(w => _targetIds[w]), EosId];

    /// <summary>Target ids back to text, stopping at &lt;eos&gt;.</summary>
    public string DecodeTarget(IEnumerable<long> ids) =>
        Join(ids.TakeWhile(id => id != EosId).Where(id => id != BosId && id != 0).Select(id => TargetTokens[(int)id]));

    /// <summary>
    /// A padded batch: Source (B, S), TargetIn (B, T) = &lt;bos&gt; + words, TargetOut (B, T) = words + &lt;eos&gt;
    /// (the same sequence shifted by one: at every position the decoder predicts the next token).
    /// </summary>
    public (Tensor Source, Tensor TargetIn, Tensor TargetOut) Batch(IReadOnlyList<(int Number, string Language)> items)
    {
        var src = items.Select(i => EncodeSource(i.Number, i.Language)).ToArray();
        var tgt = items.Select(i => EncodeTarget(i.Number, i.Language)).ToArray();
        int S = src.Max(s => s.Length), T = tgt.Max(t => t.Length) - 1;
        var source = new long[items.Count * S];
        var tin = new long[items.Count * T];
        var tout = new long[items.Count * T];
        for (int b = 0; b < items.Count; b++)
        {
            src[b].CopyTo(source, b * S);
            Array.Copy(tgt[b], 0, tin, b * T, tgt[b].Length - 1);
            Array.Copy(tgt[b], 1, tout, b * T, tgt[b].Length - 1);
        }
        return (tensor(source).reshape(items.Count, S), tensor(tin).reshape(items.Count, T), tensor(tout).reshape(items.Count, T));
    }
}
