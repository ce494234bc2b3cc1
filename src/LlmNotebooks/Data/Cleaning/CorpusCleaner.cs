using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace LlmNotebooks.Data.Cleaning;

/// <summary>
/// A pretraining-data cleaning pipeline in four stages, each teaching one idea, each run on what the previous left:
/// <list type="number">
/// <item><b>exact-dedup</b>: SHA-256 of the normalized text (lower case, whitespace collapsed); the first copy stays.</item>
/// <item><b>near-dedup</b>: <see cref="MinHash"/> signatures, LSH banding to find candidate pairs without comparing every
/// pair, then the estimated Jaccard similarity against <see cref="Threshold"/>; the first document of a group stays.</item>
/// <item><b>heuristics</b>: <see cref="QualityHeuristics"/> (encoding garbage, boilerplate, spam, noise, too short).</item>
/// <item><b>language</b>: <see cref="LanguageId"/> on the whole document and on each of its lines of 5+ words; anything
/// not in <see cref="AllowedLanguages"/> goes.</item>
/// </list>
/// Example: <c>var result = new CorpusCleaner().Clean(docs); result.Kept.Count</c>.
/// </summary>
public sealed class CorpusCleaner
{
    public const string ExactDedup = "exact-dedup", NearDedup = "near-dedup", Heuristics = "heuristics", Language = "language";
    public static readonly IReadOnlyList<string> Stages = [ExactDedup, NearDedup, Heuristics, Language];

    /// <summary>Words per shingle for MinHash.</summary>
    public int ShingleSize { get; init; } = MinHash.DefaultShingleSize;
    /// <summary>Hash functions per signature; must equal <see cref="Bands"/> × rows per band.</summary>
    public int Hashes { get; init; } = MinHash.DefaultHashes;
    /// <summary>
    /// LSH bands. With b bands of r rows, a pair with Jaccard J becomes a candidate with probability 1 − (1 − J^r)^b:
    /// 32 bands × 4 rows catch 99.9% of pairs at J = 0.7 and 20% at J = 0.3 (those are then rejected by the estimate).
    /// </summary>
    public int Bands { get; init; } = 32;
    /// <summary>Estimated Jaccard similarity at or above which a document is a near duplicate of an earlier one.</summary>
    public double Threshold { get; init; } = 0.7;
    /// <summary>Languages kept by the language stage.</summary>
    public IReadOnlyList<string> AllowedLanguages { get; init; } = ["en", "ru"];
    /// <summary>Seed of the MinHash hash family.</summary>
    public ulong Seed { get; init; } = MinHash.DefaultSeed;

    /// <summary>Runs the four stages over the documents (in crawl order) and says what was kept and why the rest went.</summary>
    public CleaningResult Clean(IReadOnlyList<string> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        if (Hashes % Bands != 0)
            throw new ArgumentException($"Hashes ({Hashes}) must be a multiple of Bands ({Bands}): each band takes Hashes / Bands rows of the signature.");
        var alive = Enumerable.Range(0, documents.Count).ToList();
        var removed = new List<Removal>();
        var times = new List<(string, TimeSpan)>();
        foreach (var stage in Stages)
        {
            var clock = Stopwatch.StartNew();
            var gone = stage switch
            {
                ExactDedup => ExactDuplicates(documents, alive),
                NearDedup => NearDuplicates(documents, alive),
                Heuristics => alive.Select(i => (i, reason: QualityHeuristics.Check(documents[i]))).Where(p => p.reason is not null)
                                   .Select(p => new Removal(p.i, Heuristics, p.reason!)).ToList(),
                _ => alive.Select(i => (i, reason: WrongLanguage(documents[i]))).Where(p => p.reason is not null)
                          .Select(p => new Removal(p.i, Language, p.reason!)).ToList(),
            };
            removed.AddRange(gone);
            var goneSet = gone.Select(r => r.Index).ToHashSet();
            alive = alive.Where(i => !goneSet.Contains(i)).ToList();
            times.Add((stage, clock.Elapsed));
        }
        return new CleaningResult(alive, removed.OrderBy(r => r.Index).ToList(), times);
    }

    /// <summary>Lower case, whitespace runs → one space, trimmed: "The  Cat\n" and "the cat" are the same text.</summary>
    public static string Normalize(string text) =>
        string.Join(' ', text.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    static List<Removal> ExactDuplicates(IReadOnlyList<string> docs, List<int> alive)
    {
        var first = new Dictionary<string, int>(StringComparer.Ordinal);
        var removed = new List<Removal>();
        foreach (int i in alive)
        {
            string hash = LlmNotebooks.Hashes.Sha256Hex(Normalize(docs[i]));
            if (first.TryGetValue(hash, out int earlier)) removed.Add(new Removal(i, ExactDedup, $"same normalized text as #{earlier} (SHA-256 {hash[..12]}…)", earlier));
            else first[hash] = i;
        }
        return removed;
    }

    List<Removal> NearDuplicates(IReadOnlyList<string> docs, List<int> alive)
    {
        var signatures = new ulong[docs.Count][];
        Parallel.ForEach(alive, i => signatures[i] = MinHash.Signature(docs[i], Hashes, ShingleSize, Seed));
        var index = new LshIndex(Bands, Hashes / Bands);
        var removed = new List<Removal>();
        foreach (int i in alive)
        {
            // The most similar earlier kept document at or above the threshold (ties: the earliest).
            int best = -1;
            double bestJ = 0;
            foreach (int c in index.Candidates(signatures[i]))
            {
                double j = MinHash.EstimatedJaccard(signatures[i], signatures[c]);
                if (j >= Threshold && j > bestJ) (best, bestJ) = (c, j);
            }
            if (best >= 0) removed.Add(new Removal(i, NearDedup, $"estimated Jaccard {bestJ:F2} with #{best}", best));
            else index.Add(i, signatures[i]);
        }
        return removed;
    }

    string? WrongLanguage(string text)
    {
        string language = LanguageId.Detect(text);
        if (!AllowedLanguages.Contains(language)) return $"language: {language}";
        var lines = text.Split('\n');
        for (int l = 0; l < lines.Length && lines.Length > 1; l++)
            if (MinHash.Words(lines[l]).Count >= 5 && LanguageId.Detect(lines[l]) is var lineLanguage && !AllowedLanguages.Contains(lineLanguage))
                return $"language: line {l + 1} is {lineLanguage}";
        return null;
    }
}
