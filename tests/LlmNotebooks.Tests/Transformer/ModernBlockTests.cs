using System.Text.Json;
using LlmNotebooks.Tensors;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Transformer;

/// <summary>Chapter 7's pieces (RMSNorm, RoPE, SwiGLU, grouped-query attention, QK-norm, sliding window), each by a property that fails if it is wrong.</summary>
public class ModernBlockTests
{
    static readonly GptConfig Small = new(VocabSize: 13, BlockSize: 12, Layers: 2, Heads: 4, Channels: 16);

    static Gpt RandomModel(GptConfig config, int seed)
    {
        manual_seed(seed);
        var model = new Gpt(config);
        // Larger weights than the init (norm gains included), so that contexts give clearly different next tokens.
        using (no_grad()) foreach (var (name, p) in model.named_parameters()) if (p.dim() >= 2) p.mul_(8); else p.add_(randn_like(p) * 0.3);
        model.eval();
        return model;
    }

    static void Close(Tensor expected, Tensor actual, double atol, string what) =>
        Assert.True(expected.shape.SequenceEqual(actual.shape) && actual.allclose(expected, rtol: 0, atol: atol),
            $"{what}: max difference {(expected.shape.SequenceEqual(actual.shape) ? (actual - expected).abs().max().to(float64).item<double>() : double.NaN)}");

    [Fact]
    public void RmsNormGivesUnitRmsAndIsLayerNormWithoutCentringOnZeroMeanInput()
    {
        using var _ = no_grad();
        using var norm = new RmsNorm(8);
        var x = randn([5, 3, 8], generator: new Generator(1)) * 7 + 2;
        var y = norm.forward(x);
        Close(ones(5, 3), y.square().mean([-1]).sqrt(), 1e-4, "RMS of each output vector");
        // By hand: x / √(mean(x²) + ε).
        Close(x / (x.square().mean([-1], keepdim: true) + 1e-5).sqrt(), y, 1e-5, "the formula");
        // On vectors with mean 0, LayerNorm's variance is mean(x²): the two agree (LayerNorm's gain 1, bias 0).
        var centred = x - x.mean([-1], keepdim: true);
        using var layerNorm = nn.LayerNorm(8);
        Close(layerNorm.forward(centred), norm.forward(centred), 1e-5, "RMSNorm vs LayerNorm on zero-mean input");
        // …and disagree where the mean is not 0 (the property would pass for a LayerNorm otherwise).
        Assert.False(layerNorm.forward(x).allclose(y, rtol: 0, atol: 1e-2));
        var err = Assert.Throws<ArgumentException>(() => norm.forward(ones(2, 7)));
        Assert.Contains("size 8", err.Message);
        Assert.Contains("eps", Assert.Throws<ArgumentException>(() => new RmsNorm(8, eps: 0)).Message);
    }

    [Fact]
    public void RotaryKeepsNormsAndMakesScoresDependOnlyOnTheDistance()
    {
        var q = randn([1, 2, 1, 8], dtype: float64, generator: new Generator(2));   // one query, one key vector, d = 8
        var k = randn([1, 2, 1, 8], dtype: float64, generator: new Generator(3));
        Close(q.norm(-1), Rotary.Apply(q, 37).norm(-1), 1e-12, "norm after rotation");
        double Score(long m, long n) => (Rotary.Apply(q, m) * Rotary.Apply(k, n)).sum().item<double>();
        foreach (var (m, n) in new[] { (5L, 2L), (9L, 0L), (3L, 3L) })
            foreach (long shift in new long[] { 1, 17, 400 })
                Assert.Equal(Score(m, n), Score(m + shift, n + shift), 9);
        Assert.NotEqual(Score(5, 2), Score(5, 3), 3);                                      // …and it does depend on the distance
        // The complex form: pair i is the number x_i + i·x_{i+d/2}, multiplied by e^{i·m·θ_i}, θ_i = 10000^(−2i/d).
        var x = q[0, 0, 0];
        long m0 = 11;
        var rotated = Rotary.Apply(q, m0)[0, 0, 0];
        for (int i = 0; i < 4; i++)
        {
            double angle = m0 * Math.Pow(10000, -2.0 * i / 8);
            var z = new System.Numerics.Complex(x[i].item<double>(), x[i + 4].item<double>()) * System.Numerics.Complex.FromPolarCoordinates(1, angle);
            Assert.Equal(z.Real, rotated[i].item<double>(), 12);
            Assert.Equal(z.Imaginary, rotated[i + 4].item<double>(), 12);
        }
        Assert.Contains("even", Assert.Throws<ArgumentException>(() => Rotary.Apply(ones(1, 2, 3), 0)).Message);
        Assert.Contains("base", Assert.Throws<ArgumentException>(() => Rotary.Apply(ones(1, 2, 4), 0, theta: 1)).Message);
        Assert.Contains("start", Assert.Throws<ArgumentException>(() => Rotary.Apply(ones(1, 2, 4), -1)).Message);
    }

    [Fact]
    public void SwiGluIsTheGatedFormulaAndItsDefaultHiddenSizeKeepsTheGeluParameterCount()
    {
        using var _ = no_grad();
        manual_seed(4);
        using var mlp = new SwiGluFeedForward(12, 32);
        var x = randn([3, 5, 12], generator: new Generator(5));
        var p = mlp.named_parameters().ToDictionary(q => q.name, q => q.parameter);
        var gate = p["c_fc.weight"][..32];
        var up = p["c_fc.weight"][32..];
        var byHand = (nn.functional.silu(x.matmul(gate.T)) * x.matmul(up.T)).matmul(p["c_proj.weight"].T);
        Close(byHand, mlp.forward(x), 1e-5, "SwiGLU by hand");
        foreach (int C in new[] { 48, 96, 128, 768 })
        {
            var gelu = new GptConfig(100, 16, 2, 4, C, Bias: false);
            var swiglu = gelu with { Mlp = MlpKind.SwiGlu };
            long geluMlp = 2L * C * gelu.FeedForwardHidden, swigluMlp = 3L * C * swiglu.FeedForwardHidden;
            Assert.True(Math.Abs(swigluMlp - geluMlp) <= 3L * C, $"C = {C}: SwiGLU {swigluMlp} vs GELU {geluMlp} weights");
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(1)]
    public void GroupedQueryAttentionEqualsMultiHeadAttentionWithEachKeyValueHeadCopiedToItsGroup(int kvHeads)
    {
        using var _ = no_grad();
        const int C = 16, H = 4, hs = C / H;
        manual_seed(6);
        using var grouped = new CausalSelfAttention(C, H, kvHeads: kvHeads, bias: true);
        using var full = new CausalSelfAttention(C, H, bias: true);
        var g = grouped.named_parameters().ToDictionary(q => q.name, q => q.parameter);
        var f = full.named_parameters().ToDictionary(q => q.name, q => q.parameter);
        Assert.Equal(new long[] { C + 2 * kvHeads * hs, C }, g["c_attn.weight"].shape);
        // Query head j uses key/value head j / (H / kv): copy those rows into a full multi-head layer.
        Tensor Expand(Tensor rows) => cat(Enumerable.Range(0, H).Select(j => rows.narrow(0, (j / (H / kvHeads)) * hs, hs)).ToArray(), 0);
        var gw = g["c_attn.weight"]; var gb = g["c_attn.bias"];
        f["c_attn.weight"].copy_(cat([gw[..C], Expand(gw[C..(C + kvHeads * hs)]), Expand(gw[(C + kvHeads * hs)..])], 0));
        f["c_attn.bias"].copy_(cat([gb[..C], Expand(gb[C..(C + kvHeads * hs)]), Expand(gb[(C + kvHeads * hs)..])], 0));
        f["c_proj.weight"].copy_(g["c_proj.weight"]); f["c_proj.bias"].copy_(g["c_proj.bias"]);
        var x = randn([2, 7, C], generator: new Generator(7));
        Close(full.forward(x), grouped.forward(x), 1e-5, $"{kvHeads} key/value heads vs copied multi-head");
        // With as many key/value heads as query heads it is multi-head attention: the same layer, bit for bit.
        manual_seed(8); using var explicitHeads = new CausalSelfAttention(C, H, kvHeads: H);
        manual_seed(8); using var plain = new CausalSelfAttention(C, H);
        Assert.True(TensorAssert.Same(plain.forward(x), explicitHeads.forward(x)));
        Assert.Contains("divide", Assert.Throws<ArgumentException>(() => new CausalSelfAttention(C, H, kvHeads: 3)).Message);
    }

    [Fact]
    public void QkNormGivesEachHeadsQueriesAndKeysUnitRms()
    {
        using var _ = no_grad();
        const int C = 16, H = 2, hs = 8;
        manual_seed(9);
        using var attn = new CausalSelfAttention(C, H, qkNorm: true) { KeepWeights = true };
        using var plain = new CausalSelfAttention(C, H) { KeepWeights = true };
        var p = attn.named_parameters().ToDictionary(q => q.name, q => q.parameter);
        Assert.Equal(new[] { "c_attn.weight", "c_attn.bias", "c_proj.weight", "c_proj.bias", "q_norm.weight", "k_norm.weight" }.Order(), p.Keys.Order());
        plain.named_parameters().ToList().ForEach(q => q.parameter.copy_(p[q.name]));
        var x = randn([1, 5, C], generator: new Generator(10)) * 30;
        attn.forward(x); plain.forward(x);
        // By hand: normalise q and k per head, then softmax(q·kᵀ/√hs) with the causal mask.
        var qkv = x.matmul(p["c_attn.weight"].T) + p["c_attn.bias"];
        Tensor Heads(Tensor t) => t.view(1, 5, H, hs).transpose(1, 2);
        Tensor Rms(Tensor t) => t / (t.square().mean([-1], keepdim: true) + 1e-5).sqrt();
        var q = Rms(Heads(qkv[.., .., ..C])); var k = Rms(Heads(qkv[.., .., C..(2 * C)]));
        var scores = q.matmul(k.transpose(-2, -1)) / Math.Sqrt(hs);
        var weights = scores.masked_fill(ones(5, 5, dtype: ScalarType.Bool).tril().logical_not(), double.NegativeInfinity).softmax(-1);
        Close(weights, attn.LastWeights!, 1e-5, "QK-norm attention weights by hand");
        Assert.False(plain.LastWeights!.allclose(attn.LastWeights!, rtol: 0, atol: 1e-3));   // the norm changed something
    }

    [Fact]
    public void ASlidingWindowAsLongAsTheSequenceIsFullCausalAttentionAndAShortOneForgetsTheRest()
    {
        using var _ = no_grad();
        var modern = Small.Modernized() with { KvHeads = 2 };
        using var full = RandomModel(modern, 11);
        using var covering = RandomModel(modern with { Window = Small.BlockSize }, 11);
        var tokens = randint(0, 13, [2, 12], dtype: int64, generator: new Generator(12));
        Assert.True(TensorAssert.Same(full.forward(tokens), covering.forward(tokens)));
        // Window 3 in one layer: position p reads tokens p−2 … p only, so changing the first tokens changes nothing from position 4 on
        // (two layers: p − 4 … p).
        using var windowed = RandomModel(modern with { Window = 3 }, 11);
        var changed = tokens.clone(); changed[.., ..2] = (changed[.., ..2] + 1) % 13;
        var a = windowed.forward(tokens); var b = windowed.forward(changed);
        Close(a[.., 6..], b[.., 6..], 1e-5, "positions beyond the two-layer window's reach");
        Assert.False(a[.., 2..4].allclose(b[.., 2..4], rtol: 0, atol: 1e-3));
        Assert.False(full.forward(changed)[.., 6..].allclose(full.forward(tokens)[.., 6..], rtol: 0, atol: 1e-3));   // without a window it does change
    }

    public static TheoryData<string> Variants => new() { "modern", "gqa", "mqa+qknorm", "window", "rotary-only", "rms-only", "swiglu-only" };

    static GptConfig Variant(string name) => name switch
    {
        "modern" => Small.Modernized(),
        "gqa" => Small.Modernized() with { KvHeads = 2 },
        "mqa+qknorm" => Small.Modernized() with { KvHeads = 1, QkNorm = true },
        "window" => Small.Modernized() with { KvHeads = 2, Window = 4 },
        "rotary-only" => Small with { Positions = PositionKind.Rotary },
        "rms-only" => Small with { Norm = NormKind.RmsNorm },
        "swiglu-only" => Small with { Mlp = MlpKind.SwiGlu },
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void EveryVariantCountsItsParametersAndDecodesCachedAsTheFullForward(string variant)
    {
        var config = Variant(variant);
        using var model = RandomModel(config, 13);
        Assert.Equal(config.ParameterCount(), model.parameters().Sum(p => p.numel()));
        using var _ = no_grad();
        var tokens = randint(0, 13, [2, 12], dtype: int64, generator: new Generator(14));
        var full = model.forward(tokens);
        using var cache = model.NewCache(batch: 2);
        Close(full[.., ..5], model.forward(tokens[.., ..5], cache), 1e-5, $"{variant}: prefill");
        Close(full[.., 5..8], model.forward(tokens[.., 5..8], cache), 1e-5, $"{variant}: a chunk after the cache");
        for (int t = 8; t < 12; t++) Close(full[.., t], model.forward(tokens[.., t..(t + 1)], cache)[.., 0], 1e-5, $"{variant}: step {t}");
        // The cache holds key/value heads only: 2 · layers · B · kv · T · hs · 4 bytes.
        Assert.Equal(2L * config.Layers * 2 * config.KeyValueHeads * config.BlockSize * config.HeadSize * 4, cache.Bytes);
        Assert.Equal(new long[] { 2, config.KeyValueHeads, 12, config.HeadSize }, cache.Keys(0).shape);
    }

    [Fact]
    public void TheDefaultsAreGpt2sBlockAndOldCheckpointsReadBackUnchanged()
    {
        // Every earlier config reads back from JSON that has none of the new fields, equal to the one built today.
        var old = """{"VocabSize":65,"BlockSize":64,"Layers":4,"Heads":4,"Channels":128,"Dropout":0,"Bias":true,"TanhGelu":false}""";
        Assert.Equal(GptConfig.Baby, JsonSerializer.Deserialize<GptConfig>(old));
        var modern = Small.Modernized() with { KvHeads = 2, QkNorm = true, Window = 5, RopeTheta = 5e5, MlpHidden = 40 };
        Assert.Equal(modern, JsonSerializer.Deserialize<GptConfig>(JsonSerializer.Serialize(modern)));
        // GPT-2 small's count, as published (124,439,808 with the tied output layer).
        Assert.Equal(124_439_808, GptConfig.Gpt2Small.ParameterCount());
        using var gpt = new Gpt(GptConfig.Tiny);
        Assert.Equal(
            ["wte.weight", "wpe.weight", "h.0.ln_1.weight", "h.0.ln_1.bias", "h.0.ln_2.weight", "h.0.ln_2.bias",
             "h.0.attn.c_attn.weight", "h.0.attn.c_attn.bias", "h.0.attn.c_proj.weight", "h.0.attn.c_proj.bias", "h.0.mlp.c_fc.weight", "h.0.mlp.c_fc.bias", "h.0.mlp.c_proj.weight", "h.0.mlp.c_proj.bias"],
            gpt.named_parameters().Select(p => p.name).Take(14));
        using var llama = new Gpt(GptConfig.Tiny.Modernized() with { QkNorm = true });
        Assert.Equal(
            ["wte.weight", "h.0.ln_1.weight", "h.0.ln_2.weight", "h.0.attn.c_attn.weight", "h.0.attn.c_proj.weight", "h.0.attn.q_norm.weight",
             "h.0.attn.k_norm.weight", "h.0.mlp.c_fc.weight", "h.0.mlp.c_proj.weight"],
            llama.named_parameters().Select(p => p.name).Take(9));
        // Norm gains start at 1 (the init must not draw them at random).
        foreach (var (name, p) in llama.named_parameters().Where(p => p.name.Contains("norm") || p.name.Contains("ln_")))
            Assert.True(p.eq(1).all().item<bool>(), name);
    }

    [Theory]
    [InlineData("KvHeads", "divide")]
    [InlineData("Window", "at least 1")]
    [InlineData("Positions", "Learned")]
    [InlineData("RopeTheta", "above 1")]
    [InlineData("NormEps", "small positive")]
    [InlineData("MlpHidden", "positive")]
    [InlineData("OddHead", "even")]
    public void ABadOptionIsRefusedByName(string field, string expected)
    {
        var bad = field switch
        {
            "KvHeads" => Small with { KvHeads = 3 },
            "Window" => Small with { Window = 0 },
            "Positions" => Small with { Positions = PositionKind.Sinusoidal },
            "RopeTheta" => Small.Modernized() with { RopeTheta = double.NaN },
            "NormEps" => Small with { NormEps = -1 },
            "MlpHidden" => Small with { MlpHidden = 0 },
            "OddHead" => new GptConfig(13, 8, 1, 2, 6, Positions: PositionKind.Rotary),
            _ => throw new ArgumentException(field),
        };
        var err = Assert.Throws<ArgumentException>(() => new Gpt(bad));
        Assert.Contains(expected, err.Message);
        Assert.Contains(field == "OddHead" ? "head size" : field, err.Message);
    }
}
