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
/// <param name="Norm">The block's normalisation: LayerNorm (GPT-2) or RMSNorm (Llama and later).</param>
/// <param name="Positions">Learned (a vector per position added to the tokens, GPT-2) or Rotary (queries and keys rotated by position, Llama and later).</param>
/// <param name="Mlp">The feed-forward network: GELU (GPT-2) or SwiGLU (Llama and later).</param>
/// <param name="MlpHidden">The feed-forward network's hidden size; null: 4C for GELU, 8C/3 (rounded) for SwiGLU, so both have about 8C² weights.</param>
/// <param name="KvHeads">Key/value heads; null: one per query head (multi-head attention). Fewer share each key/value head among
/// Heads / KvHeads query heads (grouped-query attention; 1 is multi-query attention), which shrinks the key/value cache by that factor.</param>
/// <param name="QkNorm">RMSNorm each head's queries and keys before attention (Qwen3, OLMo 2, Gemma 3): bounded attention scores.</param>
/// <param name="Window">Sliding-window attention: each token sees only itself and the Window − 1 tokens before it; null: every earlier token.</param>
/// <param name="RopeTheta">The rotary base (10,000 in the RoPE paper; larger for long contexts). Used only with Rotary positions.</param>
/// <param name="NormEps">The ε inside every LayerNorm or RMSNorm square root (10⁻⁵, GPT-2's and Llama's).</param>
/// <remarks>The defaults of the parameters after TanhGelu build GPT-2's block exactly: every earlier model and checkpoint is unchanged.</remarks>
public sealed record GptConfig(int VocabSize, int BlockSize, int Layers, int Heads, int Channels, double Dropout = 0.0, bool Bias = true, bool TanhGelu = false,
    NormKind Norm = NormKind.LayerNorm, PositionKind Positions = PositionKind.Learned, MlpKind Mlp = MlpKind.Gelu, int? MlpHidden = null,
    int? KvHeads = null, bool QkNorm = false, int? Window = null, double RopeTheta = 10000, double NormEps = 1e-5)
{
    /// <summary>For tests: 2 layers, 2 heads, 16 wide, context 8, vocabulary 11.</summary>
    public static GptConfig Tiny { get; } = new(VocabSize: 11, BlockSize: 8, Layers: 2, Heads: 2, Channels: 16);

    /// <summary>nanoGPT's "baby" character model: 4 layers × 4 heads × 128 wide, context 64, 65 characters (≈0.8 M parameters).</summary>
    public static GptConfig Baby { get; } = new(VocabSize: 65, BlockSize: 64, Layers: 4, Heads: 4, Channels: 128);

    /// <summary>GPT-2 small (124 M parameters): 12 × 12 × 768, context 1024, 50,257 tokens, tanh-approximated GELU (as trained).</summary>
    public static GptConfig Gpt2Small { get; } = new(VocabSize: 50257, BlockSize: 1024, Layers: 12, Heads: 12, Channels: 768, TanhGelu: true);

    /// <summary>
    /// The modern block of Llama-family models on this config's sizes: RMSNorm, rotary positions, a SwiGLU feed-forward
    /// network and no Linear biases (chapter 7). Grouped-query attention, QK-norm and a window stay as they are: set them with
    /// <c>with { KvHeads = …, QkNorm = true, Window = … }</c>.
    /// </summary>
    public GptConfig Modernized() => this with { Norm = NormKind.RmsNorm, Positions = PositionKind.Rotary, Mlp = MlpKind.SwiGlu, Bias = false };

    /// <summary>hs: the size of one head's queries, keys and values (Channels / Heads).</summary>
    public int HeadSize => Channels / Heads;

    /// <summary>Key/value heads (<see cref="KvHeads"/>, or Heads when it is null).</summary>
    public int KeyValueHeads => KvHeads ?? Heads;

    /// <summary>The feed-forward network's hidden size (<see cref="MlpHidden"/>, or its default for <see cref="Mlp"/>).</summary>
    public int FeedForwardHidden => MlpHidden ?? (Mlp == MlpKind.SwiGlu ? (int)Math.Round(8.0 * Channels / 3) : 4 * Channels);

    /// <summary>
    /// Parameters of a <see cref="Gpt"/> with this config (the output layer shares the token embedding). For GPT-2's block with
    /// biases: V·C + T·C + L·(12C² + 13C) + 2C (without Linear biases 12C² + 4C per layer). In general, per layer: queries and the
    /// output projection C² each, keys and values C·kv·hs each, the feed-forward network 2·C·hidden (GELU) or 3·C·hidden (SwiGLU),
    /// two norms (2C for LayerNorm, C for RMSNorm), 2·hs for QK-norm, and the biases; rotary positions have no table.
    /// </summary>
    public long ParameterCount()
    {
        long V = VocabSize, T = BlockSize, L = Layers, C = Channels, hs = HeadSize, kv = (long)KeyValueHeads * hs, hidden = FeedForwardHidden;
        checked
        {
            long norm = Norm == NormKind.LayerNorm ? 2 * C : C;
            long attention = C * (C + 2 * kv) + C * C + (Bias ? C + 2 * kv + C : 0) + (QkNorm ? 2 * hs : 0);
            long mlp = Mlp == MlpKind.SwiGlu ? 3 * C * hidden + (Bias ? 2 * hidden + C : 0) : 2 * C * hidden + (Bias ? hidden + C : 0);
            long positions = Positions == PositionKind.Learned ? T * C : 0;
            return V * C + positions + L * (attention + mlp + 2 * norm) + norm;
        }
    }

    /// <summary>
    /// Parameters outside the embeddings (token and position tables): the count scaling laws use as N (Kaplan et al. 2020),
    /// because embedding tables grow with the vocabulary without adding computation per token.
    /// </summary>
    public long NonEmbeddingParameterCount() => ParameterCount() - (long)VocabSize * Channels - (Positions == PositionKind.Learned ? (long)BlockSize * Channels : 0);

    /// <summary>Throws when the configuration cannot build a model, saying which field is wrong (a NaN dropout included).</summary>
    public void Validate()
    {
        if (VocabSize <= 0 || BlockSize <= 0 || Layers <= 0 || Heads <= 0 || Channels <= 0)
            throw new ArgumentException($"Every size in a GptConfig must be positive: {this}.");
        if (Channels % Heads != 0)
            throw new ArgumentException($"Channels ({Channels}) must be divisible by Heads ({Heads}).");
        Guard.UnitInterval(Dropout, nameof(Dropout), "0 turns dropout off.");
        if (!Enum.IsDefined(Norm)) throw new ArgumentException($"Norm must be one of {string.Join(", ", Enum.GetNames<NormKind>())}, got {(int)Norm}.", nameof(Norm));
        if (!Enum.IsDefined(Mlp)) throw new ArgumentException($"Mlp must be one of {string.Join(", ", Enum.GetNames<MlpKind>())}, got {(int)Mlp}.", nameof(Mlp));
        if (Positions is not (PositionKind.Learned or PositionKind.Rotary))
            throw new ArgumentException($"A GPT's positions are Learned (GPT-2) or Rotary (Llama and later), got {Positions}.", nameof(Positions));
        if (Positions == PositionKind.Rotary && HeadSize % 2 != 0)
            throw new ArgumentException($"Rotary positions turn pairs of numbers, so the head size Channels / Heads must be even, got {Channels} / {Heads} = {HeadSize}.", nameof(Positions));
        if (!double.IsFinite(RopeTheta) || RopeTheta <= 1)
            throw new ArgumentException($"RopeTheta must be a finite number above 1 (10,000 in the RoPE paper, 500,000 in Llama 3), got {RopeTheta}.", nameof(RopeTheta));
        if (!double.IsFinite(NormEps) || NormEps <= 0 || NormEps > 0.1)
            throw new ArgumentException($"NormEps must be a small positive number (10⁻⁵ or 10⁻⁶ in published models), got {NormEps}.", nameof(NormEps));
        if (MlpHidden is int hidden && hidden <= 0)
            throw new ArgumentException($"MlpHidden must be positive, or null for the default (4C for GELU, 8C/3 for SwiGLU), got {hidden}.", nameof(MlpHidden));
        if (KvHeads is int kv && (kv <= 0 || Heads % kv != 0))
            throw new ArgumentException($"KvHeads must divide Heads ({Heads}): each key/value head serves Heads / KvHeads query heads. Got {kv}; null means one per query head.", nameof(KvHeads));
        if (Window is int window && window <= 0)
            throw new ArgumentException($"Window must be at least 1 (a token always sees itself), or null for full causal attention, got {window}.", nameof(Window));
        try { _ = ParameterCount(); }
        catch (OverflowException)
        {
            throw new ArgumentException($"This GptConfig is too large to build: its parameter count does not fit in 64 bits ({this}).");
        }
    }
}
