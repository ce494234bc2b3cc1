namespace LlmNotebooks.Transformer;

/// <summary>
/// The shape of a decoder-only GPT. Immutable; use the presets or a <c>with</c> expression.
/// </summary>
/// <param name="VocabSize">V: how many different tokens there are.</param>
/// <param name="BlockSize">The context window: the longest sequence the model reads (learned positions 0..BlockSize-1).</param>
/// <param name="Layers">How many transformer blocks are stacked.</param>
/// <param name="Heads">H: attention heads per block; Channels must be divisible by it.</param>
/// <param name="Channels">C: the width of every token vector (n_embd).</param>
/// <param name="Dropout">Dropout probability during training (0 for small data that is not memorised).</param>
/// <param name="Bias">Whether the Linear layers have biases (GPT-2: yes). LayerNorms always have them.</param>
/// <param name="TanhGelu">
/// Whether the feed-forward GELU uses the tanh approximation, 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), instead of the
/// exact x·Φ(x). OpenAI trained GPT-2 with the approximation (Hugging Face calls it "gelu_new"), so its weights give
/// exactly its outputs only with it; the two differ by at most 0.00047 anywhere.
/// </param>
public sealed record GptConfig(int VocabSize, int BlockSize, int Layers, int Heads, int Channels, double Dropout = 0.0, bool Bias = true, bool TanhGelu = false)
{
    /// <summary>For tests: 2 layers, 2 heads, 16 wide, context 8, vocabulary 11.</summary>
    public static GptConfig Tiny { get; } = new(VocabSize: 11, BlockSize: 8, Layers: 2, Heads: 2, Channels: 16);

    /// <summary>nanoGPT's "baby" character model: 4 layers × 4 heads × 128 wide, context 64, 65 characters (≈0.8 M parameters).</summary>
    public static GptConfig Baby { get; } = new(VocabSize: 65, BlockSize: 64, Layers: 4, Heads: 4, Channels: 128);

    /// <summary>GPT-2 small (124 M parameters): 12 × 12 × 768, context 1024, 50,257 tokens, tanh-approximated GELU (as trained).</summary>
    public static GptConfig Gpt2Small { get; } = new(VocabSize: 50257, BlockSize: 1024, Layers: 12, Heads: 12, Channels: 768, TanhGelu: true);

    /// <summary>
    /// Parameters of a <see cref="Gpt"/> with this config (with biases; the output layer shares the token embedding):
    /// V·C + T·C + L·(12C² + 13C) + 2C (without Linear biases 12C² + 4C per layer).
    /// </summary>
    public long ParameterCount()
    {
        long V = VocabSize, T = BlockSize, L = Layers, C = Channels;
        checked
        {
            long perLayer = 12 * C * C + 4 * C + (Bias ? 9 * C : 0);   // weights, two LayerNorms, Linear biases (3C + C + 4C + C)
            return V * C + T * C + L * perLayer + 2 * C;
        }
    }

    /// <summary>
    /// Parameters outside the embeddings (token and position tables): the count scaling laws use as N (Kaplan et al. 2020),
    /// because embedding tables grow with the vocabulary without adding computation per token.
    /// </summary>
    public long NonEmbeddingParameterCount() => ParameterCount() - (long)VocabSize * Channels - (long)BlockSize * Channels;

    /// <summary>Throws when the configuration cannot build a model, saying which field is wrong (a NaN dropout included).</summary>
    public void Validate()
    {
        if (VocabSize <= 0 || BlockSize <= 0 || Layers <= 0 || Heads <= 0 || Channels <= 0)
            throw new ArgumentException($"Every size in a GptConfig must be positive: {this}.");
        if (Channels % Heads != 0)
            throw new ArgumentException($"Channels ({Channels}) must be divisible by Heads ({Heads}).");
        Guard.UnitInterval(Dropout, nameof(Dropout), "0 turns dropout off.");
        try { _ = ParameterCount(); }
        catch (OverflowException)
        {
            throw new ArgumentException($"This GptConfig is too large to build: its parameter count does not fit in 64 bits ({this}).");
        }
    }
}
