using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Transformer;

/// <summary>How a model learns where each token is (attention alone does not know the order of its inputs).</summary>
public enum PositionKind
{
    /// <summary>Fixed sine and cosine waves of many frequencies ("Attention Is All You Need").</summary>
    Sinusoidal,
    /// <summary>A learned vector per position (GPT).</summary>
    Learned,
    /// <summary>No position information at all: the model sees a bag of tokens (an ablation).</summary>
    None,
    /// <summary>
    /// Rotary position embeddings (RoPE, Su et al. 2021; Llama, Qwen, Gemma): nothing is added to the token vectors; each
    /// query and key is rotated by an angle proportional to its position, so their dot product depends only on the
    /// distance between them (GPT models only, see <see cref="Rotary"/>).
    /// </summary>
    Rotary,
}

/// <summary>
/// The sinusoidal positional encoding: PE[p, 2i] = sin(p / 10000^(2i/C)), PE[p, 2i+1] = cos(p / 10000^(2i/C)).
/// Each channel pair is a clock of a different speed, so every position gets a distinct pattern, and a fixed offset
/// is a fixed rotation of it. Example: Sinusoidal(3, 2) = [[0, 1], [sin 1, cos 1], [sin 2, cos 2]].
/// </summary>
public static class PositionalEncoding
{
    public static Tensor Sinusoidal(long positions, long channels)
    {
        if (positions <= 0 || channels <= 0 || channels % 2 != 0)
            throw new ArgumentException($"Need a positive number of positions and an even, positive number of channels; got {positions} and {channels}.");
        using var scope = NewDisposeScope();
        var position = arange(positions, dtype: float32).unsqueeze(1);                          // (T, 1)
        var frequency = exp(arange(0, channels, 2, dtype: float32) * (-Math.Log(10000.0) / channels)); // (C/2)
        var angles = position * frequency;                                                       // (T, C/2)
        return stack(new[] { angles.sin(), angles.cos() }, dim: 2).reshape(positions, channels).MoveToOuterDisposeScope();
    }
}
