using System.Text;

namespace LlmNotebooks.Data;

/// <summary>
/// The course's own pretraining corpus: simple English (and about 15% Russian) about a small invented world, generated
/// from a seed, with realistic dirt mixed in and labelled. Nothing is downloaded, and the same seed gives the same
/// bytes on every machine (own PRNG, invariant culture, no hash-order dependence).
/// <list type="bullet">
/// <item>Clean documents: encyclopedia entries about towns, rivers, creatures and people whose facts never change from
/// one document to the next ("Brindle ... About 4,200 people live there."), TinyStories-like stories, and stories from
/// a school of magic where "&lt;Name&gt; took the" is followed by wand 0.78, broom 0.15, hat 0.04, cauldron 0.03.</item>
/// <item>Each clean document records its <see cref="CorpusDocument.Nats"/>: Σ −ln p over the generator's choices.
/// Total nats / total tokens is a floor under any model's loss on that text.</item>
/// <item>Dirt (about 18% of documents): exact and near duplicates of earlier documents, boilerplate and spam,
/// encoding garbage, wrong-language pages.</item>
/// </list>
/// Example: <c>var docs = TinyWorld.Generate(); docs.Count(d =&gt; d.Label == DocumentLabel.Clean)</c>.
/// </summary>
public static partial class TinyWorld
{
    /// <summary>Bump when a change to the generator changes its output (the committed files then need regenerating).</summary>
    public const int GeneratorVersion = 1;
    public const ulong DefaultSeed = 20_240_417;

    /// <summary>The generator stops once the clean documents hold this many UTF-8 bytes.</summary>
    internal const int TargetCleanBytes = 2_250_000;
    /// <summary>Probability that the next crawled document is dirt (after the first few).</summary>
    internal const double DirtShare = 0.18;
    internal static readonly double[] LanguageShares = [0.85, 0.15];          // en, ru
    internal static readonly double[] KindShares = [0.35, 0.45, 0.20];        // encyclopedia, story, school of magic
    internal static readonly double[] EntryShares = [0.30, 0.10, 0.30, 0.30]; // town, river, creature, person
    internal static readonly double[] DirtShares = [0.24, 0.26, 0.18, 0.16, 0.16]; // exact, near, boilerplate, encoding, language

    static readonly (string Word, double Probability)[] TookThe = [("wand", 0.78), ("broom", 0.15), ("hat", 0.04), ("cauldron", 0.03)];
    static readonly (string Word, double Probability)[] TookTheRussian = [("палочку", 0.78), ("метлу", 0.15), ("шапку", 0.04), ("котёл", 0.03)];
    static readonly string[] TookTheRussianPhrase = ["волшебную палочку", "метлу", "шапку", "котёл"];

    /// <summary>
    /// What the school-of-magic stories take, with its probability: "en" → wand 0.78, broom 0.15, hat 0.04,
    /// cauldron 0.03 (as in "Mira took the wand."); "ru" → палочку, метлу, шапку, котёл with the same probabilities
    /// (in the text: «Мира взяла волшебную палочку», so after «взял(а)» the next word is «волшебную» with p = 0.78).
    /// </summary>
    public static IReadOnlyList<(string Word, double Probability)> TookTheDistribution(string language) => language switch
    {
        "en" => TookThe,
        "ru" => TookTheRussian,
        _ => throw new ArgumentException($"TinyWorld writes \"en\" and \"ru\"; got \"{language}\".", nameof(language)),
    };

    /// <summary>
    /// Generates the corpus in crawl order: clean documents, and dirt made from the clean documents before it
    /// (so a duplicate always comes after its source). Takes about a second.
    /// </summary>
    public static IReadOnlyList<CorpusDocument> Generate(ulong seed = DefaultSeed)
    {
        var cast = BuildCast(seed);
        var s = new Scribe(seed);
        var english = new EnglishWriter(cast, s);
        var russian = new RussianWriter(cast, s);
        var dirt = new DirtWriter(cast, s, english);
        var docs = new List<CorpusDocument>();
        var clean = new List<CorpusDocument>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long cleanBytes = 0;
        while (cleanBytes < TargetCleanBytes)
        {
            int id = docs.Count;
            if (docs.Count >= 20 && s.NextDouble() < DirtShare)
            {
                docs.Add(Dirt(id));
                continue;
            }
            s.Nats = 0;
            var (text, language) = WriteClean();
            // Two identical clean documents would be a duplicate nobody labelled; with tens of nats per document this
            // (practically) never happens, but if it does the document is drawn again.
            if (!seen.Add(text)) continue;
            var doc = new CorpusDocument(id, text, DocumentLabel.Clean, language, null, s.Nats);
            docs.Add(doc);
            clean.Add(doc);
            cleanBytes += Encoding.UTF8.GetByteCount(text);
        }
        return docs;

        (string Text, string Language) WriteClean()
        {
            bool ru = s.Weighted(LanguageShares) == 1;
            switch (s.Weighted(KindShares))
            {
                case 0:
                    int entry = s.Weighted(EntryShares);
                    return entry switch
                    {
                        0 => s.Pick(cast.Towns) is var t && ru ? (russian.TownEntry(t), "ru") : (english.TownEntry(t), "en"),
                        1 => s.Pick(cast.Rivers) is var r && ru ? (russian.RiverEntry(r), "ru") : (english.RiverEntry(r), "en"),
                        2 => s.Pick(cast.Creatures) is var c && ru ? (russian.CreatureEntry(c), "ru") : (english.CreatureEntry(c), "en"),
                        _ => s.Pick(cast.People) is var p && ru ? (russian.PersonEntry(p), "ru") : (english.PersonEntry(p), "en"),
                    };
                case 1:
                    return ru ? (russian.Story(), "ru") : (english.Story(), "en");
                default:
                    int thing = s.Weighted(TookThe.Select(w => w.Probability).ToArray());
                    var student = s.Pick(cast.Students);
                    var teacher = s.Pick(cast.Teachers);
                    return ru ? (russian.MagicStory(thing, student, teacher), "ru") : (english.MagicStory(thing, student, teacher), "en");
            }
        }

        CorpusDocument Dirt(int id)
        {
            double nats = s.Nats;
            var kind = (DocumentLabel)(1 + s.Weighted(DirtShares));
            CorpusDocument result;
            switch (kind)
            {
                case DocumentLabel.ExactDuplicate:
                case DocumentLabel.NearDuplicate:
                    var source = clean[s.Below(clean.Count)];
                    string text = kind == DocumentLabel.ExactDuplicate ? source.Text : dirt.NearDuplicate(source);
                    result = new CorpusDocument(id, text, kind, source.Language, source.Id, 0);
                    break;
                case DocumentLabel.Boilerplate:
                    var (b, bl) = dirt.Boilerplate();
                    result = new CorpusDocument(id, b, kind, bl, null, 0);
                    break;
                case DocumentLabel.EncodingGarbage:
                    var (g, gl) = dirt.EncodingGarbage(clean);
                    result = new CorpusDocument(id, g, kind, gl, null, 0);
                    break;
                default:
                    var (w, wl) = dirt.WrongLanguage();
                    result = new CorpusDocument(id, w, kind, wl, null, 0);
                    break;
            }
            s.Nats = nats;
            return result;
        }
    }
}
