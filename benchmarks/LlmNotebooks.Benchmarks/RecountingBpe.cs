using System.Text;
using LlmNotebooks.Tokenization;

namespace LlmNotebooks.Benchmarks;

/// <summary>
/// The textbook BPE trainer that <see cref="BpeTokenizer.Train"/> improves on, kept here (not in the course library) as
/// the baseline the benchmark times and the tests compare against: before every merge, count every adjacent pair again
/// from scratch, over every chunk of the text (or, with <c>deduplicateChunks</c>, over each distinct chunk once, weighted
/// by how often it occurs). It learns exactly the same merges as the incremental trainer (same chunks, same tie-break:
/// the most frequent pair, then the smallest), but each merge costs a pass over the whole text. Chapter 4 writes the same
/// loop out in a cell. The test project compiles this file too, so there is one copy.
/// </summary>
public static class RecountingBpe
{
    /// <summary>The merges, in the order learned, for a vocabulary of <paramref name="vocabSize"/> (bytes + merges + special tokens).</summary>
    public static IReadOnlyList<(int Left, int Right)> Train(string text, int vocabSize, IEnumerable<string>? specialTokens = null, bool deduplicateChunks = false)
    {
        var specials = (specialTokens ?? []).Distinct().ToArray();
        if (vocabSize < 256 + specials.Length)
            throw new ArgumentOutOfRangeException(nameof(vocabSize), $"The vocabulary needs at least 256 byte tokens plus {specials.Length} special tokens; got {vocabSize}.");
        var chunks = BpeTokenizer.TrainingChunks(text, specials);
        var groups = deduplicateChunks
            ? chunks.GroupBy(c => c, StringComparer.Ordinal).Select(g => (Chunk: g.Key, Count: (long)g.Count())).ToList()
            : chunks.Select(c => (Chunk: c, Count: 1L)).ToList();
        var words = groups.Select(g => Encoding.UTF8.GetBytes(g.Chunk).Select(b => (int)b).ToList()).ToList();
        var counts = groups.Select(g => g.Count).ToArray();
        var merges = new List<(int, int)>();
        while (256 + merges.Count < vocabSize - specials.Length)
        {
            var pairs = new Dictionary<(int, int), long>();
            for (int w = 0; w < words.Count; w++)
                for (int i = 0; i + 1 < words[w].Count; i++)
                    pairs[(words[w][i], words[w][i + 1])] = pairs.GetValueOrDefault((words[w][i], words[w][i + 1])) + counts[w];
            if (pairs.Count == 0) break;
            var best = pairs.First();
            foreach (var p in pairs)
                if (p.Value > best.Value || (p.Value == best.Value && p.Key.CompareTo(best.Key) < 0)) best = p;
            int id = 256 + merges.Count;
            merges.Add(best.Key);
            for (int w = 0; w < words.Count; w++) words[w] = Merge(words[w], best.Key, id);
        }
        return merges;
    }

    /// <summary>Replaces every occurrence of the pair, left to right: [a, a, a], (a, a) → [x, a].</summary>
    static List<int> Merge(List<int> s, (int, int) pair, int id)
    {
        var result = new List<int>(s.Count);
        for (int i = 0; i < s.Count; i++)
        {
            if (i + 1 < s.Count && s[i] == pair.Item1 && s[i + 1] == pair.Item2) { result.Add(id); i++; }
            else result.Add(s[i]);
        }
        return result;
    }
}
