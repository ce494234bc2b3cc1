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
    internal static readonly double[] KindShares = [0.40, 0.45, 0.15];        // encyclopedia, story, school of magic
    internal static readonly double[] EntryShares = [0.36, 0.05, 0.17, 0.42]; // town, river, creature, person
    /// <summary>Clean documents are redrawn when their estimated word-3-shingle Jaccard with an earlier one reaches this.</summary>
    internal const double GeneratorMaxJaccard = 0.5;
    const int GeneratorHashes = 48;
    /// <summary>How many clean documents the last <see cref="Generate"/> on this thread drew again (repeats of earlier ones).</summary>
    [ThreadStatic] internal static int Redrawn;
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
        var lsh = new Cleaning.LshIndex(GeneratorHashes / 2, 2);
        var signatures = new List<ulong[]>();   // per clean document, in order
        Redrawn = 0;
        long cleanBytes = 0;
        while (cleanBytes < TargetCleanBytes)
        {
            int id = docs.Count;
            if (docs.Count >= 20 && s.NextDouble() < DirtShare)
            {
                docs.Add(Dirt(id));
                continue;
            }
            // The plan (language, kind, and for magic stories the object taken) is drawn once; its probabilities are
            // exact. A clean document that repeats or nearly repeats an earlier one would be a duplicate nobody labelled,
            // and templates make near repeats likely (two magic lessons that differ only in the student's name), so the
            // rest of the document is drawn again, under the same plan (so the plan's shares, like wand 0.78, stay exact).
            // This makes a kept text slightly more likely than its recorded Nats says, by 1 / (1 − r) for a redraw rate r
            // (about 13% with the default seed): Nats over-states it by about −ln(1 − r) ≈ 0.14 nats, under 1% of the
            // 20-30 nats of a document.
            s.Nats = 0;
            bool ru = s.Weighted(LanguageShares) == 1;
            int kind = s.Weighted(KindShares);
            var plan = (Ru: ru, Kind: kind, Entry: kind == 0 ? s.Weighted(EntryShares) : -1, Thing: kind == 2 ? s.Weighted(TookThe.Select(w => w.Probability).ToArray()) : -1);
            double planNats = s.Nats;
            string text;
            ulong[] signature;
            for (int attempt = 1; ; attempt++)
            {
                if (attempt > 1000) throw new InvalidOperationException($"TinyWorld found no new document for plan {plan} in 1000 attempts: the templates are too few for the corpus size.");
                s.Nats = planNats;
                text = WriteClean(plan.Ru, plan.Kind, plan.Entry, plan.Thing);
                signature = Cleaning.MinHash.Signature(text, GeneratorHashes, Cleaning.MinHash.DefaultShingleSize, seed);
                if (seen.Add(text) && !lsh.Candidates(signature).Any(c => Cleaning.MinHash.EstimatedJaccard(signature, signatures[c]) >= GeneratorMaxJaccard)) break;
                Redrawn++;
            }
            lsh.Add(signatures.Count, signature);
            signatures.Add(signature);
            var doc = new CorpusDocument(id, text, DocumentLabel.Clean, plan.Ru ? "ru" : "en", null, s.Nats);
            docs.Add(doc);
            clean.Add(doc);
            cleanBytes += Encoding.UTF8.GetByteCount(text);
        }
        return docs;

        string WriteClean(bool ru, int kind, int entry, int thing)
        {
            switch (kind)
            {
                case 0:
                    return entry switch
                    {
                        0 => s.Pick(cast.Towns) is var t && ru ? russian.TownEntry(t) : english.TownEntry(t),
                        1 => s.Pick(cast.Rivers) is var r && ru ? russian.RiverEntry(r) : english.RiverEntry(r),
                        2 => s.Pick(cast.Creatures) is var c && ru ? russian.CreatureEntry(c) : english.CreatureEntry(c),
                        _ => s.Pick(cast.People) is var p && ru ? russian.PersonEntry(p) : english.PersonEntry(p),
                    };
                case 1:
                    return ru ? russian.Story() : english.Story();
                default:
                    var student = s.Pick(cast.Students);
                    var teacher = s.Pick(cast.Teachers);
                    return ru ? russian.MagicStory(thing, student, teacher) : english.MagicStory(thing, student, teacher);
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
