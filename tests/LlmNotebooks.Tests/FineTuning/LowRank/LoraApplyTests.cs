using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LlmNotebooks.FineTuning.LowRank;
using LlmNotebooks.Transformer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.FineTuning.LowRank;

/// <summary>
/// Lora.cs: LoraConfig.Validate by option and message, Apply's guards and its messages, the pattern rules at their edges,
/// ParameterSummary, and BaseFingerprint against the byte stream its documentation describes.
/// </summary>
public class LoraApplyTests
{
    static readonly GptConfig Small = new(VocabSize: 23, BlockSize: 8, Layers: 2, Heads: 2, Channels: 16);

    static Gpt Model(int seed = 1)
    {
        manual_seed(seed);
        return new Gpt(Small);
    }

    /// <summary>Two layers held in fields (so ModuleSurgery can swap them), for models with chosen shapes.</summary>
    sealed class TwoLayers : nn.Module<Tensor, Tensor>
    {
        public nn.Module<Tensor, Tensor> first, second;
        public TwoLayers(nn.Module<Tensor, Tensor> first, nn.Module<Tensor, Tensor> second) : base("two")
        {
            this.first = first;
            this.second = second;
            RegisterComponents();
        }
        public override Tensor forward(Tensor x) => second.forward(first.forward(x));
    }

    static void Refused<T>(LoraConfig config, string param, string message) where T : ArgumentException
    {
        var e = Assert.Throws<T>(config.Validate);
        Assert.Equal(param, e.ParamName);
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void Validate_refuses_each_option_out_of_range_by_its_name()
    {
        new LoraConfig().Validate();
        new LoraConfig { Dropout = 0, FusedQkvSlices = null }.Validate();
        new LoraConfig { FusedQkvSlices = "" }.Validate();
        new LoraConfig { FusedQkvSlices = "vkq" }.Validate();
        foreach (var r in new[] { 0, -1 })
            Refused<ArgumentOutOfRangeException>(new LoraConfig { Rank = r }, "Rank", $"LoRA's rank r must be at least 1 (typical: 4, 8, 16); got {r}.");
        foreach (var alpha in new[] { 0.0, -2.0, double.NaN, double.PositiveInfinity })
            Refused<ArgumentOutOfRangeException>(new LoraConfig { Alpha = alpha }, "Alpha", "LoRA's α must be a positive number (α = r or 2r are common); got ");
        foreach (var p in new[] { -0.1, 1.0, 2.0, double.NaN })
            Refused<ArgumentOutOfRangeException>(new LoraConfig { Dropout = p }, "Dropout", "LoRA dropout must be in [0, 1) (0 turns it off); got ");
        foreach (var targets in new IReadOnlyList<string>?[] { null, [], ["c_attn", " "], [""] })
            Refused<ArgumentException>(new LoraConfig { TargetModules = targets! }, "TargetModules",
                                       "Name at least one target module pattern, e.g. TargetModules = [\"c_attn\"] (see LoraConfig's documentation).");
        foreach (var letters in new[] { "qx", "x", "qq", "qvq" })
            Refused<ArgumentException>(new LoraConfig { FusedQkvSlices = letters }, "FusedQkvSlices",
                                       $"FusedQkvSlices takes distinct letters of \"qkv\", such as \"qv\"; got \"{letters}\".");
    }

    [Fact]
    public void ParameterSummary_of_an_empty_model_is_zero_percent()
    {
        Assert.Equal(0, new ParameterSummary(0, 0).TrainablePercent);
        Assert.Equal(25, new ParameterSummary(1, 4).TrainablePercent);
    }

    [Fact]
    public void Apply_refuses_null_arguments_and_a_model_that_already_has_adapters()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => Lora.Apply(null!, new LoraConfig())).ParamName);
        Assert.Equal("config", Assert.Throws<ArgumentNullException>(() => Lora.Apply(model, null!)).ParamName);

        var three = Lora.Apply(model, new LoraConfig { TargetModules = ["c_attn", "h.0.mlp.c_fc"] });
        var e = Assert.Throws<ArgumentException>(() => Lora.Apply(model, new LoraConfig()));
        Assert.Equal("model", e.ParamName);
        Assert.StartsWith("This model already has LoRA adapters (h.0.attn.c_attn, h.0.mlp.c_fc, h.1.attn.c_attn). Call Unload() on the LoraAdapters that added them first.", e.Message);
        three.Unload();

        Lora.Apply(model, new LoraConfig { TargetModules = ["h.*"] });
        e = Assert.Throws<ArgumentException>(() => Lora.Apply(model, new LoraConfig()));
        Assert.StartsWith("This model already has LoRA adapters (h.0.attn.c_attn, h.0.attn.c_proj, h.0.mlp.c_fc, …). Call Unload() on the LoraAdapters that added them first.", e.Message);
    }

    [Fact]
    public void A_layer_that_cannot_be_adapted_is_named_and_nothing_changes()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        // c_attn (16 → 48) takes q,v slices; the next target, c_fc (16 → 64), does not.
        var e = Assert.Throws<ArgumentException>(() => Lora.Apply(model, new LoraConfig { TargetModules = ["c_attn", "c_fc"], FusedQkvSlices = "qv" }));
        Assert.StartsWith("Cannot adapt 'h.0.mlp.c_fc': FusedQkvSlices = \"qv\" needs fused q,k,v layers (d → 3d), but 'h.0.mlp.c_fc' maps 16 → 64. " +
                          "Target only the fused attention layers (\"c_attn\"), or leave FusedQkvSlices empty to adapt whole layers.", e.Message);
        Assert.DoesNotContain(model.named_modules(), m => m.module is LoraLinear);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));

        // d_out divisible by 3 but not 3·d_in, and d_out / 3 = d_in but not divisible: both refused.
        foreach (var (din, dout) in new[] { (4L, 6L), (3L, 10L) })
        {
            using var two = new TwoLayers(nn.Linear(din, dout), nn.Linear(dout, 1));
            e = Assert.Throws<ArgumentException>(() => Lora.Apply(two, new LoraConfig { Rank = 1, TargetModules = ["first"], FusedQkvSlices = "q" }));
            Assert.Contains($"but 'first' maps {din} → {dout}.", e.Message);
        }
    }

    [Fact]
    public void Layer_i_gets_the_adapter_stream_s_seed_i_and_starts_in_its_model_s_mode()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        model.eval();
        var adapters = Lora.Apply(model, new LoraConfig { Rank = 2, Dropout = 0.5, Seed = 7, TargetModules = ["c_attn"] });
        Assert.All(adapters.Layers, l => Assert.False(l.Layer.training, "a model in eval mode gets its wrappers in eval mode"));
        Assert.All(adapters.Layers, l => Assert.Equal("lora", l.Layer.GetName()));
        for (int i = 0; i < 2; i++)
        {
            using var reference = new LoraLinear(nn.Linear(16, 48), rank: 2, alpha: 16, seed: unchecked((ulong)Hashes.StreamSeed(7, Hashes.AdapterStream, i)));
            Assert.True(reference.Adapters[0].A.eq(adapters.Layers[i].Layer.Adapters[0].A).all().item<bool>(), $"layer {i}");
        }
        using var training = Model();
        var inTraining = Lora.Apply(training, new LoraConfig { Rank = 2 });
        Assert.All(inTraining.Layers, l => Assert.True(l.Layer.training));
    }

    [Fact]
    public void Patterns_at_their_edges_and_the_message_for_a_pattern_that_matches_nothing()
    {
        using var model = Model();
        string[] Names(params string[] patterns) => Lora.MatchTargets(model, patterns).Select(t => t.Name).ToArray();
        Assert.Equal(["h.0.attn.c_attn"], Names("h.0.attn.c_att?"));
        Assert.Equal(["h.0.attn.c_attn", "h.1.attn.c_attn"], Names("h.?.attn.c_attn"));
        foreach (var whole in new[] { "attn.c_*", "h.0.attn.c_?", "?.attn.c_attn" })   // a glob must match the whole name
            Assert.Throws<ArgumentException>(() => Names(whole));

        var e = Assert.Throws<ArgumentException>(() => Names("attn"));
        Assert.StartsWith("The LoRA target \"attn\" matches no linear layer (it matches h.0.attn (CausalSelfAttention), h.1.attn (CausalSelfAttention), which are not linear). " +
                          "The linear layers of this model are: h.0.attn.c_attn, ", e.Message);

        using var two = new TwoLayers(nn.Linear(2, 3), nn.Linear(3, 1));
        e = Assert.Throws<ArgumentException>(() => Lora.MatchTargets(two, ["re:"]));   // matches only the root's empty name, which is not a layer
        Assert.Equal("patterns", e.ParamName);
        Assert.Equal("The LoRA target \"re:\" matches no linear layer. The linear layers of this model are: first, second. A pattern is a name, the end of a name " +
                     "after a dot (\"c_attn\"), a glob (\"h.*.attn.c_attn\") or \"re:\" and a regular expression. (Parameter 'patterns')", e.Message);

        e = Assert.Throws<ArgumentException>(() => Lora.MatchTargets(two, ["re:("]));
        Assert.Equal("pattern", e.ParamName);
        Assert.StartsWith("The LoRA target \"re:(\" is not a valid regular expression: ", e.Message);
    }

    static string Sha(IEnumerable<byte[]> parts)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var p in parts) sha.AppendData(p);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    static byte[] Line(string s) => Encoding.UTF8.GetBytes(s + "\n");

    [Fact]
    public void BaseFingerprint_is_the_documented_SHA_256_and_reads_through_unmerged_adapters()
    {
        using var scope = NewDisposeScope();
        using var two = new TwoLayers(nn.Linear(2, 3), nn.Linear(3, 1));
        var sd = two.state_dict();
        byte[] Bytes(string name) => sd[name].bytes.ToArray();
        string expected = Sha([
            Line("llmnb-lora-base 1"),
            Line("first.bias Float32 [3]"), Bytes("first.bias"),
            Line("first.weight Float32 [3,2]"), Bytes("first.weight"),
            Line("second.bias Float32 [1]"), Bytes("second.bias"),
            Line("second.weight Float32 [1,3]"), Bytes("second.weight"),
        ]);
        Assert.Equal(expected, Lora.BaseFingerprint(two));

        var adapters = Lora.Apply(two, new LoraConfig { Rank = 1, TargetModules = ["first", "second"] });
        Assert.Equal(expected, adapters.BaseFingerprint);
        Assert.Equal(expected, Lora.BaseFingerprint(two));   // "first.base_layer.weight" is read as "first.weight", lora_* left out
        adapters.Merge();
        Assert.Equal("A merged adapter is part of the base weights now; Unmerge() before taking the base model's fingerprint.",
                     Assert.Throws<InvalidOperationException>(() => Lora.BaseFingerprint(two)).Message);
        adapters.Unmerge();
        Assert.Equal(expected, Lora.BaseFingerprint(two));
    }

    [Fact]
    public void A_Gpt_s_fingerprint_covers_its_config()
    {
        using var model = Model();
        var ordered = model.state_dict().OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        var parts = new List<byte[]> { Line("llmnb-lora-base 1"), Line("config " + JsonSerializer.Serialize(model.Config)) };
        foreach (var (name, t) in ordered)
        {
            parts.Add(Line($"{name} {t.dtype} [{string.Join(",", t.shape)}]"));
            using var c = t.detach().contiguous();
            parts.Add(c.bytes.ToArray());
        }
        Assert.Equal(Sha(parts), Lora.BaseFingerprint(model));
    }

    [Fact]
    public void A_model_partly_on_the_meta_device_gets_no_fingerprint_and_cannot_be_saved()
    {
        using var scope = NewDisposeScope();
        using var two = new TwoLayers(nn.Linear(2, 3), nn.Linear(3, 1, device: torch.device("meta")));
        Assert.Equal("'second.bias' is on the meta device (a shape without values); a fingerprint needs real weights.",
                     Assert.Throws<InvalidOperationException>(() => Lora.BaseFingerprint(two)).Message);
        var adapters = Lora.Apply(two, new LoraConfig { Rank = 1, TargetModules = ["first"] });
        Assert.Null(adapters.BaseFingerprint);
        string folder = Path.Combine(Path.GetTempPath(), "lora-meta-" + Guid.NewGuid().ToString("N"));
        Assert.Equal("This model lives on the meta device (shapes without weights): there is nothing to save.",
                     Assert.Throws<InvalidOperationException>(() => adapters.Save(folder)).Message);
        Assert.False(Directory.Exists(folder));
    }
}
