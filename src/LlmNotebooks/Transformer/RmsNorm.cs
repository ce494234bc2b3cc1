using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Transformer;

/// <summary>
/// Root-mean-square normalisation (Zhang &amp; Sennrich 2019), the LayerNorm of Llama, Qwen and Gemma: each vector is divided
/// by its root mean square and multiplied by a learned gain, y = x / √(mean(x²) + ε) · g. Unlike LayerNorm it does not
/// subtract the mean and has no bias: one statistic instead of two, and the same results wherever the mean was near 0.
/// TorchSharp 0.107 has no RMSNorm module, so this one is written out.
/// </summary>
public sealed class RmsNorm : Module<Tensor, Tensor>
{
    readonly Parameter weight;
    readonly double _eps;

    /// <summary>Normalises the last dimension, of size <paramref name="size"/>; the gain starts at 1.</summary>
    public RmsNorm(long size, double eps = 1e-5, string name = "rms_norm") : base(name)
    {
        Guard.AtLeast(size, 1, nameof(size));
        if (!double.IsFinite(eps) || eps <= 0)
            throw new ArgumentException($"eps must be a small positive number (it keeps an all-zero vector from dividing by 0), got {eps}.", nameof(eps));
        _eps = eps;
        weight = Parameter(ones(size));
        RegisterComponents();
    }

    /// <summary>(…, size) → (…, size).</summary>
    public override Tensor forward(Tensor x)
    {
        if (x.shape[^1] != weight.shape[0])
            throw new ArgumentException($"RmsNorm normalises vectors of size {weight.shape[0]}, but the input's last dimension is {x.shape[^1]}.", nameof(x));
        return x * (x.square().mean([-1], keepdim: true) + _eps).rsqrt() * weight;
    }
}
