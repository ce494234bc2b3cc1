using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Transformer;

/// <summary>
/// The SwiGLU feed-forward network (Shazeer 2020; Llama, Qwen): y = W_down (SiLU(W_gate x) ⊙ W_up x). One projection
/// decides how much of the other passes, element by element (a gated linear unit), with SiLU(z) = z·σ(z) as the gate.
/// Three matrices instead of two, so a hidden size of 8C/3 instead of 4C keeps the parameter count.
/// Field names follow <see cref="FeedForward"/>: c_fc holds W_gate and W_up stacked (C → 2·hidden, gate first), c_proj is
/// W_down, so fine-tuning finds the same layer names.
/// </summary>
public sealed class SwiGluFeedForward : Module<Tensor, Tensor>
{
    // Any Module<Tensor, Tensor> and not readonly, so fine-tuning can swap a layer by name (LlmNotebooks.FineTuning.ModuleSurgery).
    Module<Tensor, Tensor> c_fc, c_proj;
    readonly Dropout dropout;
    readonly bool _dropout;
    readonly long _hidden;

    /// <summary>C → hidden (gate and up) → C.</summary>
    public SwiGluFeedForward(long channels, long hidden, double dropout = 0.0, bool bias = false, string name = "mlp") : base(name)
    {
        if (channels <= 0 || hidden <= 0) throw new ArgumentException($"Feed-forward sizes must be positive, got channels {channels}, hidden {hidden}.");
        Guard.UnitInterval(dropout, nameof(dropout));
        _hidden = hidden;
        c_fc = Linear(channels, 2 * hidden, hasBias: bias);
        c_proj = Linear(hidden, channels, hasBias: bias);
        this.dropout = Dropout(dropout);
        _dropout = dropout > 0;
        RegisterComponents();
    }

    /// <summary>(…, C) → (…, C).</summary>
    public override Tensor forward(Tensor x)
    {
        var gateUp = c_fc.forward(x);
        var gate = gateUp.narrow(-1, 0, _hidden);
        var up = gateUp.narrow(-1, _hidden, _hidden);
        var y = c_proj.forward(functional.silu(gate) * up);
        return _dropout ? dropout.forward(y) : y;
    }
}
