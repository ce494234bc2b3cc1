using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Transformer;

/// <summary>
/// One GPT block: x + attention(norm(x)), then x + feed-forward(norm(x)) (pre-norm, as GPT-2). The config picks the norm
/// (LayerNorm or RMSNorm), the attention's variant and the feed-forward network (GELU or SwiGLU).
/// </summary>
public sealed class GptBlock : Module<Tensor, Tensor>
{
    readonly Module<Tensor, Tensor> ln_1, ln_2;
    public readonly CausalSelfAttention attn;
    readonly Module<Tensor, Tensor> mlp;

    public GptBlock(GptConfig config, string name = "block") : base(name)
    {
        ln_1 = NewNorm(config);
        attn = new CausalSelfAttention(config);
        ln_2 = NewNorm(config);
        mlp = config.Mlp == MlpKind.SwiGlu
            ? new SwiGluFeedForward(config.Channels, config.FeedForwardHidden, config.Dropout, config.Bias)
            : new FeedForward(config.Channels, config.FeedForwardHidden, config.Dropout, config.Bias, tanhGelu: config.TanhGelu);
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

    /// <summary>The normalisation <paramref name="config"/> asks for, over C: LayerNorm (gain and bias) or RMSNorm (gain).</summary>
    internal static Module<Tensor, Tensor> NewNorm(GptConfig config) =>
        config.Norm == NormKind.RmsNorm ? new RmsNorm(config.Channels, config.NormEps, "ln") : LayerNorm(config.Channels, config.NormEps);
}
