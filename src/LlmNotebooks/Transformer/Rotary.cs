using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Transformer;

/// <summary>
/// Rotary position embeddings (RoPE, Su et al. 2021). A head's vector of size d is read as d/2 pairs; pair i of the
/// vector at position m is turned by the angle m·θᵢ, with θᵢ = base^(−2i/d): fast turns for the first pairs, slow ones
/// for the last. Queries and keys are both rotated, so q_m · k_n depends only on m − n (a rotation by m, undone by one
/// by n), and a rotation keeps every norm. The pairs are (x_i, x_{i+d/2}), the "rotate half" layout of Hugging Face's
/// Llama and of nanochat. Nothing is learned and nothing is added to the token vectors.
/// </summary>
public static class Rotary
{
    /// <summary>The angles m·θᵢ, (T, d/2) in float64, for positions <paramref name="start"/> … start + T − 1.</summary>
    public static Tensor Angles(long start, long length, long headSize, double theta = 10000, Device? device = null)
    {
        Require(headSize, theta);
        Guard.AtLeast(start, 0, nameof(start));
        Guard.AtLeast(length, 0, nameof(length));
        var positions = arange(start, start + length, dtype: float64, device: device);
        var frequencies = (arange(0, headSize / 2, dtype: float64, device: device) * (-2.0 * Math.Log(theta) / headSize)).exp();   // θᵢ = base^(−2i/d)
        return positions.outer(frequencies);
    }

    /// <summary>
    /// Rotates x (…, T, d), whose T vectors sit at positions <paramref name="start"/> … start + T − 1:
    /// (x₁, x₂) ↦ (x₁ cos − x₂ sin, x₁ sin + x₂ cos) for each pair, with x₁ the first half of the vector and x₂ the second.
    /// </summary>
    public static Tensor Apply(Tensor x, long start, double theta = 10000)
    {
        if (x.dim() < 2) throw new ArgumentException($"Rotary.Apply takes (…, T, d) vectors, got shape ({string.Join(", ", x.shape)}).", nameof(x));
        long T = x.shape[^2], d = x.shape[^1], half = d / 2;
        var angles = Angles(start, T, d, theta, x.device);
        var cos = angles.cos().to(x.dtype);
        var sin = angles.sin().to(x.dtype);
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        return cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1);
    }

    static void Require(long headSize, double theta)
    {
        if (headSize < 2 || headSize % 2 != 0)
            throw new ArgumentException($"Rotary positions turn pairs of numbers, so the head size must be even and at least 2, got {headSize}. Choose Channels / Heads even.", nameof(headSize));
        if (!double.IsFinite(theta) || theta <= 1)
            throw new ArgumentException($"The rotary base must be a finite number above 1 (10,000 in the paper, 500,000 in Llama 3), got {theta}.", nameof(theta));
    }
}
