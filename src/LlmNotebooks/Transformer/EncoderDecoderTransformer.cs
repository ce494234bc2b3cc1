using LlmNotebooks.Attention;
using LlmNotebooks.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Transformer;

/// <summary>
/// The original transformer: an encoder reads the whole source at once; a decoder writes the target one token at a
/// time, attending to what it has written (masked self-attention) and to the source (cross-attention).
/// Trained with "teacher forcing": the decoder gets the true target shifted right (&lt;bos&gt; first) and predicts
/// every next token in one pass. Id 0 is padding in both vocabularies.
/// </summary>
public sealed class EncoderDecoderTransformer : Module
{
    readonly Embedding src_emb, tgt_emb;
    readonly Embedding? src_pos, tgt_pos;
    readonly ModuleList<EncoderBlock> encoder;
    readonly ModuleList<DecoderBlock> decoder;
    readonly Module<Tensor, Tensor> enc_norm, dec_norm;
    readonly Linear lm_head;
    readonly Tensor? _sinusoid;

    public EncoderDecoderConfig Config { get; }
    public IReadOnlyList<EncoderBlock> EncoderBlocks => encoder.ToList();
    public IReadOnlyList<DecoderBlock> DecoderBlocks => decoder.ToList();

    public EncoderDecoderTransformer(EncoderDecoderConfig config, string name = "transformer") : base(name)
    {
        config.Validate();
        Config = config;
        src_emb = Embedding(config.SourceVocab, config.Channels);
        tgt_emb = Embedding(config.TargetVocab, config.Channels);
        if (config.Positions == PositionKind.Learned)
        {
            src_pos = Embedding(config.MaxSource, config.Channels);
            tgt_pos = Embedding(config.MaxTarget, config.Channels);
        }
        encoder = ModuleList(Enumerable.Range(0, config.Layers).Select(i => new EncoderBlock(config, $"enc{i}")).ToArray());
        decoder = ModuleList(Enumerable.Range(0, config.Layers).Select(i => new DecoderBlock(config, $"dec{i}")).ToArray());
        enc_norm = config.LayerNorm ? LayerNorm(config.Channels) : Identity();
        dec_norm = config.LayerNorm ? LayerNorm(config.Channels) : Identity();
        lm_head = Linear(config.Channels, config.TargetVocab);
        RegisterComponents();
        if (config.Positions == PositionKind.Sinusoidal)
        {
            _sinusoid = PositionalEncoding.Sinusoidal(Math.Max(config.MaxSource, config.MaxTarget), config.Channels);
            register_buffer("sinusoid", _sinusoid, persistent: false);
        }
    }

    Tensor Embed(Embedding tokens, Embedding? learned, Tensor ids) => AddPositions(tokens.forward(ids), learned);

    Tensor AddPositions(Tensor x, Embedding? learned)
    {
        long T = x.shape[1];
        return Config.Positions switch
        {
            PositionKind.Sinusoidal => x + _sinusoid![..(int)T].to(x.device),
            PositionKind.Learned => x + learned!.forward(arange(T, dtype: int64, device: x.device)),
            _ => x,
        };
    }

    /// <summary>Keys that are real tokens, not padding: (B, 1, 1, length).</summary>
    public static Tensor KeyMask(Tensor ids) => ids.ne(EncoderDecoderConfig.PadId).unsqueeze(1).unsqueeze(1);

    /// <summary>Source ids (B, S) → the encoder's output (B, S, C).</summary>
    public Tensor Encode(Tensor source) => EncodeCollecting(source, auxLosses: null);

    Tensor EncodeCollecting(Tensor source, List<Tensor>? auxLosses)
    {
        Require(source, "source", Config.SourceVocab, Config.MaxSource);
        return EncodeEmbeddedCollecting(src_emb.forward(source), KeyMask(source), auxLosses);
    }

    /// <summary>The source token embeddings alone (no positions): (B, S) ids → (B, S, C).</summary>
    public Tensor EmbedSource(Tensor source)
    {
        Require(source, "source", Config.SourceVocab, Config.MaxSource);
        return src_emb.forward(source);
    }

    /// <summary>
    /// Encodes vectors that are already in the source embedding space (B, S, C) — for example a picture turned into
    /// vectors by its own encoder (a multimodal model). Positions are added here; <paramref name="keyMask"/> (B, 1, 1, S)
    /// marks real positions (null: all).
    /// </summary>
    public Tensor EncodeEmbedded(Tensor embedded, Tensor? keyMask = null) => EncodeEmbeddedCollecting(embedded, keyMask, auxLosses: null);

    Tensor EncodeEmbeddedCollecting(Tensor embedded, Tensor? keyMask, List<Tensor>? auxLosses)
    {
        ShapeGuard.Require(embedded, "embedded", "(B, S, C)", -1, -1, Config.Channels);
        if (embedded.shape[1] > Config.MaxSource)
            throw new ArgumentException($"The source has {embedded.shape[1]} positions but this model handles at most {Config.MaxSource}.", nameof(embedded));
        var x = AddPositions(embedded, src_pos);
        foreach (var block in encoder) x = block.Forward(x, keyMask, auxLosses);
        return enc_norm.forward(x);
    }

    /// <summary>Target so far (B, T) over the encoded source → next-token logits (B, T, V_target).</summary>
    public Tensor Decode(Tensor targetIn, Tensor memory, Tensor? sourceKeyMask) => DecodeCollecting(targetIn, memory, sourceKeyMask, auxLosses: null);

    Tensor DecodeCollecting(Tensor targetIn, Tensor memory, Tensor? sourceKeyMask, List<Tensor>? auxLosses)
    {
        Require(targetIn, "target", Config.TargetVocab, Config.MaxTarget);
        var x = Embed(tgt_emb, tgt_pos, targetIn);
        var targetMask = KeyMask(targetIn);
        foreach (var block in decoder) x = block.Forward(x, memory, targetMask, sourceKeyMask, auxLosses);
        return lm_head.forward(dec_norm.forward(x));
    }

    /// <summary>Teacher-forced pass: source (B, S) and target shifted right (B, T) → logits (B, T, V_target).</summary>
    public Tensor Forward(Tensor source, Tensor targetIn) => Decode(targetIn, Encode(source), KeyMask(source));

    /// <summary>
    /// <see cref="Forward"/> that also returns the sum of this pass's mixture-of-experts load-balancing losses (a
    /// scalar, 0 for dense models), to add times a small weight to the training loss. Both belong to the caller's
    /// dispose scope; nothing is kept in the model.
    /// </summary>
    public (Tensor Logits, Tensor AuxLoss) ForwardWithAuxLoss(Tensor source, Tensor targetIn)
    {
        var auxLosses = new List<Tensor>();
        var logits = DecodeCollecting(targetIn, EncodeCollecting(source, auxLosses), KeyMask(source), auxLosses);
        return (logits, auxLosses.Count == 0 ? zeros(1, device: logits.device).squeeze() : auxLosses.Aggregate((a, b) => a + b));
    }

    /// <summary>
    /// Greedy decoding: start from &lt;bos&gt;, repeatedly append the most likely next token, stop at &lt;eos&gt; or
    /// MaxTarget tokens. Returns each row's generated ids without &lt;bos&gt; and &lt;eos&gt;.
    /// </summary>
    public long[][] GreedyDecode(Tensor source, long bos, long eos)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        return GreedyDecode(Encode(source), KeyMask(source), bos, eos);
    }

    /// <summary>Greedy decoding from an already encoded source (B, S, C), e.g. from <see cref="EncodeEmbedded"/>.</summary>
    public long[][] GreedyDecode(Tensor memory, Tensor? sourceKeyMask, long bos, long eos)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        long B = memory.shape[0];
        var generated = full(B, 1, bos, dtype: int64, device: memory.device);
        var finished = zeros(B, dtype: ScalarType.Bool, device: memory.device);
        for (int step = 1; step < Config.MaxTarget; step++)
        {
            var next = Decode(generated, memory, sourceKeyMask)[.., -1].argmax(-1);          // (B)
            next = next.masked_fill(finished, EncoderDecoderConfig.PadId);
            generated = cat(new[] { generated, next.unsqueeze(1) }, 1);
            finished = finished.logical_or(next.eq(eos));
            if (finished.all().item<bool>()) break;
        }
        var rows = generated.cpu().data<long>().ToArray();
        long width = generated.shape[1];
        return Enumerable.Range(0, (int)B).Select(b =>
            rows.Skip((int)(b * width) + 1).Take((int)width - 1).TakeWhile(id => id != eos && id != EncoderDecoderConfig.PadId).ToArray()).ToArray();
    }

    static void Require(Tensor ids, string name, int vocab, int maxLength) =>
        ShapeGuard.RequireTokenIds(ids, name, vocab, maxLength, $"the longest {name} this model handles");
}
