using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Transformer;

/// <summary>One GPT block: x + attention(LayerNorm(x)), then x + feed-forward(LayerNorm(x)) (pre-norm, as GPT-2).</summary>
public sealed class GptBlock : Module<Tensor, Tensor>
{
    readonly LayerNorm ln_1, ln_2;
    public readonly CausalSelfAttention attn;
    readonly FeedForward mlp;

    public GptBlock(GptConfig config, string name = "block") : base(name)
    {
        ln_1 = LayerNorm(config.Channels);
        attn = new CausalSelfAttention(config.Channels, config.Heads, config.Dropout, config.Bias);
        ln_2 = LayerNorm(config.Channels);
        mlp = new FeedForward(config.Channels, 4 * config.Channels, config.Dropout, config.Bias, tanhGelu: config.TanhGelu);
        RegisterComponents();
    }

    /// <summary>(B, T, C) → (B, T, C).</summary>
    public override Tensor forward(Tensor x) => forward(x, null, 0);

    /// <summary>(B, T, C) → (B, T, C); attention reads and extends slot <paramref name="layer"/> of <paramref name="cache"/> when one is given.</summary>
    public Tensor forward(Tensor x, KvCache? cache, int layer)
    {
        x = x + attn.forward(ln_1.forward(x), cache, layer);
        return x + mlp.forward(ln_2.forward(x));
    }
}
