using LlmNotebooks.Attention;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Transformer;

/// <summary>An encoder block: every token attends to every (non-padding) token, then a feed-forward network.</summary>
public sealed class EncoderBlock : Module
{
    readonly SubLayer attn_sub, ffn_sub;
    public readonly MultiHeadAttention self_attn;
    public readonly Module<Tensor, Tensor> ffn;

    public EncoderBlock(EncoderDecoderConfig c, string name = "encoder_block") : base(name)
    {
        attn_sub = new SubLayer(c.Channels, c.LayerNorm, c.Residual);
        self_attn = new MultiHeadAttention(c.Channels, c.Heads);
        ffn_sub = new SubLayer(c.Channels, c.LayerNorm, c.Residual);
        ffn = c.CreateFeedForward();
        RegisterComponents();
    }

    /// <summary>(B, S, C) with a key mask (B, 1, 1, S) → (B, S, C).</summary>
    public Tensor Forward(Tensor x, Tensor? mask) => Forward(x, mask, auxLosses: null);

    /// <summary>As <see cref="Forward(Tensor, Tensor?)"/>; a mixture-of-experts feed-forward adds its load-balancing loss to <paramref name="auxLosses"/>.</summary>
    internal Tensor Forward(Tensor x, Tensor? mask, List<Tensor>? auxLosses)
    {
        x = attn_sub.Apply(x, h => self_attn.forward(h, null, mask));
        return ffn_sub.Apply(x, h => FeedForwardWithAuxLoss.Apply(ffn, h, auxLosses));
    }
}
