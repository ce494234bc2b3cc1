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
    public Tensor Forward(Tensor x, Tensor? mask)
    {
        x = attn_sub.Apply(x, h => self_attn.Forward(h, null, mask));
        return ffn_sub.Apply(x, ffn.forward);
    }
}
