using System.Text.Json.Nodes;
using LlmNotebooks.Generation;
using LlmNotebooks.Serialization;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Serialization;

/// <summary>A fact that needs SmolLM2-135M's real files: skipped, with how to get them, unless they are in LlamaWeights.DefaultFolder.</summary>
public sealed class SmolLm2FactAttribute : FactAttribute
{
    public SmolLm2FactAttribute()
    {
        string? folder = LlamaWeights.DefaultFolder;
        if (folder is null || LlamaWeights.Files.Any(f => !File.Exists(Path.Combine(folder, f)))) Skip = LlamaWeights.HowToGet;
    }
}

public class LlamaWeightsTests
{
    // 2 layers, hidden 16, 4 heads of 4, 2 key/value heads, intermediate 24, vocabulary 50.
    const int C = 16, Heads = 4, KvHeads = 2, Layers = 2, Hidden = 24, Vocab = 50, MaxPositions = 32;
    const double Theta = 10000, Eps = 1e-5;

    static string TempDir() => Directory.CreateTempSubdirectory("llmnb-llama-").FullName;

    static JsonObject Config() => new()
    {
        ["architectures"] = new JsonArray("LlamaForCausalLM"),
        ["model_type"] = "llama",
        ["hidden_size"] = C,
        ["intermediate_size"] = Hidden,
        ["num_attention_heads"] = Heads,
        ["num_key_value_heads"] = KvHeads,
        ["num_hidden_layers"] = Layers,
        ["rms_norm_eps"] = Eps,
        ["rope_theta"] = Theta,
        ["vocab_size"] = Vocab,
        ["max_position_embeddings"] = MaxPositions,
        ["tie_word_embeddings"] = true,
        ["hidden_act"] = "silu",
        ["attention_bias"] = false,
        ["mlp_bias"] = false,
        ["rope_scaling"] = null,
        ["head_dim"] = C / Heads,
        ["torch_dtype"] = "bfloat16",
    };

    /// <summary>Random weights with exactly the keys and shapes of Hugging Face's LlamaForCausalLM (tied: no lm_head).</summary>
    static Dictionary<string, Tensor> State(long seed = 1)
    {
        var g = new Generator((ulong)seed);
        Tensor R(params long[] shape) => randn(shape, generator: g) * 0.3f;
        long kv = KvHeads * (C / Heads);
        var s = new Dictionary<string, Tensor> { ["model.embed_tokens.weight"] = R(Vocab, C) };
        for (int i = 0; i < Layers; i++)
        {
            string p = $"model.layers.{i}.";
            s[p + "input_layernorm.weight"] = 1 + R(C) / 3;
            s[p + "self_attn.q_proj.weight"] = R(C, C);
            s[p + "self_attn.k_proj.weight"] = R(kv, C);
            s[p + "self_attn.v_proj.weight"] = R(kv, C);
            s[p + "self_attn.o_proj.weight"] = R(C, C);
            s[p + "post_attention_layernorm.weight"] = 1 + R(C) / 3;
            s[p + "mlp.gate_proj.weight"] = R(Hidden, C);
            s[p + "mlp.up_proj.weight"] = R(Hidden, C);
            s[p + "mlp.down_proj.weight"] = R(C, Hidden);
        }
        s["model.norm.weight"] = 1 + R(C) / 3;
        return s;
    }

    /// <summary>Writes config.json and model.safetensors (every tensor in <paramref name="dtype"/>) into <paramref name="dir"/>.</summary>
    static void WriteFolder(string dir, Dictionary<string, Tensor> state, ScalarType dtype = ScalarType.Float32, JsonObject? config = null)
    {
        File.WriteAllText(Path.Combine(dir, LlamaWeights.ConfigFile), (config ?? Config()).ToJsonString());
        SafetensorsFile.Write(Path.Combine(dir, LlamaWeights.WeightsFile), state.ToDictionary(p => p.Key, p => p.Value.is_floating_point() ? p.Value.to(dtype) : p.Value));
    }

    // ---- Hugging Face's Llama forward, written out from modeling_llama.py's formulas on the file's own tensors ----

    static Tensor RmsNorm(Tensor x, Tensor w) => w * (x * (x.square().mean([-1], keepdim: true) + Eps).rsqrt());

    static Tensor RotateHalf(Tensor x)
    {
        long half = x.shape[^1] / 2;
        return cat([-x.narrow(-1, half, half), x.narrow(-1, 0, half)], -1);
    }

    static Tensor HandForward(Dictionary<string, Tensor> file, Tensor idx)
    {
        var s = file.ToDictionary(p => p.Key, p => p.Value.to(ScalarType.Float32));
        long B = idx.shape[0], T = idx.shape[1], hs = C / Heads, rep = Heads / KvHeads;
        var invFreq = 1.0f / pow(tensor((float)Theta), arange(0, hs, 2, dtype: ScalarType.Int64).to(ScalarType.Float32) / hs);   // 1/θ^(2i/d)
        var freqs = arange(T, dtype: ScalarType.Float32).outer(invFreq);                                                       // (T, hs/2)
        var emb = cat([freqs, freqs], -1);
        Tensor cos = emb.cos(), sin = emb.sin();
        var masked = ones(T, T).tril().eq(0);

        var x = s["model.embed_tokens.weight"][idx];
        for (int i = 0; i < Layers; i++)
        {
            Tensor W(string k) => s[$"model.layers.{i}.{k}"];
            var h = RmsNorm(x, W("input_layernorm.weight"));
            var q = h.matmul(W("self_attn.q_proj.weight").T).view(B, T, Heads, hs).transpose(1, 2);
            var k = h.matmul(W("self_attn.k_proj.weight").T).view(B, T, KvHeads, hs).transpose(1, 2);
            var v = h.matmul(W("self_attn.v_proj.weight").T).view(B, T, KvHeads, hs).transpose(1, 2);
            q = q * cos + RotateHalf(q) * sin;                                                   // apply_rotary_pos_emb
            k = k * cos + RotateHalf(k) * sin;
            k = k.unsqueeze(2).expand(B, KvHeads, rep, T, hs).reshape(B, Heads, T, hs);          // repeat_kv
            v = v.unsqueeze(2).expand(B, KvHeads, rep, T, hs).reshape(B, Heads, T, hs);
            var scores = q.matmul(k.transpose(2, 3)) / Math.Sqrt(hs);
            var attn = scores.masked_fill(masked, double.NegativeInfinity).softmax(-1).matmul(v);
            x = x + attn.transpose(1, 2).reshape(B, T, C).matmul(W("self_attn.o_proj.weight").T);
            h = RmsNorm(x, W("post_attention_layernorm.weight"));
            var mlp = (nn.functional.silu(h.matmul(W("mlp.gate_proj.weight").T)) * h.matmul(W("mlp.up_proj.weight").T)).matmul(W("mlp.down_proj.weight").T);
            x = x + mlp;
        }
        x = RmsNorm(x, s["model.norm.weight"]);
        return x.matmul(s["model.embed_tokens.weight"].T);                                       // tied lm_head
    }

    static Tensor Tokens(long seed = 7, long T = 9) => randint(Vocab, [2, T], generator: new Generator((ulong)seed));

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    public void A_llama_checkpoint_gives_the_logits_of_a_hand_written_llama_forward(ScalarType dtype)
    {
        string dir = TempDir();
        try
        {
            var state = State();
            WriteFolder(dir, state, dtype);
            var rounded = state.ToDictionary(p => p.Key, p => p.Value.to(dtype).to(ScalarType.Float32));   // what the file really holds
            using var model = LlamaWeights.Load(dir);
            model.eval();
            var idx = Tokens();
            using var _ = no_grad();
            var got = model.forward(idx);
            var expected = HandForward(rounded, idx);
            Assert.Equal(expected.shape, got.shape);
            double diff = (got - expected).abs().max().item<float>();
            Assert.True(diff < 1e-5, $"max |course − hand-written| = {diff:E2} for {dtype}");
            Assert.True(expected.abs().max().item<float>() > 0.5, "the logits are not trivially small");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void The_config_becomes_the_modern_block_with_grouped_query_attention_and_a_capped_context()
    {
        string dir = TempDir();
        try
        {
            var json = Config();
            json["max_position_embeddings"] = 8192;
            json["rope_theta"] = 100000.0;
            File.WriteAllText(Path.Combine(dir, LlamaWeights.ConfigFile), json.ToJsonString());
            var config = LlamaWeights.ReadConfig(dir);
            Assert.Equal(new GptConfig(Vocab, 2048, Layers, Heads, C).Modernized() with { MlpHidden = Hidden, KvHeads = KvHeads, RopeTheta = 100000, NormEps = Eps }, config);
            Assert.Equal(64, LlamaWeights.ReadConfig(dir, blockSize: 64).BlockSize);

            // SmolLM2-135M's own config.json gives 134.5 M parameters (134,515,008).
            var smol = new GptConfig(49152, 2048, 30, 9, 576).Modernized() with { MlpHidden = 1536, KvHeads = 3, RopeTheta = 100000 };
            Assert.Equal(134_515_008, smol.ParameterCount());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void The_key_map_fills_every_parameter_of_the_model_exactly_once()
    {
        var config = new GptConfig(Vocab, MaxPositions, Layers, Heads, C).Modernized() with { MlpHidden = Hidden, KvHeads = KvHeads };
        using var model = new Gpt(config);
        var parameters = model.state_dict();
        var map = LlamaWeights.KeyMap(config);
        Assert.Equal(map.Count, map.Select(e => e.FileKey).Distinct().Count());
        foreach (var (name, p) in parameters)
        {
            var rows = map.Where(e => e.ModelKey == name).OrderBy(e => e.Row).ToList();
            Assert.True(rows.Count > 0, $"{name} is filled by no key");
            long next = 0;
            foreach (var e in rows)
            {
                Assert.Equal(next, e.Row);
                Assert.Equal(p.shape.Skip(1), e.FileShape.Skip(1));
                next += e.FileShape[0];
            }
            Assert.Equal(p.shape[0], next);
        }
        Assert.All(map, e => Assert.True(parameters.ContainsKey(e.ModelKey), e.ModelKey));
    }

    [Fact]
    public void Cached_greedy_generation_from_a_loaded_model_equals_full_recomputation()
    {
        string dir = TempDir();
        try
        {
            WriteFolder(dir, State(3), ScalarType.BFloat16);
            using var model = LlamaWeights.Load(dir);
            var prompts = new[] { new[] { 5, 17, 3 }, new[] { 40, 2, 9 } };
            var cached = BatchedGeneration.Generate(model, prompts, maxNewTokens: 20, stopTokens: [], useCache: true);
            var full = BatchedGeneration.Generate(model, prompts, maxNewTokens: 20, stopTokens: [], useCache: false);
            Assert.All(cached, c => Assert.Equal(20, c.Response.Count));
            Assert.Equal(full.Select(c => c.Response.ToArray()), cached.Select(c => c.Response.ToArray()));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>Loads a folder written with <paramref name="edit"/> applied, expecting a refusal; returns its message.</summary>
    static string Refusal(Action<Dictionary<string, Tensor>, JsonObject> edit, ScalarType dtype = ScalarType.Float32)
    {
        string dir = TempDir();
        try
        {
            var state = State();
            var config = Config();
            edit(state, config);
            WriteFolder(dir, state, dtype, config);
            return Assert.Throws<InvalidDataException>(() => LlamaWeights.Load(dir)).Message;
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_misspelt_key_is_named_with_the_key_it_should_have_been()
    {
        string message = Refusal((s, _) =>
        {
            s["model.layers.1.mlp.gate_projj.weight"] = s["model.layers.1.mlp.gate_proj.weight"];
            s.Remove("model.layers.1.mlp.gate_proj.weight");
        });
        Assert.Contains("'model.layers.1.mlp.gate_projj.weight' (expected 'model.layers.1.mlp.gate_proj.weight'?)", message);
        Assert.Contains("model.safetensors", message);
    }

    [Fact]
    public void A_missing_key_is_named()
    {
        string message = Refusal((s, _) => s.Remove("model.layers.0.post_attention_layernorm.weight"));
        Assert.Contains("lacks 1 key(s)", message);
        Assert.Contains("model.layers.0.post_attention_layernorm.weight", message);
    }

    [Fact]
    public void A_wrong_shape_is_reported_with_key_expected_and_found()
    {
        // k_proj as wide as q_proj: a checkpoint with one key/value head per query head, under a config that says 2.
        string message = Refusal((s, _) => s["model.layers.1.self_attn.k_proj.weight"] = randn(C, C));
        Assert.Contains("'model.layers.1.self_attn.k_proj.weight' should be (8, 16)", message);
        Assert.Contains("found (16, 16)", message);
    }

    [Fact]
    public void An_integer_tensor_is_refused_by_name_and_dtype()
    {
        string message = Refusal((s, _) => s["model.norm.weight"] = ones(C, dtype: ScalarType.Int32));
        Assert.Contains("'model.norm.weight' is I32", message);
        Assert.Contains("F32, F16, BF16", message);
    }

    [Fact]
    public void An_untied_output_layer_is_refused_and_a_copy_of_the_embedding_is_accepted()
    {
        string message = Refusal((s, c) => { s["lm_head.weight"] = randn(Vocab, C); c["tie_word_embeddings"] = false; });
        Assert.Contains("'lm_head.weight' differs from 'model.embed_tokens.weight'", message);
        Assert.Contains("tie_word_embeddings: true", message);

        string absent = Refusal((_, c) => c["tie_word_embeddings"] = false);
        Assert.Contains("tie_word_embeddings: false", absent);
        Assert.Contains("no 'lm_head.weight'", absent);

        string dir = TempDir();
        try
        {
            var state = State();
            state["lm_head.weight"] = state["model.embed_tokens.weight"].clone();
            WriteFolder(dir, state, ScalarType.BFloat16);
            using var model = LlamaWeights.Load(dir);
            Assert.Equal(Vocab, model.Config.VocabSize);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_config_the_block_cannot_be_is_refused_by_field()
    {
        Assert.Contains("rope_scaling is {\"rope_type\":\"llama3\",\"factor\":8}", Refusal((_, c) => c["rope_scaling"] = new JsonObject { ["rope_type"] = "llama3", ["factor"] = 8 }));
        Assert.Contains("head_dim is 8", Refusal((_, c) => c["head_dim"] = 8));
        Assert.Contains("attention_bias is true", Refusal((_, c) => c["attention_bias"] = true));
        Assert.Contains("mlp_bias is true", Refusal((_, c) => c["mlp_bias"] = true));
        Assert.Contains("model_type is \"qwen2\"", Refusal((_, c) => c["model_type"] = "qwen2"));
        Assert.Contains("no \"hidden_size\"", Refusal((_, c) => c.Remove("hidden_size")));
        Assert.Contains("\"num_hidden_layers\" should be a whole number", Refusal((_, c) => c["num_hidden_layers"] = "2"));
    }

    [Fact]
    public void TryLoad_without_the_files_returns_null_and_says_exactly_how_to_get_them()
    {
        string dir = TempDir();
        try
        {
            Assert.Null(LlamaWeights.TryLoad(dir, out string reason));
            Assert.Contains("config.json, model.safetensors, vocab.json, merges.txt", reason);
            Assert.Contains("huggingface-cli download HuggingFaceTB/SmolLM2-135M config.json model.safetensors vocab.json merges.txt", reason);
            Assert.Contains("--local-dir artifacts/models/smollm2-135m", reason);
            Assert.Contains("https://huggingface.co/HuggingFaceTB/SmolLM2-135M/resolve/main/model.safetensors", reason);
            Assert.Throws<FileNotFoundException>(() => LlamaWeights.Load(dir));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [SmolLm2Fact]
    public void Real_smollm2_135m_loads_and_its_cached_greedy_continuation_equals_full_recomputation()
    {
        using var model = LlamaWeights.TryLoad(out string reason, blockSize: 64) ?? throw new InvalidOperationException(reason);
        Assert.Equal(134_515_008, model.Config.ParameterCount());
        var tokenizer = LlamaWeights.LoadTokenizer();
        Assert.Equal(0, tokenizer.SpecialTokens["<|endoftext|>"]);
        Assert.Equal(1, tokenizer.SpecialTokens["<|im_start|>"]);
        Assert.Equal(2, tokenizer.SpecialTokens["<|im_end|>"]);
        var prompt = tokenizer.Encode("The capital of France is");
        var cached = BatchedGeneration.Generate(model, [prompt], 8, [0], useCache: true)[0].Response;
        var full = BatchedGeneration.Generate(model, [prompt], 8, [0], useCache: false)[0].Response;
        Assert.Equal(full, cached);
    }
}
