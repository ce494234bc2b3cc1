namespace LlmNotebooks.Data.Cleaning;

/// <summary>
/// MinHash (Broder 1997): a short signature of a document such that two signatures agree in about as many places as
/// the documents' shingle sets overlap. A document becomes the set of its word k-shingles ("the cat sat on" with k = 3
/// → {"the cat sat", "cat sat on"}); for each of n hash functions the signature keeps the smallest hash over the set.
/// Two sets share their minimum under a random hash with probability |A ∩ B| / |A ∪ B| (the Jaccard similarity), so the
/// fraction of equal signature entries estimates it, with standard error √(J(1 − J) / n) (≈ 0.04 for n = 128).
/// </summary>
public static class MinHash
{
    public const int DefaultHashes = 128;
    public const int DefaultShingleSize = 3;
    public const ulong DefaultSeed = 0x5EED_0F_4A11_5EEDUL;

    /// <summary>
    /// The words of a text, normalized: lower case, letters and digits only (punctuation and whitespace changes do not
    /// matter). "Hello, World!  It's 3 pm." → ["hello", "world", "it", "s", "3", "pm"].
    /// </summary>
    public static IReadOnlyList<string> Words(string text)
    {
        var words = new List<string>();
        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool inWord = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (inWord && start < 0) start = i;
            else if (!inWord && start >= 0)
            {
                words.Add(text[start..i].ToLowerInvariant());
                start = -1;
            }
        }
        return words;
    }

    /// <summary>The distinct word k-shingles of a text (a text shorter than k words is one shingle).</summary>
    public static IReadOnlySet<string> Shingles(string text, int shingleSize = DefaultShingleSize)
    {
        if (shingleSize < 1) throw new ArgumentOutOfRangeException(nameof(shingleSize), $"Expected a shingle size of at least 1 word, got {shingleSize}.");
        var words = Words(text);
        var set = new HashSet<string>(StringComparer.Ordinal);
        if (words.Count < shingleSize) { if (words.Count > 0) set.Add(string.Join(' ', words)); return set; }
        for (int i = 0; i + shingleSize <= words.Count; i++) set.Add(string.Join(' ', words.Skip(i).Take(shingleSize)));
        return set;
    }

    /// <summary>Exact Jaccard similarity of the two texts' shingle sets: |A ∩ B| / |A ∪ B| (1 for two empty texts).</summary>
    public static double Jaccard(string a, string b, int shingleSize = DefaultShingleSize)
    {
        var (x, y) = (Shingles(a, shingleSize), Shingles(b, shingleSize));
        int union = x.Union(y).Count();
        return union == 0 ? 1 : x.Intersect(y).Count() / (double)union;
    }

    /// <summary>SplitMix64's finalizer (<see cref="Hashes.SplitMix64"/>): every input bit reaches every output bit.</summary>
    internal static ulong Mix(ulong z) => Hashes.SplitMix64(z);

    /// <summary>The hash family: h_i(x) = Mix(x ⊕ salt_i), with the salts drawn from the seed (memoised per (hashes, seed)).</summary>
    static readonly System.Collections.Concurrent.ConcurrentDictionary<(int, ulong), ulong[]> SaltCache = new();

    static ulong[] Salts(int hashes, ulong seed) => SaltCache.GetOrAdd((hashes, seed), key => MakeSalts(key.Item1, key.Item2));

    static ulong[] MakeSalts(int hashes, ulong seed)
    {
        var salts = new ulong[hashes];
        for (int i = 0; i < hashes; i++) salts[i] = Mix(seed + (ulong)(i + 1) * Hashes.SplitMix64Increment);
        return salts;
    }

    /// <summary>
    /// The shingles as 64-bit hashes, without building strings: each word is hashed once (FNV-1a) and a shingle's hash
    /// chains its words' hashes through <see cref="Mix"/>. Distinct shingles get distinct hashes (up to 2^-64 collisions).
    /// </summary>
    internal static HashSet<ulong> ShingleHashes(string text, int shingleSize)
    {
        if (shingleSize < 1) throw new ArgumentOutOfRangeException(nameof(shingleSize), $"Expected a shingle size of at least 1 word, got {shingleSize}.");
        var words = Words(text).Select(Hashes.Fnv1a).ToArray();           // FNV-1a: stable across processes
        var set = new HashSet<ulong>();
        int k = Math.Min(shingleSize, words.Length);
        for (int i = 0; i + k <= words.Length && k > 0; i++)
        {
            ulong h = (ulong)k;
            for (int j = 0; j < k; j++) h = Mix(h ^ words[i + j]);
            set.Add(h);
        }
        return set;
    }

    /// <summary>
    /// The MinHash signature: for each of <paramref name="hashes"/> hash functions, the minimum over the text's shingles.
    /// A text without words gets all ulong.MaxValue.
    /// </summary>
    public static ulong[] Signature(string text, int hashes = DefaultHashes, int shingleSize = DefaultShingleSize, ulong seed = DefaultSeed)
    {
        if (hashes < 1) throw new ArgumentOutOfRangeException(nameof(hashes), $"Expected at least 1 hash function, got {hashes}.");
        var salts = Salts(hashes, seed);
        var signature = new ulong[hashes];
        Array.Fill(signature, ulong.MaxValue);
        foreach (ulong x in ShingleHashes(text, shingleSize))
            for (int i = 0; i < hashes; i++)
            {
                ulong h = Mix(x ^ salts[i]);
                if (h < signature[i]) signature[i] = h;
            }
        return signature;
    }

    /// <summary>The fraction of positions where two signatures agree: an estimate of the texts' Jaccard similarity.</summary>
    public static double EstimatedJaccard(ulong[] a, ulong[] b)
    {
        if (a.Length != b.Length || a.Length == 0)
            throw new ArgumentException($"Signatures must have the same, non-zero length (made with the same number of hashes); got {a.Length} and {b.Length}.");
        int same = 0;
        for (int i = 0; i < a.Length; i++) if (a[i] == b[i]) same++;
        return same / (double)a.Length;
    }
}
