using System.Text.RegularExpressions;

namespace LlmNotebooks.Data.Cleaning;

/// <summary>
/// Rules of thumb that catch text nobody wants a model to learn from, in the spirit of the C4 and Gopher filters:
/// each rule returns a reason ("mojibake: 3 × 'Ð'") or null. Cheap, readable, and wrong sometimes: their cost is
/// measured by precision (clean documents thrown away) and recall (dirt let through).
/// </summary>
public static partial class QualityHeuristics
{
    /// <summary>Documents with fewer words are dropped.</summary>
    public const int MinWords = 5;

    static readonly string[] BoilerplatePhrases =
    [
        "cookie", "subscribe", "newsletter", "all rights reserved", "click here", "privacy policy", "terms of use", "sign up",
        "free shipping", "order now", "leave a reply", "leave a comment", "share this:", "powered by", "like this:", "posted in",
        "next »", "« previous", "www.", "copyright ©",
        "подпишитесь", "рассылк", "все права защищены", "жми сюда", "скидки", "главная |",
    ];

    // Windows-1252 mojibake of UTF-8: lead bytes Ã (é → Ã©), Â, â€ (’ → â€™), Ð and Ñ (Cyrillic → Ð‘, Ñ€).
    [GeneratedRegex(@"[ÃÂ][\u0080-\u00BF€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]|â€|[ÐÑ][\u0080-\u00BF€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]")]
    private static partial Regex Cp1252Mojibake();

    // Windows-1251 mojibake of UTF-8 Cyrillic: every letter becomes Р or С plus a character from 0x80–0xBF ("Мира" → "РњРёСЂР°").
    [GeneratedRegex(@"[РС][ЂЃ‚ѓ„…†‡€‰Љ‹ЊЌЋЏђ‘’“”•–—™љ›њќћџ\u00A0ЎўЈ¤Ґ¦§Ё©Є«¬\u00AD®Ї°±Ііґµ¶·ё№є»јЅѕї]")]
    private static partial Regex Cp1251Mojibake();

    [GeneratedRegex(@"[!?>]{3,}")]
    private static partial Regex RepeatedPunctuation();

    [GeneratedRegex(@" [|»·] ")]
    private static partial Regex MenuSeparator();

    [GeneratedRegex(@"[#$%&*+=<>@^~{}\[\]\\/_|]")]
    private static partial Regex Symbol();

    [GeneratedRegex(@"\b(?=\w*\p{L})(?=\w*\d)\w+\b")]
    private static partial Regex LettersAndDigits();

    /// <summary>Why the document should go, or null if no rule objects. The rules, in order, are listed in the code.</summary>
    public static string? Check(string text)
    {
        int replacement = text.Count(c => c == '\uFFFD');
        if (replacement > 0) return $"encoding: {replacement} × U+FFFD (bytes that were not valid UTF-8)";
        int cp1252 = Cp1252Mojibake().Count(text);
        if (cp1252 > 0) return $"mojibake: {cp1252} Windows-1252 signatures such as \"{Cp1252Mojibake().Match(text).Value}\"";
        int cp1251 = Cp1251Mojibake().Count(text);
        if (cp1251 >= 2) return $"mojibake: {cp1251} Windows-1251 signatures such as \"{Cp1251Mojibake().Match(text).Value}\"";

        string lower = text.ToLowerInvariant();
        foreach (var phrase in BoilerplatePhrases)
            if (lower.Contains(phrase, StringComparison.Ordinal)) return $"boilerplate: \"{phrase}\"";
        if (RepeatedPunctuation().Match(text) is { Success: true } m) return $"spam: repeated punctuation \"{m.Value}\"";
        int separators = MenuSeparator().Count(text);
        if (separators >= 3) return $"navigation menu: {separators} separators";

        int symbols = Symbol().Count(text);
        if (symbols >= 4) return $"noise: {symbols} symbol characters";
        int mixed = LettersAndDigits().Count(text);
        if (mixed >= 3) return $"noise: {mixed} words mixing letters and digits";
        int nonSpace = text.Count(c => !char.IsWhiteSpace(c)), letters = text.Count(char.IsLetter);
        if (nonSpace > 0 && letters < 0.7 * nonSpace) return $"noise: only {letters * 100 / nonSpace}% letters";

        int words = MinHash.Words(text).Count;
        if (words < MinWords) return $"too short: {words} words";
        return null;
    }
}
