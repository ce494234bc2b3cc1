using LlmNotebooks.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Transformer;

/// <summary>
/// A decoder-only transformer (GPT): token embeddings plus learned positions, a stack of <see cref="GptBlock"/>s,
/// a final LayerNorm (with <see cref="GptConfig"/>'s options: rotary positions, RMSNorm, SwiGLU, grouped-query attention, QK-norm
/// and a sliding window, the Llama-family block of chapter 7), and logits over the vocabulary through the token embedding matrix itself (weight tying: the same
/// matrix reads tokens in and scores them out). Field names follow GPT-2's checkpoint keys (wte, wpe, h, ln_f).
/// <code>
/// var gpt = new Gpt(GptConfig.Baby);
/// var logits = gpt.forward(tokens);   // (B, T) token ids → (B, T, V) scores for the next token at every position
/// </code>
/// </summary>
public sealed class Gpt : Module<Tensor, Tensor>
{
    readonly Embedding wte;
    readonly Embedding? wpe;                     // learned positions; null with rotary positions (they live in attention)
    readonly Dropout drop;
    readonly ModuleList<GptBlock> h;
    readonly Module<Tensor, Tensor> ln_f;

    public GptConfig Config { get; }

    /// <summary>The blocks, for inspection (e.g. to keep attention weights for a chart).</summary>
    public IReadOnlyList<GptBlock> Blocks => h.ToList();

    public Gpt(GptConfig config, string name = "gpt") : base(name)
    {
        config.Validate();
        Config = config;
        wte = Embedding(config.VocabSize, config.Channels);
        if (config.Positions == PositionKind.Learned) wpe = Embedding(config.BlockSize, config.Channels);
        drop = Dropout(config.Dropout);
        h = ModuleList(Enumerable.Range(0, config.Layers).Select(i => new GptBlock(config, $"block{i}")).ToArray());
        ln_f = GptBlock.NewNorm(config);
        RegisterComponents();
        InitWeights();
    }

    /// <summary>GPT-2's initialisation: normal(0, 0.02) weights, zero biases, and the residual projections scaled by 1/√(2L).</summary>
    void InitWeights()
    {
        using var _ = no_grad();
        // normal_ and zero_ return tensor handles of their own: without a scope they would live until the GC runs, and
        // a disposed model's memory with them (+9 MB of RSS per model built and disposed in a loop).
        using var scope = NewDisposeScope();
        foreach (var (name, p) in named_parameters())
        {
            if (name.EndsWith(".bias")) { p.zero_(); continue; }
            if (name.StartsWith("ln_") || name.Contains(".ln_") || name.EndsWith("_norm.weight")) continue;   // norm gains stay 1
            double std = name.EndsWith("c_proj.weight") ? 0.02 / Math.Sqrt(2 * Config.Layers) : 0.02;
            init.normal_(p, 0, std);
        }
    }

    /// <summary>Token ids (B, T), T ≤ BlockSize, each in [0, VocabSize) → logits (B, T, V).</summary>
    public override Tensor forward(Tensor idx) => Logits(Hidden(idx));

    /// <summary>
    /// The same forward pass, through a key/value <paramref name="cache"/> (<see cref="NewCache"/>): <paramref name="idx"/>
    /// (B, T) are the tokens after the cache's <see cref="KvCache.Position"/> (at positions Position … Position + T − 1), and the
    /// logits (B, T, V) are what <see cref="forward(Tensor)"/> of the whole sequence gives at those positions (up to float
    /// rounding). The cache then holds T more positions. Without a cache (null) this is <see cref="forward(Tensor)"/>.
    /// </summary>
    public Tensor forward(Tensor idx, KvCache? cache) => Logits(Hidden(idx, cache));

    /// <summary>A key/value cache for decoding <paramref name="batch"/> sequences with this model (up to BlockSize positions).</summary>
    public KvCache NewCache(long batch) => new(Config.Layers, batch, Config.BlockSize);

    /// <summary>
    /// The last layer's token vectors (B, T, C), after the final LayerNorm: what the output layer scores. A reward model
    /// or a critic puts a head of its own on them (chapter 6). With a <paramref name="cache"/>, as in <see cref="forward(Tensor, KvCache)"/>.
    /// </summary>
    public Tensor Hidden(Tensor idx, KvCache? cache = null)
    {
        long start = cache?.Position ?? 0;
        RequireTokens(idx);
        long T = idx.shape[1];
        if (cache is not null)
        {
            if (cache.Layers != Config.Layers)
                throw new ArgumentException($"This cache has {cache.Layers} layer slots but the model has {Config.Layers} blocks: make it with model.NewCache(batch).", nameof(cache));
            cache.RequireRoom(idx.shape[0], T);
        }
        var x = wte.forward(idx);                                                    // (B, T, C)
        if (wpe is not null) x = x + wpe.forward(arange(start, start + T, dtype: int64, device: idx.device));   // rotary positions: in attention instead
        if (Config.Dropout > 0) x = drop.forward(x);
        for (int i = 0; i < h.Count; i++) x = h[i].forward(x, cache, i);
        cache?.Advance(T);
        return ln_f.forward(x);
    }

    /// <summary>Token vectors (B, T, C) from <see cref="Hidden"/> → logits (B, T, V) through the tied output layer.</summary>
    public Tensor Logits(Tensor hidden) => hidden.matmul(wte.weight!.T);

    /// <summary>
    /// A new model with this one's configuration and a copy of its weights, independent of it (training one does not
    /// change the other); in eval mode with every parameter frozen when <paramref name="frozen"/> is true, as the
    /// reference model of RLHF is.
    /// </summary>
    public Gpt Copy(bool frozen = false)
    {
        var copy = new Gpt(Config, GetName());
        using (no_grad())
        {
            var source = named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in copy.named_parameters()) p.copy_(source[name]);
        }
        if (frozen)
        {
            foreach (var p in copy.parameters()) p.requires_grad = false;
            copy.eval();
        }
        else copy.train(training);
        return copy;
    }

    void RequireTokens(Tensor idx) =>
        ShapeGuard.RequireTokenIds(idx, "sequence", Config.VocabSize, Config.BlockSize, "the context window (BlockSize)");
}
