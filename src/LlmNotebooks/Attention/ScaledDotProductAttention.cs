using LlmNotebooks.Tensors;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LlmNotebooks.Attention;

/// <summary>
/// softmax(Q Kᵀ / √d_k) V — written out step by step (<see cref="Compute"/>, which also returns the attention
/// weights), and TorchSharp's fused kernel (<see cref="Fused"/>, faster and lighter on memory, no weights).
/// Shapes: q (…, T, d_k), k (…, S, d_k), v (…, S, d_v) → output (…, T, d_v), weights (…, T, S);
/// "…" is usually (B, H). A boolean mask (true = may attend) broadcasts to (…, T, S); a mask that hides every key
/// from some query is refused (<see cref="AttentionMasks.RequireEveryQuerySeesAKey"/>), since that query's output
/// would be NaN.
/// </summary>
public static class ScaledDotProductAttention
{
    /// <summary>Attention written out: scores, scaling, masking, softmax, weighted sum of values.</summary>
    /// <exception cref="ArgumentException">Shapes that do not fit, or a mask that is not boolean, does not broadcast, or hides every key from a query (the message names its batch, head and row).</exception>
    public static (Tensor Output, Tensor Weights) Compute(Tensor q, Tensor k, Tensor v, Tensor? mask = null)
    {
        Validate(q, k, v, mask);
        using var scope = NewDisposeScope();
        double dk = q.shape[^1];
        var scores = q.matmul(k.transpose(-2, -1)) / Math.Sqrt(dk);       // (…, T, S): how well each query matches each key
        if (mask is not null) scores = scores.masked_fill(mask.logical_not(), double.NegativeInfinity);
        var weights = scores.softmax(-1);                                   // each row sums to 1
        var output = weights.matmul(v);                                     // (…, T, d_v): weighted sum of values
        return (output.MoveToOuterDisposeScope(), weights.MoveToOuterDisposeScope());
    }

    /// <summary>TorchSharp's fused scaled_dot_product_attention: same result, without materialising the weights.</summary>
    /// <exception cref="ArgumentException">As <see cref="Compute"/>, or both a mask and <paramref name="causal"/>.</exception>
    public static Tensor Fused(Tensor q, Tensor k, Tensor v, Tensor? mask = null, bool causal = false)
    {
        Validate(q, k, v, mask);
        if (causal && mask is not null)
            throw new ArgumentException("Pass either a mask or causal: true, not both (combine masks with AttentionMasks.And).");
        return F.scaled_dot_product_attention(q, k, v, attn_mask: mask, p: 0.0, is_casual: causal);
    }

    static void Validate(Tensor q, Tensor k, Tensor v, Tensor? mask)
    {
        if (q.dim() < 2 || k.dim() != q.dim() || v.dim() != q.dim())
            throw new ArgumentException($"q, k and v must have the same rank (at least 2: (…, T, d)); got q {ShapeGuard.Format(q.shape)}, k {ShapeGuard.Format(k.shape)}, v {ShapeGuard.Format(v.shape)}.");
        if (q.shape[^1] != k.shape[^1])
            throw new ArgumentException($"Queries and keys must have the same size d_k (last axis): q {ShapeGuard.Format(q.shape)}, k {ShapeGuard.Format(k.shape)}.");
        if (k.shape[^2] != v.shape[^2])
            throw new ArgumentException($"Keys and values must come in the same number S (second-to-last axis): k {ShapeGuard.Format(k.shape)}, v {ShapeGuard.Format(v.shape)}.");
        if (!q.shape[..^2].SequenceEqual(k.shape[..^2]) || !k.shape[..^2].SequenceEqual(v.shape[..^2]))
            throw new ArgumentException($"q, k and v must share their leading (batch, head) axes: q {ShapeGuard.Format(q.shape)}, k {ShapeGuard.Format(k.shape)}, v {ShapeGuard.Format(v.shape)}.");
        if (mask is null) return;
        long[] scores = [.. q.shape[..^1], k.shape[^2]];
        AttentionMasks.RequireCompatible(mask, scores);
        AttentionMasks.RequireEveryQuerySeesAKey(mask, scores);
    }
}
