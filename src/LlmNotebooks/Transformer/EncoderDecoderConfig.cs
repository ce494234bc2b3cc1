using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Transformer;

/// <summary>
/// The shape of an <see cref="EncoderDecoderTransformer"/> (the 2017 "Attention Is All You Need" layout), with the
/// switches the course's ablations flip. Immutable; change it with a <c>with</c> expression.
/// </summary>
/// <param name="SourceVocab">Tokens the encoder reads (id 0 is padding).</param>
/// <param name="TargetVocab">Tokens the decoder writes (id 0 is padding).</param>
/// <param name="MaxSource">Longest source sequence (positions).</param>
/// <param name="MaxTarget">Longest target sequence, &lt;bos&gt; included.</param>
/// <param name="Layers">Blocks in the encoder, and again in the decoder.</param>
/// <param name="Heads">Attention heads per attention layer.</param>
/// <param name="Channels">C: the width of every token vector.</param>
/// <param name="FeedForwardHidden">Hidden size of each feed-forward network (dense), or of each expert (MoE).</param>
/// <param name="Dropout">Dropout probability in the feed-forward layers during training.</param>
/// <param name="Positions">Sinusoidal (the paper), Learned, or None (ablation).</param>
/// <param name="Residual">Residual connections around every sub-layer (false: ablation).</param>
/// <param name="LayerNorm">LayerNorm before every sub-layer (false: ablation).</param>
/// <param name="Experts">0 for dense feed-forward layers; otherwise the number of experts in a mixture of experts.</param>
/// <param name="ExpertsTopK">Experts each token is sent to, when Experts &gt; 0.</param>
public sealed record EncoderDecoderConfig(
    int SourceVocab, int TargetVocab, int MaxSource, int MaxTarget,
    int Layers = 2, int Heads = 4, int Channels = 64, int FeedForwardHidden = 256, double Dropout = 0.0,
    PositionKind Positions = PositionKind.Sinusoidal, bool Residual = true, bool LayerNorm = true,
    int Experts = 0, int ExpertsTopK = 2)
{
    public const int PadId = 0;

    /// <summary>The feed-forward part of a block: dense, or a mixture of experts when <see cref="Experts"/> &gt; 1.</summary>
    public nn.Module<Tensor, Tensor> CreateFeedForward() =>
        Experts > 1 ? new MixtureOfExperts(Channels, FeedForwardHidden, Experts, ExpertsTopK, Dropout)
                    : new FeedForward(Channels, FeedForwardHidden, Dropout);

    /// <summary>Throws when the configuration cannot build a model, saying which field is wrong (a NaN dropout included).</summary>
    public void Validate()
    {
        if (SourceVocab < 2 || TargetVocab < 2 || MaxSource <= 0 || MaxTarget <= 0 || Layers <= 0 || Heads <= 0 || Channels <= 0 || FeedForwardHidden <= 0)
            throw new ArgumentException($"Every size in an EncoderDecoderConfig must be positive (vocabularies at least 2): {this}.");
        if (Channels % Heads != 0) throw new ArgumentException($"Channels ({Channels}) must be divisible by Heads ({Heads}).");
        if (Positions == PositionKind.Sinusoidal && Channels % 2 != 0) throw new ArgumentException($"Sinusoidal positions need an even Channels, got {Channels}.");
        if (Experts == 1 || Experts < 0 || (Experts > 1 && (ExpertsTopK < 1 || ExpertsTopK > Experts)))
            throw new ArgumentException($"Experts must be 0 (dense) or at least 2 with 1 ≤ ExpertsTopK ≤ Experts; got {Experts} and {ExpertsTopK}.");
        Guard.UnitInterval(Dropout, nameof(Dropout), "0 turns dropout off.");
        if (Positions == PositionKind.Rotary)
            throw new ArgumentException("The encoder–decoder transformer adds positions to its token vectors: use Sinusoidal, Learned or None (rotary positions are built into Gpt's attention, GptConfig.Positions).", nameof(Positions));
        if (!Enum.IsDefined(Positions)) throw new ArgumentException($"Positions must be one of {string.Join(", ", Enum.GetNames<PositionKind>())}, got {(int)Positions}.", nameof(Positions));
    }
}
