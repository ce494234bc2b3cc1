namespace LlmNotebooks.Transformer;

/// <summary>Which feed-forward network a <see cref="Gpt"/> block uses.</summary>
public enum MlpKind
{
    /// <summary>C → hidden → C with a GELU between (GPT-2; <see cref="FeedForward"/>); hidden defaults to 4C.</summary>
    Gelu,
    /// <summary>
    /// SwiGLU: two projections C → hidden, one through SiLU, multiplied element by element, then hidden → C (Llama, Qwen;
    /// <see cref="SwiGluFeedForward"/>); hidden defaults to 8C/3, which keeps the parameter count of the GELU network.
    /// </summary>
    SwiGlu,
}
