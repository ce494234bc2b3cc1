namespace LlmNotebooks.Data.Cleaning;

/// <summary>
/// A small hand-written language identifier: first the script (mostly Cyrillic → Russian, or Ukrainian if it has
/// і ї є ґ), then for Latin script a vote of stopwords and letters only some languages use. "The cat is on the mat"
/// → "en" (the, is, on, the); "Die Katze ist auf der Matte" → "de" (die, ist, auf, der). Text with no evidence → "unknown".
/// Real pipelines use a trained classifier (fastText lid.176 in CCNet and RefinedWeb); the idea is the same.
/// </summary>
public static class LanguageId
{
    public const string Unknown = "unknown";

    static readonly (string Language, HashSet<string> Stopwords, string Letters)[] Latin =
    [
        ("en", Set("the a an and is was of to in it he she his her on at with for that there they are were had by from its this went lives about people"), ""),
        ("de", Set("der die das und ist ein eine im am es nicht mit den dem des auf für von zu sich dort leben etwa gern oft viel stadt jeden wohnt arbeitet"), "äöüß"),
        ("es", Set("el la los las y es un una en de del que por con su al se muy allí unas viven mucho todos días pueblo junto"), "ñ¿¡áíóú"),
        ("fr", Set("le la les et est un une de des du en au aux il elle pour dans son sa y ont beaucoup souvent ville petite"), "çèêàœù"),
        ("pl", Set("i w na jest się z nie to do że tam około nad często dużo miasto mieszka"), "ąćęłńśźż"),
        ("it", Set("il la lo le e è un una di del della in sul ci per con molto città sono circa ogni piccola"), "àèìòù"),
        ("nl", Set("de het een en is van in er op aan om naar zijn haar veel vaak stad wonen werkt elke kleine"), ""),
    ];

    static HashSet<string> Set(string words) => new(words.Split(' '), StringComparer.Ordinal);

    /// <summary>"en", "ru", "uk", "de", "es", "fr", "pl", "it", "nl", or "unknown".</summary>
    public static string Detect(string text)
    {
        int cyrillic = 0, latin = 0;
        foreach (char c in text)
        {
            if (c is >= '\u0400' and <= '\u04FF') cyrillic++;
            else if (char.IsLetter(c) && c < '\u0250') latin++;
        }
        if (cyrillic + latin == 0) return Unknown;
        if (cyrillic > latin) return text.AsSpan().IndexOfAny("іїєґІЇЄҐ") >= 0 ? "uk" : "ru";

        var scores = new double[Latin.Length];
        foreach (var word in MinHash.Words(text))
            for (int l = 0; l < Latin.Length; l++)
                if (Latin[l].Stopwords.Contains(word)) scores[l] += 1;
        foreach (char c in text.ToLowerInvariant())
            for (int l = 0; l < Latin.Length; l++)
                if (Latin[l].Letters.Contains(c)) scores[l] += 0.5;
        int best = 0;
        for (int l = 1; l < Latin.Length; l++) if (scores[l] > scores[best]) best = l;
        return scores[best] > 0 ? Latin[best].Language : Unknown;
    }
}
