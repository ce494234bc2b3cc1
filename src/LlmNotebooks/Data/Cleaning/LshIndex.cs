namespace LlmNotebooks.Data.Cleaning;

/// <summary>
/// Locality-sensitive hashing over MinHash signatures ("banding"): the signature is cut into b bands of r rows and
/// each band is hashed into a bucket. Two documents become candidates when any band lands in the same bucket, which
/// happens with probability 1 − (1 − J^r)^b: an S-curve that is near 1 above the threshold (1/b)^(1/r) and small
/// below it. Only candidates are compared, instead of every pair.
/// </summary>
internal sealed class LshIndex(int bands, int rows)
{
    readonly Dictionary<ulong, List<int>>[] _buckets = Enumerable.Range(0, bands).Select(_ => new Dictionary<ulong, List<int>>()).ToArray();

    ulong Key(ulong[] signature, int band)
    {
        ulong key = (ulong)band;
        for (int r = 0; r < rows; r++) key = MinHash.Mix(key ^ signature[band * rows + r]);
        return key;
    }

    /// <summary>The ids of earlier documents sharing at least one band with <paramref name="signature"/>, in increasing order.</summary>
    public List<int> Candidates(ulong[] signature)
    {
        var found = new HashSet<int>();
        for (int b = 0; b < bands; b++)
            if (_buckets[b].TryGetValue(Key(signature, b), out var list)) found.UnionWith(list);
        var sorted = found.ToList();
        sorted.Sort();
        return sorted;
    }

    public void Add(int id, ulong[] signature)
    {
        for (int b = 0; b < bands; b++)
        {
            ulong key = Key(signature, b);
            if (!_buckets[b].TryGetValue(key, out var list)) _buckets[b][key] = list = [];
            list.Add(id);
        }
    }
}
