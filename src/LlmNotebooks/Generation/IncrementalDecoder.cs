using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace LlmNotebooks.Generation;

/// <summary>
/// Generation with a key/value cache. <see cref="Gpt.forward"/> reads the whole sequence every time, so writing n
/// tokens after a prompt costs about n²/2 token passes; but a causal model's keys and values at the earlier positions
/// never change when a token is appended. This decoder keeps them (per layer, (B, H, BlockSize, hs)) and computes only
/// the newest position: one token pass per new token. It reads the <see cref="Gpt"/>'s own parameters (by their
/// GPT-2 names, not a copy) and computes exactly what <see cref="Gpt.forward"/> computes at the last position, up to
/// float rounding (the tests check it); a model whose layers were swapped (LoRA, quantization) is not
/// <see cref="Supports">supported</see>, and <see cref="BatchedGeneration"/> then falls back to full forward passes.
/// <code>
/// using var decoder = new IncrementalDecoder(model, batch: B);
/// Tensor logits = null!;
/// foreach (var column in promptColumns) logits = decoder.Step(column);   // (B) ids in → (B, V) next-token scores out
/// </code>
/// Call it inside no_grad (it builds no graph worth keeping) and in a dispose scope per step.
/// </summary>
public sealed class IncrementalDecoder : IDisposable
{
    sealed record Layer(Tensor Ln1W, Tensor Ln1B, Tensor AttnW, Tensor? AttnB, Tensor ProjW, Tensor? ProjB,
                        Tensor Ln2W, Tensor Ln2B, Tensor FcW, Tensor? FcB, Tensor MlpW, Tensor? MlpB, Tensor Keys, Tensor Values);

    const double LayerNormEpsilon = 1e-5;                  // TorchSharp's (and PyTorch's) LayerNorm default, which Gpt uses
    readonly GptConfig _config;
    readonly Tensor _wte, _wpe, _lnfW, _lnfB;
    readonly List<Layer> _layers = [];
    readonly long _batch, _heads, _headSize;

    /// <summary>How many positions have been fed so far (the next token goes to this position).</summary>
    public int Position { get; private set; }

    /// <summary>Whether <paramref name="model"/> is a plain Gpt whose parameters this decoder can read (not one with LoRA or quantized layers).</summary>
    public static bool Supports(Gpt model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        return model.Config.Dropout == 0 && RequiredNames(model.Config).All(names.Contains) && names.Count == ExpectedCount(model.Config);
    }

    /// <summary>A decoder for <paramref name="batch"/> sequences that start empty (position 0).</summary>
    public IncrementalDecoder(Gpt model, int batch)
    {
        ArgumentNullException.ThrowIfNull(model);
        Guard.AtLeast(batch, 1, nameof(batch));
        if (!Supports(model))
            throw new ArgumentException("This model is not a plain Gpt (its layers were replaced, e.g. by LoRA adapters or a quantized base, or it uses dropout): " +
                                        "generate with Gpt.forward instead (BatchedGeneration does so by itself).", nameof(model));
        _config = model.Config;
        _batch = batch;
        _heads = _config.Heads;
        _headSize = _config.Channels / _config.Heads;
        var p = model.named_parameters().ToDictionary(x => x.name, x => (Tensor)x.parameter);
        Tensor? Maybe(string name) => p.TryGetValue(name, out var t) ? t : null;
        _wte = p["wte.weight"]; _wpe = p["wpe.weight"]; _lnfW = p["ln_f.weight"]; _lnfB = p["ln_f.bias"];
        var device = _wte.device;
        for (int i = 0; i < _config.Layers; i++)
        {
            string h = $"h.{i}.";
            _layers.Add(new Layer(p[h + "ln_1.weight"], p[h + "ln_1.bias"], p[h + "attn.c_attn.weight"], Maybe(h + "attn.c_attn.bias"),
                                  p[h + "attn.c_proj.weight"], Maybe(h + "attn.c_proj.bias"), p[h + "ln_2.weight"], p[h + "ln_2.bias"],
                                  p[h + "mlp.c_fc.weight"], Maybe(h + "mlp.c_fc.bias"), p[h + "mlp.c_proj.weight"], Maybe(h + "mlp.c_proj.bias"),
                                  zeros(batch, _heads, _config.BlockSize, _headSize, device: device).DetachFromDisposeScope(),
                                  zeros(batch, _heads, _config.BlockSize, _headSize, device: device).DetachFromDisposeScope()));
        }
    }

    /// <summary>
    /// Feeds one token per sequence, <paramref name="tokens"/> (B) int64, at <see cref="Position"/>, and returns the
    /// scores for the token after it, (B, V) — what <c>model.forward(sequence)[.., -1]</c> would give.
    /// </summary>
    public Tensor Step(Tensor tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.dim() != 1 || tokens.shape[0] != _batch)
            throw new ArgumentException($"Step takes one token id per sequence, shape ({_batch}), got ({string.Join(", ", tokens.shape)}).", nameof(tokens));
        if (Position >= _config.BlockSize)
            throw new InvalidOperationException($"All {_config.BlockSize} positions of the context window are filled: the model has no position for another token.");
        int t = Position;
        long C = _config.Channels;
        var x = _wte.index_select(0, tokens) + _wpe[t];                                    // (B, C)
        foreach (var layer in _layers)
        {
            var a = F.layer_norm(x, [C], layer.Ln1W, layer.Ln1B, LayerNormEpsilon);
            var qkv = F.linear(a, layer.AttnW, layer.AttnB).split(C, dim: 1);              // 3 × (B, C)
            var q = qkv[0].view(_batch, _heads, 1, _headSize);                             // (B, H, 1, hs)
            layer.Keys[.., .., t] = qkv[1].view(_batch, _heads, _headSize);                  // the cache grows by one position
            layer.Values[.., .., t] = qkv[2].view(_batch, _heads, _headSize);
            var keys = layer.Keys[.., .., ..(t + 1)];                                        // (B, H, t+1, hs): everything so far
            var values = layer.Values[.., .., ..(t + 1)];
            var weights = softmax(q.matmul(keys.transpose(2, 3)) / Math.Sqrt(_headSize), -1); // (B, H, 1, t+1); no mask: all are in the past
            var y = weights.matmul(values).view(_batch, C);                                  // (B, C)
            x = x + F.linear(y, layer.ProjW, layer.ProjB);
            var m = F.layer_norm(x, [C], layer.Ln2W, layer.Ln2B, LayerNormEpsilon);
            var gelu = _config.TanhGelu ? TorchSharp.Modules.GELU.Approximate.tanh : TorchSharp.Modules.GELU.Approximate.none;
            x = x + F.linear(F.gelu(F.linear(m, layer.FcW, layer.FcB), gelu), layer.MlpW, layer.MlpB);
        }
        Position++;
        return F.layer_norm(x, [C], _lnfW, _lnfB, LayerNormEpsilon).matmul(_wte.T);        // (B, V)
    }

    public void Dispose()
    {
        foreach (var layer in _layers) { layer.Keys.Dispose(); layer.Values.Dispose(); }
        _layers.Clear();
    }

    static IEnumerable<string> RequiredNames(GptConfig config) =>
        new[] { "wte.weight", "wpe.weight", "ln_f.weight", "ln_f.bias" }.Concat(Enumerable.Range(0, config.Layers).SelectMany(i =>
            new[] { "ln_1.weight", "ln_1.bias", "ln_2.weight", "ln_2.bias", "attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight" }
                .Select(n => $"h.{i}.{n}")));

    static int ExpectedCount(GptConfig config) => 4 + config.Layers * (8 + (config.Bias ? 4 : 0));
}
