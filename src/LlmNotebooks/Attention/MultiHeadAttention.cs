using LlmNotebooks.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Attention;

/// <summary>
/// Multi-head attention: project the inputs to queries, keys and values (W_q, W_k, W_v), split C channels into
/// H heads of hs = C / H, attend in every head in parallel, concatenate the heads and mix them with W_o.
/// Self-attention when queries and keys come from the same sequence (<c>forward(x)</c>); cross-attention when the
/// keys and values come from another one (<see cref="forward(Tensor, Tensor?, Tensor?)"/> with a context, e.g. an encoder's output).
/// </summary>
public sealed class MultiHeadAttention : Module<Tensor, Tensor>
{
    readonly Linear q_proj, k_proj, v_proj, out_proj;
    readonly long _channels, _heads;
    readonly bool _causal;

    /// <summary>Channels C (the model width).</summary>
    public long Channels => _channels;
    /// <summary>Number of heads H.</summary>
    public long Heads => _heads;
    /// <summary>Whether every query is blocked from later keys.</summary>
    public bool Causal => _causal;

    /// <summary>
    /// Use TorchSharp's fused kernel (default) or the step-by-step computation. The step-by-step path is also used,
    /// whatever this says, when <see cref="KeepWeights"/> is set, because only it produces the weights.
    /// </summary>
    public bool UseFused { get; set; } = true;

    /// <summary>Keep the last forward pass's attention weights (B, H, T, S) in <see cref="LastWeights"/> for charts.</summary>
    public bool KeepWeights { get; set; }

    /// <summary>The attention weights of the last forward pass, when <see cref="KeepWeights"/> is set.</summary>
    public Tensor? LastWeights { get; private set; }

    public MultiHeadAttention(long channels, long heads, bool causal = false, bool bias = true, string name = "attention") : base(name)
    {
        if (heads <= 0 || channels <= 0 || channels % heads != 0)
            throw new ArgumentException($"The model width must split evenly into heads: channels {channels}, heads {heads} (need channels % heads == 0).");
        _channels = channels;
        _heads = heads;
        _causal = causal;
        q_proj = Linear(channels, channels, hasBias: bias);
        k_proj = Linear(channels, channels, hasBias: bias);
        v_proj = Linear(channels, channels, hasBias: bias);
        out_proj = Linear(channels, channels, hasBias: bias);
        RegisterComponents();
    }

    /// <summary>Self-attention over x (B, T, C) → (B, T, C).</summary>
    public override Tensor forward(Tensor x) => forward(x, null, null);

    /// <summary>
    /// Attention of <paramref name="query"/> (B, T, C) over <paramref name="context"/> (B, S, C) — itself when null.
    /// <paramref name="mask"/> (boolean, true = may attend) broadcasts to (B, H, T, S); the causal mask, if any, is added.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes that do not fit, or a mask that (with the causal mask, if any) hides every
    /// key from some query: its output would be NaN. The message names the first such query's batch, head and row.</exception>
    public Tensor forward(Tensor query, Tensor? context, Tensor? mask = null)
    {
        context ??= query;
        ShapeGuard.Require(query, "query", "(B, T, C)", -1, -1, _channels);
        ShapeGuard.Require(context, "context", "(B, S, C)", query.shape[0], -1, _channels);
        long B = query.shape[0], T = query.shape[1], S = context.shape[1], hs = _channels / _heads;
        if (_causal && S != T)
            throw new ArgumentException($"A causal mask needs as many keys as queries; got T = {T} queries and S = {S} keys.");

        using var scope = NewDisposeScope();
        var q = q_proj.forward(query).view(B, T, _heads, hs).transpose(1, 2);     // (B, H, T, hs)
        var k = k_proj.forward(context).view(B, S, _heads, hs).transpose(1, 2);   // (B, H, S, hs)
        var v = v_proj.forward(context).view(B, S, _heads, hs).transpose(1, 2);   // (B, H, S, hs)

        Tensor y;
        if (UseFused && !KeepWeights)
        {
            y = mask is null
                ? ScaledDotProductAttention.Fused(q, k, v, causal: _causal)
                : ScaledDotProductAttention.Fused(q, k, v, _causal ? AttentionMasks.And(mask, AttentionMasks.Causal(T, query.device)) : mask);
        }
        else
        {
            Tensor? m = mask;
            if (_causal) m = m is null ? AttentionMasks.Causal(T, query.device) : AttentionMasks.And(m, AttentionMasks.Causal(T, query.device));
            (y, var weights) = ScaledDotProductAttention.Compute(q, k, v, m);
            if (KeepWeights)
            {
                LastWeights?.Dispose();
                LastWeights = weights.detach().DetachFromDisposeScope(); // outlives this call
            }
        }
        y = y.transpose(1, 2).contiguous().view(B, T, _channels);                 // concatenate the heads: (B, T, C)
        return out_proj.forward(y).MoveToOuterDisposeScope();
    }
}
