using LlmNotebooks.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Attention;

/// <summary>
/// Boolean attention masks, <c>true</c> where a query may look at a key (PyTorch's convention for boolean masks).
/// Example: Causal(3) = [[T, F, F], [T, T, F], [T, T, T]]: token 2 sees tokens 0–2, token 0 only itself.
/// </summary>
public static class AttentionMasks
{
    /// <summary>(T, T) lower-triangular mask: no query sees a later key (used by decoders, which must not peek ahead).</summary>
    public static Tensor Causal(long length, Device? device = null)
    {
        if (length <= 0) throw new ArgumentOutOfRangeException(nameof(length), $"A mask needs a positive length, got {length}.");
        return ones(length, length, dtype: ScalarType.Bool, device: device).tril();
    }

    /// <summary>
    /// (B, 1, 1, S) mask hiding padding keys: sequence b has <c>lengths[b]</c> real tokens followed by padding.
    /// It broadcasts over heads and queries in (B, H, T, S) attention scores.
    /// </summary>
    public static Tensor Padding(IReadOnlyList<long> lengths, long maxLength, Device? device = null)
    {
        if (lengths.Any(l => l <= 0 || l > maxLength))
            throw new ArgumentOutOfRangeException(nameof(lengths), $"Every length must be in [1, {maxLength}], got [{string.Join(", ", lengths)}].");
        using var scope = NewDisposeScope();
        var positions = arange(maxLength, device: device).unsqueeze(0);                 // (1, S)
        var lens = tensor(lengths.ToArray(), device: device).unsqueeze(1);              // (B, 1)
        return (positions < lens).reshape(lengths.Count, 1, 1, maxLength).MoveToOuterDisposeScope();
    }

    /// <summary>Both masks at once (logical and), broadcast to a common shape.</summary>
    public static Tensor And(Tensor a, Tensor b) => a.logical_and(b);

    /// <summary>Checks that a mask is boolean and broadcasts to (B, H, T, S) attention scores.</summary>
    public static void RequireCompatible(Tensor mask, long[] scoresShape)
    {
        if (mask.dtype != ScalarType.Bool)
            throw new ArgumentException($"An attention mask must be boolean (true = may attend), got {mask.dtype}. Build one with AttentionMasks.Causal or .Padding.", nameof(mask));
        var m = mask.shape;
        if (m.Length > scoresShape.Length)
            throw new ArgumentException($"The mask {ShapeGuard.Format(m)} has more axes than the attention scores {ShapeGuard.Format(scoresShape)}.", nameof(mask));
        for (int i = 1; i <= m.Length; i++)
            if (m[^i] != 1 && m[^i] != scoresShape[^i])
                throw new ArgumentException(
                    $"The mask {ShapeGuard.Format(m)} does not broadcast to the attention scores {ShapeGuard.Format(scoresShape)} (B, H, T, S): " +
                    $"axis {m.Length - i} is {m[^i]}, expected 1 or {scoresShape[^i]}.", nameof(mask));
    }

    /// <summary>
    /// Refuses a mask under which some query may attend to no key at all. Softmax over a row of −∞ scores is 0/0, so
    /// attention would give that query a NaN output, silently, and the NaN would spread through every later layer and
    /// the loss. Cost: one reduction over the mask's own shape (before it is broadcast to the scores), and a second over
    /// its (…, T) result. The message names the first such query: its batch, head and row in the (B, H, T, S) scores
    /// ("every" for an axis the mask broadcasts over).
    /// </summary>
    /// <param name="mask">A boolean mask (true = may attend) that broadcasts to <paramref name="scoresShape"/> (<see cref="RequireCompatible"/>).</param>
    /// <param name="scoresShape">The attention scores' shape, (…, T, S), usually (B, H, T, S).</param>
    /// <exception cref="ArgumentException">A query row with every key masked.</exception>
    public static void RequireEveryQuerySeesAKey(Tensor mask, long[] scoresShape)
    {
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(scoresShape);
        using var scope = NewDisposeScope();
        var seesAKey = mask.any(-1);                                                  // (…, T) of the mask's own shape
        if (seesAKey.all().item<bool>()) return;
        long[] first = seesAKey.logical_not().nonzero()[0].data<long>().ToArray();  // the first blind query, in the mask's axes
        throw new ArgumentException(
            $"The attention mask {ShapeGuard.Format(mask.shape)} hides every key from {DescribeQuery(first, mask.shape, scoresShape)} of the scores " +
            $"{ShapeGuard.Format(scoresShape)} (the first such query): softmax over no keys is 0/0, so its output would be NaN. Let every query see at least one " +
            "key: a causal mask lets each token see itself; for padding, hide the padded keys (AttentionMasks.Padding) and ignore the padded queries' outputs " +
            "in the loss instead of masking their whole row.", nameof(mask));
    }

    /// <summary>"batch 1, head 0, query row 2" for a position in the mask's axes (without its key axis), "every head" where the mask broadcasts.</summary>
    static string DescribeQuery(long[] position, long[] maskShape, long[] scoresShape)
    {
        int queryAxes = scoresShape.Length - 1, offset = queryAxes - position.Length;
        string[] names = queryAxes switch
        {
            3 => ["batch", "head", "query row"],
            2 => ["batch", "query row"],
            1 => ["query row"],
            _ => [.. Enumerable.Range(0, queryAxes - 1).Select(a => $"axis {a}"), "query row"],
        };
        return string.Join(", ", Enumerable.Range(0, queryAxes).Select(a =>
        {
            int m = a - offset;                                                         // the mask's axis for score axis a, if it has one
            bool broadcast = m < 0 || (maskShape[m] == 1 && scoresShape[a] != 1);
            return broadcast ? $"every {names[a]}" : $"{names[a]} {position[m]}";
        }));
    }
}
