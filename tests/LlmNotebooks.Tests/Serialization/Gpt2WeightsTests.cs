using LlmNotebooks.Generation;
using LlmNotebooks.Serialization;
using LlmNotebooks.FineTuning;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Serialization;

/// <summary>A fact that needs GPT-2 small's real weights: skipped, with how to get them, unless they are on this machine.</summary>
public sealed class Gpt2FactAttribute : FactAttribute
{
    public Gpt2FactAttribute()
    {
        if (!Gpt2Weights.TryFind(out _, out string howToGet)) Skip = howToGet;
    }
}

public class Gpt2WeightsTests
{
    /// <summary>2 layers, 2 heads, 8 wide, vocabulary 11, context 8, GPT-2's tanh GELU.</summary>
    static readonly GptConfig Small = new(VocabSize: 11, BlockSize: 8, Layers: 2, Heads: 2, Channels: 8, TanhGelu: true);

    /// <summary>
    /// Random weights in exactly the layout of Hugging Face's GPT-2 model.safetensors: Conv1D weights stored (in, out),
    /// the causal-mask buffers h.N.attn.bias and h.N.attn.masked_bias beside them, optionally every key prefixed "transformer.".
    /// </summary>
    static Dictionary<string, Tensor> Gpt2State(GptConfig c, long seed = 1)
    {
        var g = new Generator((ulong)seed);
        Tensor R(params long[] shape) => randn(shape, generator: g) * 0.3f;
        long C = c.Channels, V = c.VocabSize, T = c.BlockSize;
        var s = new Dictionary<string, Tensor> { ["wte.weight"] = R(V, C), ["wpe.weight"] = R(T, C) };
        for (int i = 0; i < c.Layers; i++)
        {
            string h = $"h.{i}.";
            s[h + "ln_1.weight"] = 1 + R(C); s[h + "ln_1.bias"] = R(C);
            s[h + "attn.c_attn.weight"] = R(C, 3 * C); s[h + "attn.c_attn.bias"] = R(3 * C);
            s[h + "attn.c_proj.weight"] = R(C, C); s[h + "attn.c_proj.bias"] = R(C);
            s[h + "ln_2.weight"] = 1 + R(C); s[h + "ln_2.bias"] = R(C);
            s[h + "mlp.c_fc.weight"] = R(C, 4 * C); s[h + "mlp.c_fc.bias"] = R(4 * C);
            s[h + "mlp.c_proj.weight"] = R(4 * C, C); s[h + "mlp.c_proj.bias"] = R(C);
            s[h + "attn.bias"] = ones(T, T).tril().view(1, 1, T, T);
            s[h + "attn.masked_bias"] = tensor(-1e4f);
        }
        s["ln_f.weight"] = 1 + R(C); s["ln_f.bias"] = R(C);
        return s;
    }

    static string Write(string dir, Dictionary<string, Tensor> state, string prefix = "", string name = "model.safetensors")
    {
        string path = Path.Combine(dir, name);
        SafetensorsFile.Write(path, state.ToDictionary(p => prefix + p.Key, p => p.Value));
        return path;
    }

    static Tensor LayerNorm(Tensor x, Tensor w, Tensor b)
    {
        var mean = x.mean([-1], keepdim: true);
        var variance = (x - mean).square().mean([-1], keepdim: true);
        return (x - mean) / (variance + 1e-5).sqrt() * w + b;
    }

    /// <summary>GPT-2's forward written out from the Conv1D weights as they are in the file: every projection is x · W + b.</summary>
    static Tensor HandForward(Dictionary<string, Tensor> s, GptConfig c, Tensor idx)
    {
        long B = idx.shape[0], T = idx.shape[1], C = c.Channels, H = c.Heads, hs = C / H;
        var x = s["wte.weight"][idx] + s["wpe.weight"][arange(T)];
        var mask = ones(T, T).tril().eq(0);
        for (int i = 0; i < c.Layers; i++)
        {
            Tensor W(string k) => s[$"h.{i}.{k}"];
            var a = LayerNorm(x, W("ln_1.weight"), W("ln_1.bias"));
            var qkv = a.matmul(W("attn.c_attn.weight")) + W("attn.c_attn.bias");           // (B, T, 3C): q | k | v
            var q = qkv[.., .., ..(int)C].reshape(B, T, H, hs).transpose(1, 2);
            var k = qkv[.., .., (int)C..(int)(2 * C)].reshape(B, T, H, hs).transpose(1, 2);
            var v = qkv[.., .., (int)(2 * C)..].reshape(B, T, H, hs).transpose(1, 2);
            var scores = q.matmul(k.transpose(2, 3)) / Math.Sqrt(hs);
            var weights = scores.masked_fill(mask, double.NegativeInfinity).softmax(-1);
            var y = weights.matmul(v).transpose(1, 2).reshape(B, T, C);
            x = x + y.matmul(W("attn.c_proj.weight")) + W("attn.c_proj.bias");
            var m = LayerNorm(x, W("ln_2.weight"), W("ln_2.bias")).matmul(W("mlp.c_fc.weight")) + W("mlp.c_fc.bias");
            var gelu = 0.5 * m * (1 + (Math.Sqrt(2 / Math.PI) * (m + 0.044715 * m.pow(3))).tanh());
            x = x + gelu.matmul(W("mlp.c_proj.weight")) + W("mlp.c_proj.bias");
        }
        return LayerNorm(x, s["ln_f.weight"], s["ln_f.bias"]).matmul(s["wte.weight"].T);
    }

    static string TempDir() => Directory.CreateTempSubdirectory("llmnb-gpt2-").FullName;

    [Theory]
    [InlineData("")]
    [InlineData("transformer.")]
    public void A_gpt2_format_checkpoint_loads_with_its_conv1d_weights_transposed(string prefix)
    {
        string dir = TempDir();
        try
        {
            using var scope = NewDisposeScope();
            var state = Gpt2State(Small);
            string path = Write(dir, state, prefix);
            using var gpt = new Gpt(Small);
            Gpt2Weights.Load(gpt, path);

            var loaded = gpt.state_dict();
            Assert.True(TensorAssert.Same(loaded["h.0.attn.c_attn.weight"], state["h.0.attn.c_attn.weight"].T.contiguous()), "Linear holds Conv1D's Wᵀ");
            Assert.True(TensorAssert.Same(loaded["h.1.mlp.c_proj.weight"], state["h.1.mlp.c_proj.weight"].T.contiguous()));
            Assert.True(TensorAssert.Same(loaded["wte.weight"], state["wte.weight"]), "embeddings are not transposed");

            // The first block's query projection, by hand from the file (x · W + b, first C columns) and through the model.
            var idx = randint(0, 11, [2, 8], generator: new Generator(3));
            var x = state["wte.weight"][idx] + state["wpe.weight"][arange(8)];
            var a = LayerNorm(x, state["h.0.ln_1.weight"], state["h.0.ln_1.bias"]);
            var qByHand = (a.matmul(state["h.0.attn.c_attn.weight"]) + state["h.0.attn.c_attn.bias"])[.., .., ..8];
            var c_attn = (nn.Module<Tensor, Tensor>)ModuleSurgery.Find(gpt, "h.0.attn.c_attn");
            Assert.True(c_attn.forward(a)[.., .., ..8].allclose(qByHand, rtol: 0, atol: 1e-5), "the model's q projection equals x · W_q + b_q");

            using (no_grad())
                Assert.True(gpt.forward(idx).allclose(HandForward(state, Small, idx), rtol: 0, atol: 1e-4), "the whole forward equals GPT-2's, written by hand");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Half_precision_files_load_as_float32()
    {
        string dir = TempDir();
        try
        {
            using var scope = NewDisposeScope();
            var state = Gpt2State(Small);
            string path = Write(dir, state.ToDictionary(p => p.Key, p => p.Value.to(ScalarType.Float16)));
            using var gpt = new Gpt(Small);
            Gpt2Weights.Load(gpt, path);
            Assert.True(gpt.state_dict()["h.0.mlp.c_fc.weight"].allclose(state["h.0.mlp.c_fc.weight"].T, rtol: 0, atol: 1e-3));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_missing_key_is_named()
    {
        string dir = TempDir();
        try
        {
            using var scope = NewDisposeScope();
            var state = Gpt2State(Small);
            state.Remove("h.1.mlp.c_fc.bias");
            string path = Write(dir, state);
            using var gpt = new Gpt(Small);
            var e = Assert.Throws<InvalidDataException>(() => Gpt2Weights.Load(gpt, path));
            Assert.Contains("lacks 1 GPT-2 weight(s): h.1.mlp.c_fc.bias", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_weight_already_in_linear_layout_is_reported_with_key_expected_and_got()
    {
        string dir = TempDir();
        try
        {
            using var scope = NewDisposeScope();
            var state = Gpt2State(Small);
            state["h.0.attn.c_attn.weight"] = state["h.0.attn.c_attn.weight"].T.contiguous();   // (3C, C): someone transposed it already
            string path = Write(dir, state);
            using var gpt = new Gpt(Small);
            var e = Assert.Throws<InvalidDataException>(() => Gpt2Weights.Load(gpt, path));
            Assert.Contains("'h.0.attn.c_attn.weight' should be (8, 24) (Conv1D: in, out)", e.Message);
            Assert.Contains("got (24, 8)", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_file_that_is_not_gpt2_small_is_refused_with_what_it_holds()
    {
        string dir = TempDir();
        try
        {
            using var scope = NewDisposeScope();
            string path = Write(dir, Gpt2State(Small));
            var e = Assert.Throws<InvalidDataException>(() => Gpt2Weights.LoadGpt2Small(path));
            Assert.Contains("is not GPT-2 small: it holds a GPT-2 with 2 layers, 8 wide, vocabulary 11, context 8", e.Message);
            Assert.Contains(Gpt2Weights.DownloadUrl, e.Message);

            using var shallower = new Gpt(Small with { Layers = 1 });
            var extra = Assert.Throws<InvalidDataException>(() => Gpt2Weights.Load(shallower, path));
            Assert.Contains("has keys a GPT-2 with this config does not: h.1.attn.c_attn.bias", extra.Message);

            string foreign = Path.Combine(dir, "foreign.safetensors");
            SafetensorsFile.Write(foreign, new Dictionary<string, Tensor> { ["encoder.weight"] = zeros(2, 2) });
            Assert.Contains("not a GPT-2 checkpoint", Assert.Throws<InvalidDataException>(() => Gpt2Weights.LoadGpt2Small(foreign)).Message);
            Assert.Contains("No file at", Assert.Throws<FileNotFoundException>(() => Gpt2Weights.LoadGpt2Small(Path.Combine(dir, "nothing.safetensors"))).Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void TryFind_looks_at_the_variable_then_the_default_place_and_says_how_to_get_the_file()
    {
        string dir = TempDir();
        try
        {
            string file = Path.Combine(dir, "model.safetensors");
            File.WriteAllText(file, "placeholder");
            Assert.True(Gpt2Weights.TryFind(file, null, out var path, out _));
            Assert.Equal(file, path);
            Assert.True(Gpt2Weights.TryFind(dir, null, out path, out _), "a folder holding model.safetensors");
            Assert.Equal(file, path);
            Assert.True(Gpt2Weights.TryFind(null, file, out path, out _), "the default place");

            string nowhere = Path.Combine(dir, "absent", "model.safetensors");
            Assert.False(Gpt2Weights.TryFind(Path.Combine(dir, "other.safetensors"), nowhere, out path, out var howToGet));
            Assert.Equal("", path);
            Assert.Contains($"LLMNB_GPT2 is set to '{Path.Combine(dir, "other.safetensors")}', but there is no file there", howToGet);
            Assert.Contains("https://huggingface.co/openai-community/gpt2/resolve/main/model.safetensors", howToGet);
            Assert.Contains($"put it at {nowhere}", howToGet);
            Assert.EndsWith(Path.Combine("artifacts", "models", "gpt2", "model.safetensors"), Gpt2Weights.DefaultPath);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void The_key_map_covers_every_weight_of_the_model_once()
    {
        using var gpt = new Gpt(Small);
        var map = Gpt2Weights.KeyMap(Small);
        Assert.Equal(gpt.state_dict().Keys.Order(), map.Select(m => m.ModelKey).Order());
        Assert.Equal(4 * Small.Layers, map.Count(m => m.Transpose));
        Assert.Equal(Small.ParameterCount(), map.Sum(m => m.FileShape.Aggregate(1L, (a, b) => a * b)));
    }

    [Fact]
    public void A_config_with_the_exact_gelu_or_no_biases_is_refused_before_the_file_is_read()
    {
        string dir = TempDir();
        try
        {
            using var scope = NewDisposeScope();
            string path = Write(dir, Gpt2State(Small));
            using var exact = new Gpt(Small with { TanhGelu = false });
            var before = exact.state_dict().ToDictionary(p => p.Key, p => p.Value.clone());
            var e = Assert.Throws<ArgumentException>(() => Gpt2Weights.Load(exact, path));
            Assert.Equal("This model's config has TanhGelu = false (the exact GELU), but GPT-2 was trained with the tanh GELU: use GptConfig.Gpt2Small or set TanhGelu: true. " +
                         "With the exact GELU its logits would differ from GPT-2's by about 1.5e-3, silently. (Parameter 'model')", e.Message);
            Assert.All(exact.state_dict(), p => Assert.True(TensorAssert.Same(before[p.Key], p.Value)));
            using var noBias = new Gpt(Small with { Bias = false });
            Assert.StartsWith("This model's config has Bias = false, but GPT-2's Linear and LayerNorm layers have biases",
                              Assert.Throws<ArgumentException>(() => Gpt2Weights.Load(noBias, path)).Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_file_that_mixes_key_prefixes_is_refused_by_name_but_lm_head_may_go_without_one()
    {
        string dir = TempDir();
        try
        {
            using var scope = NewDisposeScope();
            var state = Gpt2State(Small);
            var mixed = state.ToDictionary(p => p.Key.StartsWith("h.1.", StringComparison.Ordinal) ? p.Key : "transformer." + p.Key, p => p.Value);
            string path = Write(dir, mixed);
            using var gpt = new Gpt(Small);
            var e = Assert.Throws<InvalidDataException>(() => Gpt2Weights.Load(gpt, path));
            Assert.StartsWith($"{path} mixes key prefixes: ", e.Message);
            Assert.Contains("keys start with \"transformer.\" (such as transformer.h.0.", e.Message);
            Assert.Contains("do not (h.1.", e.Message);
            Assert.Contains("this one was put together from different sources", e.Message);
            Assert.StartsWith($"{path} mixes key prefixes: ", Assert.Throws<InvalidDataException>(() => Gpt2Weights.LoadGpt2Small(path)).Message);

            // Hugging Face's GPT2LMHeadModel: every key under "transformer." but the (tied) lm_head.weight.
            var hf = state.ToDictionary(p => "transformer." + p.Key, p => p.Value);
            hf["lm_head.weight"] = state["wte.weight"];
            Gpt2Weights.Load(gpt, Write(dir, hf, name: "hf.safetensors"));
            Assert.True(TensorAssert.Same(gpt.state_dict()["wte.weight"], state["wte.weight"]));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Gpt2Fact]
    public void Real_gpt2_small_continues_every_effort_moves_greedily_as_published()
    {
        Assert.True(Gpt2Weights.TryFind(out var path, out _));
        using var gpt2 = Gpt2Weights.LoadGpt2Small(path);
        gpt2.eval();
        var tokenizer = new Gpt2Tokenizer();
        string text = Sampler.Generate(gpt2, tokenizer, "Every effort moves", 8, SamplingOptions.Greedy);
        Assert.StartsWith("Every effort moves forward, but it's not enough.", text);
    }

    [Theory]
    [InlineData("rms", "Norm = RmsNorm")]
    [InlineData("rope", "Positions = Rotary")]
    [InlineData("gqa", "KvHeads = 1")]
    [InlineData("window", "Window = 4")]
    [InlineData("hidden", "MlpHidden = 40")]
    public void A_modern_block_is_refused_by_the_option_GPT2_lacks(string variant, string named)
    {
        var gpt2 = new GptConfig(VocabSize: 11, BlockSize: 8, Layers: 1, Heads: 2, Channels: 16, TanhGelu: true);
        var config = variant switch
        {
            "rms" => gpt2 with { Norm = NormKind.RmsNorm },
            "rope" => gpt2 with { Positions = PositionKind.Rotary },
            "gqa" => gpt2 with { KvHeads = 1 },
            "window" => gpt2 with { Window = 4 },
            _ => gpt2 with { MlpHidden = 40 },
        };
        using var model = new Gpt(config);
        var e = Assert.Throws<ArgumentException>(() => Gpt2Weights.Load(model, "never-read.safetensors"));
        Assert.Contains(named, e.Message);
        Assert.Contains("LlamaWeights", e.Message);
        using var explicitDefault = new Gpt(gpt2 with { MlpHidden = 64 });            // 4C written out is still GPT-2's block
        Assert.IsNotType<ArgumentException>(Record.Exception(() => Gpt2Weights.Load(explicitDefault, "never-read.safetensors")));
    }
}
