using LlmNotebooks.Attention;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Transformer;

/// <summary>
/// A decoder block of the encoder-decoder transformer: masked self-attention over the target written so far, then
/// cross-attention from the target to the encoder's output (the source), then a feed-forward network.
/// </summary>
public sealed class DecoderBlock : Module
{
    readonly SubLayer self_sub, cross_sub, ffn_sub;
    public readonly MultiHeadAttention self_attn, cross_attn;
    public readonly Module<Tensor, Tensor> ffn;

    public DecoderBlock(EncoderDecoderConfig c, string name = "decoder_block") : base(name)
    {
        self_sub = new SubLayer(c.Channels, c.LayerNorm, c.Residual);
        self_attn = new MultiHeadAttention(c.Channels, c.Heads, causal: true);
        cross_sub = new SubLayer(c.Channels, c.LayerNorm, c.Residual);
        cross_attn = new MultiHeadAttention(c.Channels, c.Heads);
        ffn_sub = new SubLayer(c.Channels, c.LayerNorm, c.Residual);
        ffn = c.CreateFeedForward();
        RegisterComponents();
    }

    /// <summary>Target (B, T, C) and encoder output (B, S, C) → (B, T, C).</summary>
    public Tensor Forward(Tensor x, Tensor memory, Tensor? targetMask, Tensor? sourceMask) => Forward(x, memory, targetMask, sourceMask, auxLosses: null);

    /// <summary>As the public Forward; a mixture-of-experts feed-forward adds its load-balancing loss to <paramref name="auxLosses"/>.</summary>
    internal Tensor Forward(Tensor x, Tensor memory, Tensor? targetMask, Tensor? sourceMask, List<Tensor>? auxLosses)
    {
        x = self_sub.Apply(x, h => self_attn.forward(h, null, targetMask));
        x = cross_sub.Apply(x, h => cross_attn.forward(h, memory, sourceMask));
        return ffn_sub.Apply(x, h => FeedForwardWithAuxLoss.Apply(ffn, h, auxLosses));
    }
}
