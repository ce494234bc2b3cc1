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
}
