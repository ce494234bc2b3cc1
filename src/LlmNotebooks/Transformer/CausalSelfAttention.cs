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
    readonly RmsNorm? q_norm, k_norm;
    readonly long _channels, _heads, _kvHeads, _headSize;
    readonly double? _ropeTheta;
    readonly long? _window;
    readonly bool _dropout;

    /// <summary>Keep the last forward pass's weights (B, H, T, T) in <see cref="LastWeights"/> (uses the step-by-step path).</summary>
    public bool KeepWeights { get; set; }
    public Tensor? LastWeights { get; private set; }

    /// <summary>
    /// GPT-2's attention, or a modern variant: <paramref name="kvHeads"/> key/value heads shared by the query heads
    /// (grouped-query attention; null: one per query head), <paramref name="qkNorm"/> (RMSNorm of each head's queries and keys),
    /// rotary positions with base <paramref name="ropeTheta"/> (null: none, the model adds learned positions), and a sliding
    /// <paramref name="window"/> (null: every earlier token). c_attn computes queries, keys and values together: C → (H + 2·kv)·hs.
    /// </summary>
    public CausalSelfAttention(long channels, long heads, double dropout = 0.0, bool bias = true, string name = "attn",
        long? kvHeads = null, bool qkNorm = false, double? ropeTheta = null, long? window = null, double normEps = 1e-5) : base(name)
    {
        if (heads <= 0 || channels % heads != 0)
            throw new ArgumentException($"The model width must split evenly into heads: channels {channels}, heads {heads}.");
        long kv = kvHeads ?? heads;
        if (kv <= 0 || heads % kv != 0)
            throw new ArgumentException($"The key/value heads must divide the query heads: heads {heads}, key/value heads {kv}.", nameof(kvHeads));
        if (window is long w && w <= 0) throw new ArgumentException($"The window must be at least 1 token (or null: no window), got {w}.", nameof(window));
        Guard.UnitInterval(dropout, nameof(dropout));
        _channels = channels;
        _heads = heads;
        _kvHeads = kv;
        _headSize = channels / heads;
        if (ropeTheta is double theta) _ = Rotary.Angles(0, 1, _headSize, theta);   // checks an even head size and the base now, not at the first forward
        _ropeTheta = ropeTheta;
        _window = window;
        c_attn = Linear(channels, channels + 2 * kv * _headSize, hasBias: bias);
        c_proj = Linear(channels, channels, hasBias: bias);
        resid_dropout = Dropout(dropout);
        _dropout = dropout > 0;
        if (qkNorm)
        {
            q_norm = new RmsNorm(_headSize, normEps, "q_norm");
            k_norm = new RmsNorm(_headSize, normEps, "k_norm");
        }
        RegisterComponents();
    }

    /// <summary>The attention layer that <paramref name="config"/> describes (its heads, key/value heads, QK-norm, positions and window).</summary>
    public CausalSelfAttention(GptConfig config, string name = "attn")
        : this(config.Channels, config.Heads, config.Dropout, config.Bias, name, config.KeyValueHeads, config.QkNorm,
               config.Positions == PositionKind.Rotary ? config.RopeTheta : null, config.Window, config.NormEps) { }

    /// <summary>(B, T, C) → (B, T, C).</summary>
    public override Tensor forward(Tensor x) => forward(x, null, 0);

    /// <summary>
    /// (B, T, C) → (B, T, C), the same computation as <see cref="forward(Tensor)"/>; with a <paramref name="cache"/>, the T
    /// tokens are the ones after the cache's <see cref="KvCache.Position"/>: their keys and values are stored in slot
    /// <paramref name="layer"/>, and each query attends over every stored position up to its own (within the window).
    /// </summary>
    public Tensor forward(Tensor x, KvCache? cache, int layer)
    {
        ShapeGuard.Require(x, "x", "(B, T, C)", -1, -1, _channels);
        long B = x.shape[0], T = x.shape[1], hs = _headSize, kvWidth = _kvHeads * hs;
        var qkv = c_attn.forward(x).split([_channels, kvWidth, kvWidth], dim: 2);       // (B, T, C), 2 × (B, T, kv·hs)
        var q = qkv[0].view(B, T, _heads, hs).transpose(1, 2);                           // (B, H, T, hs)
        var k = qkv[1].view(B, T, _kvHeads, hs).transpose(1, 2);                         // (B, kv, T, hs)
        var v = qkv[2].view(B, T, _kvHeads, hs).transpose(1, 2);
        if (q_norm is not null) { q = q_norm.forward(q); k = k_norm!.forward(k); }
        long start = cache?.Position ?? 0;                                               // tokens already in the cache
        if (_ropeTheta is double theta) { q = Rotary.Apply(q, start, theta); k = Rotary.Apply(k, start, theta); }
        if (cache is not null) (k, v) = cache.Append(layer, k, v);                       // (B, kv, start + T, hs): the cache holds kv heads only
        if (_kvHeads != _heads)                                                          // each key/value head serves H / kv query heads
        {
            k = k.repeat_interleave(_heads / _kvHeads, dim: 1);
            v = v.repeat_interleave(_heads / _kvHeads, dim: 1);
        }
        // Query i sits at position start + i and may see keys 0 … start + i (and, with a window W, only from start + i − W + 1).
        // From an empty cache without a window cutting in, that is the causal mask (the fused kernel's flag); one new token
        // sees every key; otherwise the shifted triangle, cut to a band by the window.
        bool causalOnly = start == 0 && (_window is null || T <= _window);
        bool seesAll = T == 1 && (_window is null || start + 1 <= _window);
        Tensor? mask = causalOnly || seesAll ? null : Band(T, start, x.device);
        Tensor y;
        if (KeepWeights)
        {
            (y, var w) = ScaledDotProductAttention.Compute(q, k, v, causalOnly ? AttentionMasks.Causal(T, x.device) : mask);
            LastWeights?.Dispose();
            LastWeights = w.detach().DetachFromDisposeScope();
        }
        else y = causalOnly ? ScaledDotProductAttention.Fused(q, k, v, causal: true) : ScaledDotProductAttention.Fused(q, k, v, mask);
        y = y.transpose(1, 2).contiguous().view(B, T, _channels);                        // (B, T, C)
        y = c_proj.forward(y);
        return _dropout ? resid_dropout.forward(y) : y;
    }

    /// <summary>(T, start + T), true where query i (at position start + i) may see key j: j ≤ start + i, and j &gt; start + i − W with a window.</summary>
    Tensor Band(long T, long start, Device device)
    {
        var allowed = ones(T, start + T, dtype: ScalarType.Bool, device: device).tril(start);
        return _window is long w ? allowed.triu(start - w + 1) : allowed;
    }
}
