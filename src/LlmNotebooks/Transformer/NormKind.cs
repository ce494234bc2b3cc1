namespace LlmNotebooks.Transformer;

/// <summary>Which normalisation a <see cref="Gpt"/> block uses before attention and before the feed-forward network.</summary>
public enum NormKind
{
    /// <summary>LayerNorm: subtract the mean, divide by the standard deviation, then a learned gain and bias (GPT-2).</summary>
    LayerNorm,
    /// <summary>RMSNorm: divide by the root mean square, then a learned gain; no centring, no bias (Llama, Qwen, Gemma; see <see cref="RmsNorm"/>).</summary>
    RmsNorm,
}
