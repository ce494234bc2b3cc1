using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Alignment;

/// <summary>
/// PPO's critic: a <see cref="Gpt"/> trunk of its own plus a linear value head that, at every position t, estimates
/// V(s_t), the reward still to come from that point of the response. It is a second transformer that is trained beside
/// the policy (its weights, gradients and optimizer state are the memory and time GRPO saves by having no critic).
/// Values come out aligned with <see cref="ResponseBatch.ResponseMask"/>: (B, T−1), position t being the state before
/// token t+1 is chosen.
/// </summary>
public sealed class ValueModel : Module<Tensor, Tensor>
{
    readonly Gpt trunk;
    readonly Linear head;

    /// <param name="trunk">The critic's own transformer (pass a copy, usually of the SFT or reward model's trunk).</param>
    /// <param name="name">The module name (the prefix of its state-dict keys).</param>
    public ValueModel(Gpt trunk, string name = "value_model") : base(name)
    {
        this.trunk = trunk ?? throw new ArgumentNullException(nameof(trunk));
        head = Linear(trunk.Config.Channels, 1);
        RegisterComponents();
        using (no_grad()) { head.weight!.zero_(); head.bias!.zero_(); }          // start by predicting 0 everywhere
    }

    /// <summary>Tokens (B, T) → values (B, T−1) for positions 0 … T−2.</summary>
    public override Tensor forward(Tensor tokens)
    {
        var hidden = trunk.Hidden(tokens);                                        // (B, T, C)
        return head.forward(hidden).squeeze(-1)[.., ..^1];                       // (B, T-1)
    }
}
