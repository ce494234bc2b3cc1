using LlmNotebooks.Attention;
using LlmNotebooks.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Transformer;

/// <summary>
/// GPT's masked self-attention: one matrix c_attn computes queries, keys and values together (C → 3C), H heads attend
/// with a causal mask (no token sees a later one), c_proj mixes the heads. Same mathematics as
/// <see cref="MultiHeadAttention"/> with causal: true; field names follow GPT-2's checkpoint keys.
/// </summary>
public sealed class CausalSelfAttention : Module<Tensor, Tensor>
{
    // Typed as any Module<Tensor, Tensor> (not Linear) and not readonly: fine-tuning swaps a layer for a wrapped one
    // (LoRA's LoraLinear, QLoRA's quantized base) by name, see LlmNotebooks.FineTuning.ModuleSurgery.
    Module<Tensor, Tensor> c_attn, c_proj;
    readonly Dropout resid_dropout;
    readonly long _channels, _heads;
    readonly bool _dropout;

    /// <summary>Keep the last forward pass's weights (B, H, T, T) in <see cref="LastWeights"/> (uses the step-by-step path).</summary>
    public bool KeepWeights { get; set; }
    public Tensor? LastWeights { get; private set; }

    public CausalSelfAttention(long channels, long heads, double dropout = 0.0, bool bias = true, string name = "attn") : base(name)
    {
        if (heads <= 0 || channels % heads != 0)
            throw new ArgumentException($"The model width must split evenly into heads: channels {channels}, heads {heads}.");
        Guard.UnitInterval(dropout, nameof(dropout));
        _channels = channels;
        _heads = heads;
        c_attn = Linear(channels, 3 * channels, hasBias: bias);
        c_proj = Linear(channels, channels, hasBias: bias);
        resid_dropout = Dropout(dropout);
        _dropout = dropout > 0;
        RegisterComponents();
    }

    /// <summary>(B, T, C) → (B, T, C).</summary>
    public override Tensor forward(Tensor x) => forward(x, null, 0);

    /// <summary>
    /// (B, T, C) → (B, T, C), the same computation as <see cref="forward(Tensor)"/>; with a <paramref name="cache"/>, the T
    /// tokens are the ones after the cache's <see cref="KvCache.Position"/>: their keys and values are stored in slot
    /// <paramref name="layer"/>, and each query attends over every stored position up to its own.
    /// </summary>
    public Tensor forward(Tensor x, KvCache? cache, int layer)
    {
        ShapeGuard.Require(x, "x", "(B, T, C)", -1, -1, _channels);
        long B = x.shape[0], T = x.shape[1], hs = _channels / _heads;
        var qkv = c_attn.forward(x).split(_channels, dim: 2);                           // 3 × (B, T, C)
        var q = qkv[0].view(B, T, _heads, hs).transpose(1, 2);                           // (B, H, T, hs)
        var k = qkv[1].view(B, T, _heads, hs).transpose(1, 2);
        var v = qkv[2].view(B, T, _heads, hs).transpose(1, 2);
        long start = cache?.Position ?? 0;                                               // tokens already in the cache
        if (cache is not null) (k, v) = cache.Append(layer, k, v);                       // (B, H, start + T, hs)
        // Query i sits at position start + i and may see keys 0 … start + i. From an empty cache that is the causal mask;
        // one new token sees every key (no mask); several new tokens after cached ones need the shifted triangle.
        Tensor? mask = start == 0 || T == 1 ? null : ones(T, start + T, dtype: ScalarType.Bool, device: x.device).tril(start);
        Tensor y;
        if (KeepWeights)
        {
            (y, var w) = ScaledDotProductAttention.Compute(q, k, v, start == 0 ? AttentionMasks.Causal(T, x.device) : mask);
            LastWeights?.Dispose();
            LastWeights = w.detach().DetachFromDisposeScope();
        }
        else y = start == 0 ? ScaledDotProductAttention.Fused(q, k, v, causal: true) : ScaledDotProductAttention.Fused(q, k, v, mask);
        y = y.transpose(1, 2).contiguous().view(B, T, _channels);                        // (B, T, C)
        y = c_proj.forward(y);
        return _dropout ? resid_dropout.forward(y) : y;
    }
}
