using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using LlmNotebooks.Platform;

namespace LlmNotebooks.Tokenization;

/// <summary>
/// A byte-level byte-pair-encoding tokenizer, trained from scratch (the scheme of GPT-2 and its successors).
/// Ids 0–255 are the raw bytes of UTF-8 text, so any text can be encoded; training repeatedly takes the most frequent
/// pair of adjacent tokens and makes it a new token (id 256, 257, …); special tokens (e.g. "&lt;|endoftext|&gt;") come
/// after the merges. Text is first split into word-like chunks (GPT-2's pattern) and merges never cross a chunk.
/// Example: trained on "aaabdaaabac" the first merges are (a, a) → 256, (a, b) → 257, (256, 257) → 258, so
/// Encode("aaabdaaabac") = [258, 100, 258, 97, 99] after three merges.
/// </summary>
public sealed partial class BpeTokenizer : ITokenizer
{
    const string FormatHeader = "llmnb-bpe 2", LegacyHeader = "llmnb-bpe 1", EndLine = "end";

    readonly (int Left, int Right)[] _merges;
    readonly Dictionary<(int, int), int> _rank;          // pair → the id it merges into
    readonly byte[][] _bytes;                            // id → the bytes it stands for
    readonly Dictionary<string, int> _special;
    readonly Regex? _specialSplit;
    readonly Dictionary<string, int[]> _cache = new();

    /// <summary>The merges in the order they were learned; merge i creates id 256 + i.</summary>
    public IReadOnlyList<(int Left, int Right)> Merges => _merges;

    /// <summary>Special tokens and their ids (after all merges).</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens => _special;

    public int VocabSize => 256 + _merges.Length + _special.Count;

    BpeTokenizer((int, int)[] merges, IEnumerable<string> specials)
    {
        _merges = merges;
        _rank = new Dictionary<(int, int), int>();
        _bytes = new byte[256 + merges.Length][];
        for (int b = 0; b < 256; b++) _bytes[b] = [(byte)b];
        for (int i = 0; i < merges.Length; i++)
        {
            var (l, r) = merges[i];
            if (l < 0 || r < 0 || l >= 256 + i || r >= 256 + i)
                throw new InvalidDataException($"Merge {i} ({l}, {r}) refers to a token that does not exist yet (ids must be below {256 + i}).");
            _rank[(l, r)] = 256 + i;
            _bytes[256 + i] = [.. _bytes[l], .. _bytes[r]];
        }
        _special = specials.Select((s, i) => (s, id: 256 + merges.Length + i)).ToDictionary(p => p.s, p => p.id);
        if (_special.Count > 0)
            _specialSplit = new Regex("(" + string.Join("|", _special.Keys.OrderByDescending(s => s.Length).Select(Regex.Escape)) + ")");
    }

    /// <summary>GPT-2's pre-tokenisation: contractions, words with their leading space, numbers, punctuation, spaces.</summary>
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    internal static partial Regex Chunks();

    /// <summary>
    /// The words BPE learns from, in order: the text cut at every special token (which is never merged with anything),
    /// then each part cut by GPT-2's pattern, so that a word keeps the space before it and no merge joins the end of one
    /// word to the start of the next. "Hi there&lt;|endoftext|&gt;Bye" with that special token gives "Hi", " there", "Bye".
    /// </summary>
    public static IReadOnlyList<string> TrainingChunks(string text, IEnumerable<string>? specialTokens = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var specials = (specialTokens ?? []).Distinct().ToArray();
        var parts = specials.Length == 0 ? [text] : new BpeTokenizer([], specials)._specialSplit!.Split(text).Where(p => !specials.Contains(p));
        return parts.SelectMany(part => Chunks().Matches(part).Select(m => m.Value)).ToList();
    }

    /// <summary>
    /// Learns merges from <paramref name="text"/> until the vocabulary (bytes + merges + special tokens) reaches
    /// <paramref name="vocabSize"/> or no adjacent pair is left. Pair counts are updated incrementally: after a
    /// merge only the chunks that contained the pair are recounted. Ties go to the smallest (left, right) pair, so
    /// training is deterministic. <paramref name="onMerge"/> sees each merge (new id, pair, its count) as it is made.
    /// </summary>
    public static BpeTokenizer Train(string text, int vocabSize, IEnumerable<string>? specialTokens = null, Action<int, (int Left, int Right), long>? onMerge = null)
    {
        var specials = (specialTokens ?? []).Distinct().ToArray();
        if (vocabSize < 256 + specials.Length)
            throw new ArgumentOutOfRangeException(nameof(vocabSize), $"The vocabulary needs at least 256 byte tokens plus {specials.Length} special tokens; got {vocabSize}.");

        // Each distinct chunk once, with how often it occurs.
        var chunkCounts = new Dictionary<string, long>();
        foreach (var chunk in TrainingChunks(text, specials))
            chunkCounts[chunk] = chunkCounts.GetValueOrDefault(chunk) + 1;
        var words = chunkCounts.Keys.Order(StringComparer.Ordinal).Select(w => Encoding.UTF8.GetBytes(w).Select(b => (int)b).ToList()).ToList();
        var counts = chunkCounts.Keys.Order(StringComparer.Ordinal).Select(w => chunkCounts[w]).ToArray();

        var pairCounts = new Dictionary<(int, int), long>();
        var where = new Dictionary<(int, int), HashSet<int>>();
        void Count(int w, int sign)
        {
            var s = words[w];
            for (int i = 0; i + 1 < s.Count; i++)
            {
                var p = (s[i], s[i + 1]);
                pairCounts[p] = pairCounts.GetValueOrDefault(p) + sign * counts[w];
                if (sign > 0) (where.TryGetValue(p, out var set) ? set : where[p] = []).Add(w);
            }
        }
        for (int w = 0; w < words.Count; w++) Count(w, +1);

        // Most frequent pair first, then the smallest pair: a max-heap with lazy deletion of stale counts.
        var queue = new PriorityQueue<(int, int), (long, int, int)>();
        foreach (var (p, c) in pairCounts) queue.Enqueue(p, (-c, p.Item1, p.Item2));

        var merges = new List<(int, int)>();
        int target = vocabSize - specials.Length;
        while (256 + merges.Count < target && queue.TryDequeue(out var pair, out var priority))
        {
            long current = pairCounts.GetValueOrDefault(pair);
            if (current <= 0 || current != -priority.Item1) continue;      // stale entry
            int id = 256 + merges.Count;
            merges.Add(pair);
            onMerge?.Invoke(id, pair, current);

            var touched = new HashSet<(int, int)>();
            foreach (int w in where[pair].ToArray())
            {
                var s = words[w];
                if (!ContainsPair(s, pair)) continue;
                for (int i = 0; i + 1 < s.Count; i++) touched.Add((s[i], s[i + 1]));
                Count(w, -1);
                words[w] = MergePair(s, pair, id);
                Count(w, +1);
                var n = words[w];
                for (int i = 0; i + 1 < n.Count; i++) touched.Add((n[i], n[i + 1]));
            }
            pairCounts.Remove(pair);
            foreach (var p in touched)
                if (pairCounts.TryGetValue(p, out long c) && c > 0) queue.Enqueue(p, (-c, p.Item1, p.Item2));
        }
        return new BpeTokenizer([.. merges], specials);
    }

    /// <summary>
    /// The same tokenizer with a smaller vocabulary: BPE merges are learned in order, so the first
    /// <c>vocabSize − 256 − specials</c> merges are exactly what training to <paramref name="vocabSize"/> would learn.
    /// </summary>
    public BpeTokenizer Truncate(int vocabSize)
    {
        int merges = vocabSize - 256 - _special.Count;
        if (merges < 0 || merges > _merges.Length)
            throw new ArgumentOutOfRangeException(nameof(vocabSize), $"Expected a vocabulary between {256 + _special.Count} and {VocabSize}, got {vocabSize}.");
        return new BpeTokenizer(_merges[..merges], _special.OrderBy(p => p.Value).Select(p => p.Key));
    }

    /// <summary>
    /// The same tokenizer with more special tokens, appended after the existing ones: every id it had keeps its meaning
    /// (bytes, merges and earlier special tokens), so a model trained with it still reads the same ids, and the new
    /// tokens get the next ids, VocabSize, VocabSize + 1, … (a model needs that many new embedding rows). Tokens it
    /// already has are kept where they are and not added twice. Special tokens are never split: "[INST]" in a text given to
    /// <see cref="Encode"/> is one id, however the merges would have cut it (<see cref="EncodeOrdinary"/>, the path for
    /// user text, reads it as ordinary characters). Example: the chat template of chapter 5,
    /// <c>tokenizer.WithSpecialTokens(["&lt;s&gt;", "[INST]", "[/INST]", "&lt;/s&gt;", "&lt;pad&gt;"])</c>.
    /// </summary>
    /// <exception cref="ArgumentException">An empty token.</exception>
    public BpeTokenizer WithSpecialTokens(IEnumerable<string> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var added = new List<string>();
        foreach (var t in tokens)
        {
            if (string.IsNullOrEmpty(t)) throw new ArgumentException("A special token must be a non-empty string such as \"<pad>\".", nameof(tokens));
            if (!_special.ContainsKey(t) && !added.Contains(t)) added.Add(t);
        }
        return new BpeTokenizer(_merges, [.. _special.OrderBy(p => p.Value).Select(p => p.Key), .. added]);
    }

    static bool ContainsPair(List<int> s, (int, int) pair)
    {
        for (int i = 0; i + 1 < s.Count; i++) if (s[i] == pair.Item1 && s[i + 1] == pair.Item2) return true;
        return false;
    }

    /// <summary>Replaces every occurrence of the pair, left to right: [a, a, a], (a, a) → [x, a].</summary>
    static List<int> MergePair(List<int> s, (int, int) pair, int id)
    {
        var result = new List<int>(s.Count);
        for (int i = 0; i < s.Count; i++)
        {
            if (i + 1 < s.Count && s[i] == pair.Item1 && s[i + 1] == pair.Item2) { result.Add(id); i++; }
            else result.Add(s[i]);
        }
        return result;
    }

    /// <summary>
    /// The ids of text the program put together: a special token's spelling in it becomes that special token's id
    /// ("a&lt;|endoftext|&gt;b" → a, the end-of-text id, b), so a corpus whose documents are joined with
    /// "&lt;|endoftext|&gt;" is read with its separators. <b>Not for text a user typed</b>: use <see cref="EncodeOrdinary"/>,
    /// where "[/INST]" or "&lt;|endoftext|&gt;" inside a question stays text.
    /// </summary>
    /// <exception cref="ArgumentException">The text is not valid UTF-16 (the message names the position of the lone surrogate).</exception>
    public IReadOnlyList<int> Encode(string text)
    {
        Guard.ValidUtf16(text, nameof(text));
        if (_specialSplit is null) return EncodeText(text);
        var ids = new List<int>();
        foreach (string part in _specialSplit.Split(text))
        {
            if (part.Length == 0) continue;
            if (_special.TryGetValue(part, out int sid)) ids.Add(sid);
            else ids.AddRange(EncodeText(part));
        }
        return ids;
    }

    /// <summary>
    /// The ids of <paramref name="text"/> as ordinary text, never a special token: a special token's spelling inside it
    /// is encoded from its bytes like any other characters ("[/INST]" typed in a question becomes the pieces
    /// "[", "/", "INST", "]" or whatever the merges make of them, not the template's marker). The path for everything a
    /// user typed; the code that builds a sequence adds the special ids itself. Equal to <see cref="Encode"/> for text
    /// that contains no special token's spelling.
    /// </summary>
    /// <exception cref="ArgumentException">The text is not valid UTF-16 (the message names the position of the lone surrogate).</exception>
    public IReadOnlyList<int> EncodeOrdinary(string text)
    {
        Guard.ValidUtf16(text, nameof(text));
        return EncodeText(text);
    }

    /// <summary>Text with no special tokens: GPT-2's chunks, each merged.</summary>
    List<int> EncodeText(string text)
    {
        var ids = new List<int>();
        foreach (Match m in Chunks().Matches(text)) ids.AddRange(EncodeChunk(m.Value));
        return ids;
    }

    /// <summary>Applies the learned merges to one chunk, always the earliest-learned merge present first.</summary>
    int[] EncodeChunk(string chunk)
    {
        if (_cache.TryGetValue(chunk, out var cached)) return cached;
        var s = Encoding.UTF8.GetBytes(chunk).Select(b => (int)b).ToList();
        while (s.Count > 1)
        {
            int best = int.MaxValue;
            (int, int) bestPair = default;
            for (int i = 0; i + 1 < s.Count; i++)
                if (_rank.TryGetValue((s[i], s[i + 1]), out int id) && id < best) { best = id; bestPair = (s[i], s[i + 1]); }
            if (best == int.MaxValue) break;
            s = MergePair(s, bestPair, best);
        }
        var result = s.ToArray();
        if (_cache.Count < 100_000) _cache[chunk] = result;
        return result;
    }

    /// <summary>The text of <paramref name="ids"/>, special tokens written out as their spelling.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        var text = new StringBuilder();
        foreach (int id in ids)
        {
            if (id >= 0 && id < _bytes.Length) { bytes.AddRange(_bytes[id]); continue; }
            var special = _special.FirstOrDefault(p => p.Value == id).Key
                ?? throw new ArgumentOutOfRangeException(nameof(ids), $"Token id {id} is outside the vocabulary [0, {VocabSize - 1}].");
            text.Append(Encoding.UTF8.GetString(bytes.ToArray())).Append(special);
            bytes.Clear();
        }
        return text.Append(Encoding.UTF8.GetString(bytes.ToArray())).ToString();
    }

    /// <summary>The bytes a (non-special) token stands for.</summary>
    public IReadOnlyList<byte> TokenBytes(int id) =>
        id >= 0 && id < _bytes.Length ? _bytes[id] : throw new ArgumentOutOfRangeException(nameof(id), $"Token id {id} is not a byte or merge token (0 … {_bytes.Length - 1}).");

    /// <summary>A token as readable text (bytes that are not complete UTF-8 show as �), for tables of merges.</summary>
    public string TokenText(int id)
    {
        if (id < 0 || id >= VocabSize)
            throw new ArgumentOutOfRangeException(nameof(id), $"Token id {id} is outside this tokenizer's vocabulary [0, {VocabSize - 1}] (256 bytes, {_merges.Length} merges, {_special.Count} special tokens).");
        return id < _bytes.Length ? Encoding.UTF8.GetString(_bytes[id]) : _special.First(p => p.Value == id).Key;
    }

    /// <summary>
    /// Saves the tokenizer as text, atomically (<see cref="AtomicFile"/>). Format:
    /// <code>
    /// llmnb-bpe 2
    /// merges 1791 specials 1          the counts, so a shortened file is noticed
    /// merge 32 116                    one line per merge, in order: merge i creates id 256 + i
    /// …
    /// special 2047 "&lt;|endoftext|&gt;"    one line per special token: its id and its text as a JSON string
    /// end                             the last line: a file cut anywhere before it is refused
    /// </code>
    /// </summary>
    public void Save(string path)
    {
        var sb = new StringBuilder().Append(FormatHeader).Append('\n');
        sb.Append(CultureInfo.InvariantCulture, $"merges {_merges.Length} specials {_special.Count}\n");
        foreach (var (l, r) in _merges) sb.Append(CultureInfo.InvariantCulture, $"merge {l} {r}\n");
        foreach (var (s, id) in _special.OrderBy(p => p.Value)) sb.Append(CultureInfo.InvariantCulture, $"special {id} {JsonSerializer.Serialize(s)}\n");
        sb.Append(EndLine).Append('\n');
        AtomicFile.WriteText(path, sb.ToString());
    }

    /// <summary>
    /// Loads a tokenizer saved by <see cref="Save"/>, checking every line, the counts and the end line, so a file cut
    /// short (at a line or inside a number) is refused rather than loaded as a different tokenizer. Files of the
    /// older format "llmnb-bpe 1" (no counts, no end line) still load when they end with a complete line, but their
    /// completeness cannot be checked: load and <see cref="Save"/> one again to get the checked format.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at the path.</exception>
    /// <exception cref="InvalidDataException">Not this format, or incomplete; the message names the line.</exception>
    public static BpeTokenizer Load(string path)
    {
        if (Directory.Exists(path)) throw new FileNotFoundException($"{Path.GetFullPath(path)} is a folder, not a tokenizer file.", path);
        if (!File.Exists(path)) throw new FileNotFoundException($"No tokenizer file at {Path.GetFullPath(path)}.", path);
        string text;
        try { text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(File.ReadAllBytes(path)); }
        catch (DecoderFallbackException) { throw new InvalidDataException($"{path}: not a course BPE tokenizer file (it is not UTF-8 text)."); }
        var lines = text.Split('\n');
        bool legacy = lines[0] == LegacyHeader;
        if (lines[0] != FormatHeader && !legacy)
            throw new InvalidDataException($"{path}: not a course BPE tokenizer file (the first line must be \"{FormatHeader}\").");
        if (lines[^1] != "")
            throw new InvalidDataException($"{path}: the file ends in the middle of line {lines.Length} (\"{lines[^1]}\"): it was cut short. Save the tokenizer again.");
        lines = lines[..^1];                                                  // the empty piece after the final newline

        int first = 1, merged = -1, special = -1;
        if (!legacy)
        {
            var counts = lines.Length > 1 ? lines[1].Split(' ') : [];
            if (counts is not ["merges", var m, "specials", var sp] || !TryCount(m, out merged) || !TryCount(sp, out special))
                throw new InvalidDataException($"{path}, line 2: expected \"merges COUNT specials COUNT\", got \"{(lines.Length > 1 ? lines[1] : "")}\".");
            if (lines[^1] != EndLine)
                throw new InvalidDataException($"{path}: no \"{EndLine}\" line after {lines.Length} lines: the file was cut short (or written by something else). Save the tokenizer again.");
            first = 2;
            lines = lines[..^1];
        }
        var merges = new List<(int, int)>();
        var specials = new List<string>();
        for (int n = first; n < lines.Length; n++)
        {
            var parts = lines[n].Split(' ', 3);
            if (parts is ["merge", var l, var r] && specials.Count == 0 && TryCount(l, out int left) && TryCount(r, out int right))
                merges.Add((left, right));
            else if (parts is ["special", var id, var json] && TryCount(id, out int sid) && sid == 256 + merges.Count + specials.Count && TryJson(json) is { } s)
                specials.Add(s);
            else if (!(legacy && lines[n].Length == 0))
                throw new InvalidDataException($"{path}, line {n + 1}: expected \"merge LEFT RIGHT\" or \"special ID \\\"TEXT\\\"\" (ids in order), got \"{lines[n]}\".");
        }
        if (!legacy && (merges.Count != merged || specials.Count != special))
            throw new InvalidDataException($"{path}: line 2 promises {merged} merges and {special} special tokens, the file holds {merges.Count} and {specials.Count}.");
        try { return new BpeTokenizer([.. merges], specials); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}"); }
    }

    /// <summary>A non-negative decimal integer written with digits only (no sign, no spaces).</summary>
    static bool TryCount(string s, out int value) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    static string? TryJson(string json)
    {
        try { return JsonSerializer.Deserialize<string>(json); }
        catch (JsonException) { return null; }
    }
}
