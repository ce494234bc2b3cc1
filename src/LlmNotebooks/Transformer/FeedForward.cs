using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Transformer;

/// <summary>
/// The position-wise feed-forward network: each token's vector, on its own, goes C → hidden → C with a GELU between.
/// After attention has gathered information from other tokens, this is where each token "thinks it over".
/// Field names follow GPT-2's checkpoint keys (c_fc, c_proj).
/// </summary>
public sealed class FeedForward : Module<Tensor, Tensor>
{
    // Any Module<Tensor, Tensor> and not readonly, so fine-tuning can swap a layer by name (LlmNotebooks.FineTuning.ModuleSurgery).
    Module<Tensor, Tensor> c_fc, c_proj;
    readonly Dropout dropout;
    readonly bool _dropout;
    readonly TorchSharp.Modules.GELU.Approximate _gelu;

    /// <summary>C → hidden → C; <paramref name="tanhGelu"/> uses GELU's tanh approximation, as GPT-2 was trained (see <see cref="GptConfig.TanhGelu"/>).</summary>
    public FeedForward(long channels, long hidden, double dropout = 0.0, bool bias = true, string name = "mlp", bool tanhGelu = false) : base(name)
    {
        if (channels <= 0 || hidden <= 0) throw new ArgumentException($"Feed-forward sizes must be positive, got channels {channels}, hidden {hidden}.");
        Guard.UnitInterval(dropout, nameof(dropout));
        c_fc = Linear(channels, hidden, hasBias: bias);
        c_proj = Linear(hidden, channels, hasBias: bias);
        this.dropout = Dropout(dropout);
        _dropout = dropout > 0;
        _gelu = tanhGelu ? TorchSharp.Modules.GELU.Approximate.tanh : TorchSharp.Modules.GELU.Approximate.none;
        RegisterComponents();
    }

    /// <summary>(…, C) → (…, C).</summary>
    public override Tensor forward(Tensor x)
    {
        var y = c_proj.forward(functional.gelu(c_fc.forward(x), _gelu));
        return _dropout ? dropout.forward(y) : y;   // skipped entirely at p = 0: no mask to draw
    }
}
