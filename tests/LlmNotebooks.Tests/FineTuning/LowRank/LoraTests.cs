using System.Text.Json.Nodes;
using LlmNotebooks.Recipe;
using LlmNotebooks.Serialization;
using LlmNotebooks.FineTuning.LowRank;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.FineTuning.LowRank;

public class LoraTests(ITestOutputHelper output)
{
    static readonly GptConfig Small = new(VocabSize: 23, BlockSize: 8, Layers: 2, Heads: 2, Channels: 16);

    static Gpt Model(int seed = 1)
    {
        manual_seed(seed);
        return new Gpt(Small);
    }

    static Tensor Tokens(int seed = 7) => randint(0, Small.VocabSize, new long[] { 3, 8 }, generator: new Generator((ulong)seed));

    /// <summary>Gives every B a random value, as training would, so that the adapters change the outputs.</summary>
    static void Train(LoraAdapters adapters, int seed = 3)
    {
        using var _ = no_grad();
        var g = new Generator((ulong)seed);
        foreach (var (_, layer) in adapters.Layers)
            foreach (var a in layer.Adapters) a.B.copy_(randn(a.B.shape, generator: g) * 0.5);
    }

    /// <summary>Exactly equal, element by element (TorchSharp's Tensor.equal is element-wise).</summary>
    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    static string TempFolder() => Path.Combine(Path.GetTempPath(), "lora-test-" + Guid.NewGuid().ToString("N"));

    [Theory]
    [InlineData(null)]
    [InlineData("qv")]
    public void An_adapted_model_starts_equal_to_its_base(string? slices)
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        model.eval();
        var tokens = Tokens();
        var before = model.forward(tokens);
        var adapters = Lora.Apply(model, new LoraConfig { Rank = 4, Alpha = 8, Dropout = 0, TargetModules = ["c_attn"], FusedQkvSlices = slices });
        Assert.Equal(["h.0.attn.c_attn", "h.1.attn.c_attn"], adapters.Layers.Select(l => l.Name));
        Assert.True(Same(before, model.forward(tokens)), "B starts at zero, so the logits must be exactly the base model's");
        Assert.All(adapters.Layers, l => Assert.All(l.Layer.Adapters, a => Assert.True(a.A.abs().sum().item<float>() > 0, "A starts random")));
        Train(adapters);
        Assert.False(before.allclose(model.forward(tokens)), "a trained adapter changes the logits");
    }

    [Fact]
    public void Only_the_adapters_train_and_each_adapted_linear_adds_r_times_d_in_plus_d_out()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        long all = model.TrainableParameters().All;
        Assert.Equal(all, model.TrainableParameters().Trainable);   // a fresh model trains everything
        const int r = 4;
        long C = Small.Channels, L = Small.Layers;
        var adapters = Lora.Apply(model, new LoraConfig { Rank = r, TargetModules = ["c_attn", "mlp.c_proj"] });
        long expected = L * (r * (C + 3 * C) + r * (4 * C + C));
        Assert.Equal(expected, adapters.ParameterCount);
        var summary = model.TrainableParameters();
        Assert.Equal(expected, summary.Trainable);
        Assert.Equal(all + expected, summary.All);
        Assert.All(model.named_parameters(), p => Assert.Equal(p.name.Contains(".lora_"), p.parameter.requires_grad));

        // Gradients reach A and B, never the frozen base.
        model.train();
        var logits = model.forward(Tokens());
        nn.functional.cross_entropy(logits.view(-1, Small.VocabSize), Tokens(8).view(-1)).backward();
        Assert.All(model.named_parameters().Where(p => !p.parameter.requires_grad), p => Assert.True(p.parameter.grad is null, p.name));
        Assert.All(adapters.Layers, l => Assert.All(l.Layer.Adapters, a => Assert.True(a.B.grad!.abs().sum().item<float>() > 0)));
    }

    [Fact]
    public void The_q_and_v_slices_of_a_fused_c_attn_cost_r_times_d_in_plus_d_each_and_leave_k_alone()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        const int r = 2;
        long C = Small.Channels;
        var adapters = Lora.Apply(model, new LoraConfig { Rank = r, Alpha = 4, Dropout = 0, TargetModules = ["c_attn"], FusedQkvSlices = "qv" });
        var layer = adapters.Layers[0].Layer;
        Assert.Equal([new LoraSlice("q", 0, C), new LoraSlice("v", 2 * C, C)], layer.Slices);
        Assert.Equal(2 * r * (C + C), layer.AdapterParameterCount);   // two adapters of r·(d_in + d): the same 4rC as the whole fused layer
        Assert.Equal(Small.Layers * 2 * r * (C + C), model.TrainableParameters().Trainable);
        Train(adapters);
        var delta = layer.DeltaWeight();
        Assert.True(delta.narrow(0, C, C).abs().max().item<float>() == 0, "the key rows get no update");
        Assert.True(delta.narrow(0, 0, C).abs().max().item<float>() > 0);
        Assert.True(delta.narrow(0, 2 * C, C).abs().max().item<float>() > 0);
        Assert.Contains(model.named_parameters(), p => p.name == "h.0.attn.c_attn.lora_A_q");
        Assert.Contains(model.named_parameters(), p => p.name == "h.0.attn.c_attn.base_layer.weight");
    }

    /// <summary>
    /// GPT-2 small built on the meta device (shapes, no storage: no 500 MB of weights): r = 8 on c_attn, peft's reference
    /// line for GPT-2 with this config.
    /// </summary>
    [Fact]
    public void Gpt2_small_with_r8_on_c_attn_gives_peft_s_line_built_on_the_meta_device()
    {
        Gpt model;
        torch.set_default_device(torch.device("meta"));
        try { model = new Gpt(GptConfig.Gpt2Small); }
        finally { torch.set_default_device(torch.CPU); }
        using (model)
        {
            Assert.Equal(DeviceType.META, model.parameters().First().device.type);
            var adapters = Lora.Apply(model, new LoraConfig { Rank = 8, Alpha = 16, TargetModules = ["c_attn"] });
            Assert.Equal(12 * 8 * (768 + 2304), adapters.ParameterCount);
            Assert.Equal(DeviceType.META, adapters.Layers[0].Layer.Adapters[0].A.device.type);
            var lines = new List<string>();
            model.PrintTrainableParameters(lines.Add);
            Assert.Equal("trainable params: 294,912 || all params: 124,734,720 || trainable%: 0.2364", lines.Single());
            adapters.Unload();
            var qv = Lora.Apply(model, new LoraConfig { Rank = 8, TargetModules = ["c_attn"], FusedQkvSlices = "qv" });
            Assert.Equal(12 * 2 * 8 * (768 + 768), qv.ParameterCount);
            output.WriteLine(model.TrainableParameters().ToString());
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("qv")]
    public void Merge_matches_the_adapted_model_and_unmerge_restores_the_base(string? slices)
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        model.eval();
        var baseWeights = model.state_dict().ToDictionary(p => p.Key.Replace(".base_layer.", "."), p => p.Value.clone());
        var adapters = Lora.Apply(model, new LoraConfig { Rank = 4, Alpha = 8, Dropout = 0.1, TargetModules = slices is null ? ["c_attn", "c_fc"] : ["c_attn"], FusedQkvSlices = slices });
        Train(adapters);
        var tokens = Tokens();
        var adapted = model.forward(tokens);
        adapters.Merge();
        Assert.True(adapters.IsMerged);
        var merged = model.forward(tokens);
        Assert.True(adapted.allclose(merged, rtol: 0, atol: 1e-5), $"merged logits differ by {(adapted - merged).abs().max().item<float>()}");
        Assert.Throws<InvalidOperationException>(() => adapters.Merge());
        adapters.Unmerge();
        foreach (var (name, w) in model.state_dict().Where(p => !p.Key.Contains(".lora_")))
            Assert.True(baseWeights[name.Replace(".base_layer.", ".")].allclose(w, rtol: 0, atol: 1e-6), name);
        Assert.True(adapted.allclose(model.forward(tokens), rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void MergeAndUnload_leaves_a_plain_model_with_the_fine_tuned_weights_and_Unload_the_base()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        model.eval();
        var tokens = Tokens();
        var names = model.state_dict().Keys.ToList();
        var baseLogits = model.forward(tokens);
        var adapters = Lora.Apply(model, new LoraConfig { Rank = 4, Dropout = 0 });
        Train(adapters);
        var adapted = model.forward(tokens);
        adapters.MergeAndUnload();
        Assert.Equal(names, model.state_dict().Keys.ToList());   // GPT-2's names again: Checkpoint.Save writes a normal model
        Assert.True(adapted.allclose(model.forward(tokens), rtol: 0, atol: 1e-5));
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
        Assert.Throws<InvalidOperationException>(() => adapters.Merge());

        using var other = Model();
        other.eval();
        var again = Lora.Apply(other, new LoraConfig { Rank = 4, Dropout = 0 });
        Train(again);
        again.Unload();
        Assert.True(Same(baseLogits, other.forward(tokens)));
    }

    [Fact]
    public void Disabled_adapters_give_the_base_model()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        model.eval();
        var tokens = Tokens();
        var baseLogits = model.forward(tokens);
        var adapters = Lora.Apply(model, new LoraConfig { Rank = 2, Dropout = 0 });
        Train(adapters);
        adapters.Enabled = false;
        Assert.True(Same(baseLogits, model.forward(tokens)));
        adapters.Enabled = true;
        Assert.False(baseLogits.allclose(model.forward(tokens)));
    }

    [Fact]
    public void Targets_that_match_nothing_and_bad_settings_get_clear_errors()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        var e = Assert.Throws<ArgumentException>(() => Lora.Apply(model, new LoraConfig { TargetModules = ["q_proj"] }));
        Assert.Contains("\"q_proj\" matches no linear layer", e.Message);
        Assert.Contains("h.0.attn.c_attn", e.Message);
        Assert.Contains("h.1.mlp.c_proj", e.Message);
        e = Assert.Throws<ArgumentException>(() => Lora.Apply(model, new LoraConfig { TargetModules = ["attn"] }));
        Assert.Contains("CausalSelfAttention", e.Message);
        e = Assert.ThrowsAny<ArgumentException>(() => Lora.Apply(model, new LoraConfig { Rank = 0 }));
        Assert.Contains("at least 1", e.Message);
        e = Assert.ThrowsAny<ArgumentException>(() => Lora.Apply(model, new LoraConfig { Rank = 17 }));
        Assert.Contains("min(d_in, d_out) = 16", e.Message);
        e = Assert.ThrowsAny<ArgumentException>(() => Lora.Apply(model, new LoraConfig { Alpha = 0 }));
        Assert.Contains("α", e.Message);
        e = Assert.ThrowsAny<ArgumentException>(() => Lora.Apply(model, new LoraConfig { Alpha = double.NaN }));
        Assert.Contains("α", e.Message);
        foreach (var p in new[] { double.NaN, 1.0, -0.1 })
            Assert.Contains("dropout", Assert.ThrowsAny<ArgumentException>(() => Lora.Apply(model, new LoraConfig { Dropout = p })).Message);
        e = Assert.ThrowsAny<ArgumentException>(() => Lora.Apply(model, new LoraConfig { TargetModules = ["c_fc"], FusedQkvSlices = "qv" }));
        Assert.Contains("fused q,k,v", e.Message);
        Assert.ThrowsAny<ArgumentException>(() => Lora.Apply(model, new LoraConfig { FusedQkvSlices = "qx" }));
        // Nothing was changed by the failed attempts.
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
        Assert.DoesNotContain(model.named_modules(), m => m.module is LoraLinear);

        Lora.Apply(model, new LoraConfig());
        Assert.Contains("already has LoRA adapters", Assert.Throws<ArgumentException>(() => Lora.Apply(model, new LoraConfig())).Message);
    }

    [Fact]
    public void Patterns_can_be_names_suffixes_globs_or_regular_expressions()
    {
        using var model = Model();
        string[] Names(params string[] patterns) => Lora.MatchTargets(model, patterns).Select(t => t.Name).ToArray();
        Assert.Equal(["h.0.attn.c_proj", "h.0.mlp.c_proj", "h.1.attn.c_proj", "h.1.mlp.c_proj"], Names("c_proj"));
        Assert.Equal(["h.0.attn.c_proj", "h.1.attn.c_proj"], Names("attn.c_proj"));
        Assert.Equal(["h.1.attn.c_attn", "h.1.attn.c_proj", "h.1.mlp.c_fc", "h.1.mlp.c_proj"], Names("h.1.*"));
        Assert.Equal(["h.0.attn.c_attn"], Names(@"re:h\.0\.attn\.c_\w+n"));
        Assert.Equal(["h.0.attn.c_attn"], Names("h.0.attn.c_attn"));
    }

    /// <summary>A stand-in for a quantized base: not a Linear, but it says its sizes through ILinearLayer.</summary>
    sealed class ScaledIdentity(long features) : nn.Module<Tensor, Tensor>("scaled"), ILinearLayer
    {
        public long InFeatures => features;
        public long OutFeatures => features;
        public override Tensor forward(Tensor x) => x * 2;
    }

    [Fact]
    public void Any_layer_that_states_its_sizes_can_be_the_base_but_only_a_Linear_merges()
    {
        using var scope = NewDisposeScope();
        var lora = new LoraLinear(new ScaledIdentity(6), rank: 2, alpha: 2);
        var x = randn(4, 6, generator: new Generator(1));
        Assert.True(Same(x * 2, lora.forward(x)));
        Assert.Equal(2 * (6 + 6), lora.AdapterParameterCount);
        Assert.Throws<NotSupportedException>(() => lora.Merge());
        var custom = new LoraLinear(nn.Identity(), rank: 1, alpha: 1, inFeatures: 3, outFeatures: 3);
        Assert.Equal(6, custom.AdapterParameterCount);
        Assert.Contains("pass inFeatures and outFeatures", Assert.Throws<ArgumentException>(() => new LoraLinear(nn.Identity(), 1, 1)).Message);
        Assert.Contains("expected inputs (…, 6)", Assert.Throws<ArgumentException>(() => lora.forward(randn(2, 5))).Message);
    }

    [Fact]
    public void Seeded_adapters_repeat_exactly_and_leave_torch_s_global_generator_alone()
    {
        using var scope = NewDisposeScope();
        using var a = Model();
        using var b = Model();
        manual_seed(99);
        var config = new LoraConfig { Rank = 4, Dropout = 0.5, Seed = 5 };
        var ta = Lora.Apply(a, config);
        Lora.Apply(b, config);
        var afterApply = rand(3);
        manual_seed(99);
        Assert.True(Same(afterApply, rand(3)), "Apply must not draw from torch's global generator");
        Train(ta);
        a.train(); b.train();
        var bAdapters = b.named_modules().Where(m => m.module is LoraLinear).Select(m => (LoraLinear)m.module).ToList();
        var aAdapters = a.named_modules().Where(m => m.module is LoraLinear).Select(m => (LoraLinear)m.module).ToList();
        for (int i = 0; i < aAdapters.Count; i++)
        {
            Assert.True(Same(aAdapters[i].Adapters[0].A, bAdapters[i].Adapters[0].A), "same seed, same A");
            using var _ = no_grad();
            bAdapters[i].Adapters[0].B.copy_(aAdapters[i].Adapters[0].B);
        }
        Assert.False(Same(aAdapters[0].Adapters[0].A, aAdapters[1].Adapters[0].A), "each layer gets its own stream");
        var tokens = Tokens();
        Assert.True(Same(a.forward(tokens), b.forward(tokens)), "dropout masks come from the layers' own seeded generators");
    }

    [Fact]
    public void Adapters_save_and_load_alone_and_refuse_another_base_or_wrong_shapes()
    {
        using var scope = NewDisposeScope();
        string folder = TempFolder();
        try
        {
            using var model = Model();
            model.eval();
            var tokens = Tokens();
            var adapters = Lora.Apply(model, new LoraConfig { Rank = 4, Alpha = 8, Dropout = 0.05, TargetModules = ["c_attn"], FusedQkvSlices = "qv" });
            Train(adapters);
            var expected = model.forward(tokens);
            var (weights, config) = adapters.Save(folder);
            var json = JsonNode.Parse(File.ReadAllText(config))!;
            Assert.Equal(4, json["r"]!.GetValue<int>());
            Assert.Equal("qv", json["fused_qkv_slices"]!.GetValue<string>());
            Assert.Equal(adapters.BaseFingerprint, json["base_fingerprint"]!.GetValue<string>());
            Assert.Equal(adapters.ParameterCount * 4, SafetensorsFile.ReadTensors(weights).Values.Sum(t => t.numel() * 4));

            using var fresh = Model();   // the same base (same seed)
            fresh.eval();
            var loaded = LoraAdapters.Load(fresh, folder);
            Assert.True(Same(expected, fresh.forward(tokens)));
            Assert.Equal(["c_attn"], loaded.Config.TargetModules);

            using var otherBase = Model(seed: 2);
            var e = Assert.Throws<InvalidDataException>(() => LoraAdapters.Load(otherBase, folder));
            Assert.Contains("another base model", e.Message);
            Assert.DoesNotContain(otherBase.named_modules(), m => m.module is LoraLinear);

            // A tensor file whose shapes do not fit the config (r = 2 saved, config says r = 4).
            using var small = Model();
            var wrong = Lora.Apply(small, new LoraConfig { Rank = 2, TargetModules = ["c_attn"], FusedQkvSlices = "qv" });
            string wrongFolder = Path.Combine(folder, "wrong");
            wrong.Save(wrongFolder);
            File.Copy(Path.Combine(wrongFolder, LoraAdapters.WeightsFile), weights, overwrite: true);
            json["weights_sha256"] = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(weights)));
            File.WriteAllText(config, json.ToJsonString());
            wrong.Unload();
            using var target = Model();
            e = Assert.Throws<InvalidDataException>(() => LoraAdapters.Load(target, folder));
            Assert.Contains("'h.0.attn.c_attn.lora_A_q' should be Float32 (4, 16)", e.Message);
            Assert.Contains("has Float32 (2, 16)", e.Message);
            Assert.DoesNotContain(target.named_modules(), m => m.module is LoraLinear);
            Assert.All(target.parameters(), p => Assert.True(p.requires_grad));

            File.Delete(Path.Combine(wrongFolder, LoraAdapters.ConfigFile));
            Assert.Throws<FileNotFoundException>(() => LoraAdapters.Load(target, wrongFolder));
        }
        finally { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
    }

    /// <summary>The course model's shape (1.06 M parameters): the adapter file against the full checkpoint.</summary>
    [Fact]
    public void An_adapter_file_is_a_small_fraction_of_the_model_file()
    {
        string folder = TempFolder();
        try
        {
            manual_seed(1);
            using var model = new Gpt(CourseModel.Config);
            string full = Path.Combine(folder, "model.safetensors");
            Checkpoint.Save(model, full);
            var adapters = Lora.Apply(model, new LoraConfig { Rank = 8, Alpha = 16, TargetModules = ["c_attn"], FusedQkvSlices = "qv" });
            var (weights, config) = adapters.Save(Path.Combine(folder, "adapter"));
            long modelBytes = new FileInfo(full).Length, adapterBytes = new FileInfo(weights).Length + new FileInfo(config).Length;
            output.WriteLine($"{model.TrainableParameters()}; adapter files {adapterBytes:N0} bytes, full model {modelBytes:N0} bytes ({100.0 * adapterBytes / modelBytes:F2}%)");
            Assert.Equal(4 * 2 * 8 * (128 + 128), adapters.ParameterCount);
            Assert.True(adapterBytes < modelBytes / 40, $"{adapterBytes} vs {modelBytes}");
        }
        finally { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
    }
}
