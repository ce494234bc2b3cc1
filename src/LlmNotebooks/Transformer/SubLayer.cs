using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Transformer;

/// <summary>
/// The wiring around every sub-layer of a transformer block: x + f(LayerNorm(x)) — or, in an ablation, without the
/// LayerNorm (identity) or without the residual connection (just f(...)).
/// </summary>
public sealed class SubLayer : Module<Tensor, Tensor>
{
    readonly Module<Tensor, Tensor> norm;
    readonly bool _residual;

    public SubLayer(long channels, bool layerNorm, bool residual, string name = "sublayer") : base(name)
    {
        norm = layerNorm ? LayerNorm(channels) : Identity();
        _residual = residual;
        RegisterComponents();
    }

    /// <summary>The normalised input that the sub-layer function receives.</summary>
    public override Tensor forward(Tensor x) => norm.forward(x);

    /// <summary>Applies <paramref name="f"/> to the normalised input and adds the residual.</summary>
    public Tensor Apply(Tensor x, Func<Tensor, Tensor> f) => _residual ? x + f(norm.forward(x)) : f(norm.forward(x));
}
