using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tensors;

/// <summary>
/// Shape checks with errors that say what was expected and what arrived.
/// Example: <c>ShapeGuard.Require(x, "x", "(B, T, C)", -1, 64, 128)</c> on a (2, 32, 128) tensor throws
/// "x: expected shape (B, T, C) = (*, 64, 128), got (2, 32, 128)."
/// </summary>
public static class ShapeGuard
{
    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="tensor"/> has the expected shape; -1 matches any size.</summary>
    public static void Require(Tensor tensor, string name, string? meaning, params long[] expected)
    {
        ArgumentNullException.ThrowIfNull(tensor, name);
        long[] actual = tensor.shape;
        bool ok = actual.Length == expected.Length && actual.Zip(expected).All(p => p.Second < 0 || p.First == p.Second);
        if (ok) return;
        string want = Format(expected);
        throw new ArgumentException(
            $"{name}: expected shape {(meaning is null ? want : $"{meaning} = {want}")}, got {Format(actual)}.", name);
    }

    /// <summary>
    /// Checks that <c>torch.matmul(a, b)</c> is defined: the last axis of <paramref name="a"/> must equal the
    /// second-to-last of <paramref name="b"/> (the last and only axis when b is a vector); batch axes must broadcast.
    /// TorchSharp 0.107's matmul aborts the process on a mismatch instead of throwing, so check first when unsure.
    /// </summary>
    public static void RequireMatMul(Tensor a, Tensor b, string aName = "a", string bName = "b")
    {
        ArgumentNullException.ThrowIfNull(a, aName);
        ArgumentNullException.ThrowIfNull(b, bName);
        if (a.dim() == 0 || b.dim() == 0)
            throw new ArgumentException($"matmul needs tensors of rank 1 or more; {aName} is {Format(a.shape)}, {bName} is {Format(b.shape)}.");
        long inner = a.shape[^1];
        long other = b.dim() == 1 ? b.shape[0] : b.shape[^2];
        if (inner != other)
            throw new ArgumentException(
                $"Cannot multiply {aName} {Format(a.shape)} by {bName} {Format(b.shape)}: {aName} has {inner} columns " +
                $"(last axis) but {bName} has {other} rows (its {(b.dim() == 1 ? "only" : "second-to-last")} axis). " +
                $"For (m×k)·(k×n) the two k must match; transpose or reshape one of them.");
        var batchA = a.dim() > 2 ? a.shape[..^2] : [];
        var batchB = b.dim() > 2 ? b.shape[..^2] : [];
        for (int i = 1; i <= Math.Min(batchA.Length, batchB.Length); i++)
        {
            long x = batchA[^i], y = batchB[^i];
            if (x != y && x != 1 && y != 1)
                throw new ArgumentException(
                    $"Cannot multiply {aName} {Format(a.shape)} by {bName} {Format(b.shape)}: batch axes {Format(batchA)} and {Format(batchB)} do not broadcast.");
        }
    }

    /// <summary>
    /// Checks a batch of token ids before a model embeds them: int64, shape (B, T) with 1 ≤ T ≤ <paramref name="maxLength"/>,
    /// every id in [0, <paramref name="vocabSize"/>). <paramref name="whatIsMaxLength"/> names the limit in the error,
    /// e.g. "the context window (BlockSize)".
    /// </summary>
    public static void RequireTokenIds(Tensor ids, string name, long vocabSize, long maxLength, string whatIsMaxLength = "the longest sequence this model handles")
    {
        ArgumentNullException.ThrowIfNull(ids, name);
        if (ids.dim() != 2)
            throw new ArgumentException($"Expected {name} as token ids of shape (B, T), got {Format(ids.shape)}.", name);
        if (ids.dtype != ScalarType.Int64)
            throw new ArgumentException($"Token ids ({name}) must be int64 (long), got {ids.dtype}.", name);
        if (ids.numel() == 0)
            throw new ArgumentException($"Expected at least one token in {name}, got shape {Format(ids.shape)}.", name);
        if (ids.shape[1] > maxLength)
            throw new ArgumentException($"The {name} has {ids.shape[1]} tokens but {whatIsMaxLength} is {maxLength}: crop it to the last {maxLength} tokens.", name);
        long lo = ids.min().item<long>(), hi = ids.max().item<long>();
        if (lo < 0 || hi >= vocabSize)
            throw new ArgumentException($"Token id {(lo < 0 ? lo : hi)} in {name} is outside the vocabulary [0, {vocabSize - 1}]: was the text encoded with a different tokenizer?", name);
    }

    /// <summary>Writes a shape the way the course prints it: (2, 3, 4); -1 is shown as *.</summary>
    public static string Format(IEnumerable<long> shape) => "(" + string.Join(", ", shape.Select(d => d < 0 ? "*" : d.ToString())) + ")";
}
