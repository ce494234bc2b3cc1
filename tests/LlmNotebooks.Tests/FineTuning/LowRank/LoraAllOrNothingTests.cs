using LlmNotebooks.FineTuning;
using LlmNotebooks.FineTuning.LowRank;
using LlmNotebooks.FineTuning.Quantizing;
using LlmNotebooks.Platform;
using LlmNotebooks.Serialization;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.FineTuning.LowRank;

/// <summary>
/// A LoRA step that fails leaves the model and the files as they were: a merge that cannot merge every layer merges none,
/// a save that fails keeps the previous pair loadable, an adapter run's checkpoint refuses another base model, and a
/// checkpoint of an adapted model read as a plain one says what to do.
/// </summary>
public class LoraAllOrNothingTests : IDisposable
{
    static readonly GptConfig Small = new(VocabSize: 23, BlockSize: 8, Layers: 2, Heads: 2, Channels: 16);
    readonly string _folder = Directory.CreateTempSubdirectory("llmnb-lora-all-or-nothing-").FullName;
    public void Dispose() => Directory.Delete(_folder, recursive: true);

    static Gpt Model(int seed = 1)
    {
        manual_seed(seed);
        return new Gpt(Small);
    }

    static Dictionary<string, Tensor> Snapshot(nn.Module model) => model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());

    static void AssertUnchanged(Dictionary<string, Tensor> before, nn.Module model)
    {
        var now = model.state_dict();
        Assert.Equal(before.Keys.Order(), now.Keys.Order());
        foreach (var (name, t) in before) Assert.True(TensorAssert.Same(t, now[name]), $"'{name}' changed");
    }

    static void Nudge(LoraAdapters adapters)
    {
        using var _ = no_grad();
        foreach (var (_, layer) in adapters.Layers) foreach (var a in layer.Adapters) a.B.fill_(0.25f);
    }

    [Fact]
    public void Merge_on_a_mix_of_quantized_and_plain_layers_merges_none_and_names_the_quantized_ones()
    {
        using var model = Model();
        Quantization.QuantizeLinears(model, ["h.1.attn.c_attn"]);                   // one 4-bit layer among plain ones
        var adapters = Lora.Apply(model, new LoraConfig { Rank = 2, Dropout = 0, TargetModules = ["c_attn"] });
        Nudge(adapters);
        var before = Snapshot(model);

        var e = Assert.Throws<NotSupportedException>(adapters.Merge);
        Assert.Equal("Only adapters on plain Linear layers can be merged; 'h.1.attn.c_attn' (Nf4Linear) cannot take a merged adapter, so nothing was merged. " +
                     "Keep the adapters separate (they work unmerged), or dequantize those layers into Linear layers first.", e.Message);
        Assert.False(adapters.IsMerged);
        Assert.All(adapters.Layers, l => Assert.False(l.Layer.Merged));
        AssertUnchanged(before, model);                                              // h.0's base weight is bit for bit as it was
    }

    [Theory]
    [InlineData(LoraAdapters.WeightsFile)]
    [InlineData(LoraAdapters.ConfigFile)]
    public void A_save_that_fails_at_either_file_leaves_the_previous_pair_loadable(string failingFile)
    {
        using var tokens = tensor(new long[] { 1, 2, 3, 4, 5, 6 }, [1, 6]);
        using var model = Model();
        model.eval();
        var adapters = Lora.Apply(model, new LoraConfig { Rank = 2, Dropout = 0, TargetModules = ["c_attn"] });
        Nudge(adapters);
        var (weights, config) = adapters.Save(_folder);
        byte[] oldWeights = File.ReadAllBytes(weights), oldConfig = File.ReadAllBytes(config);
        using var expected = model.forward(tokens);

        using (no_grad()) foreach (var (_, layer) in adapters.Layers) foreach (var a in layer.Adapters) a.B.fill_(-1f);   // new adapters
        AtomicFile.BeforeReplacing = target => { if (Path.GetFileName(target) == failingFile) throw new IOException("simulated failure"); };
        try { Assert.Equal("simulated failure", Assert.Throws<IOException>(() => adapters.Save(_folder)).Message); }
        finally { AtomicFile.BeforeReplacing = null; }

        Assert.Equal(oldWeights, File.ReadAllBytes(weights));
        Assert.Equal(oldConfig, File.ReadAllBytes(config));
        Assert.Equal([LoraAdapters.ConfigFile, LoraAdapters.WeightsFile], Directory.GetFiles(_folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var fresh = Model();
        fresh.eval();
        LoraAdapters.Load(fresh, _folder);
        using var got = fresh.forward(tokens);
        Assert.True(TensorAssert.Same(expected, got), "the previous adapters load and give the previous outputs");
    }

    [Fact]
    public void A_save_whose_config_target_is_a_folder_changes_nothing()
    {
        using var model = Model();
        var adapters = Lora.Apply(model, new LoraConfig { Rank = 2, Dropout = 0, TargetModules = ["c_attn"] });
        Directory.CreateDirectory(Path.Combine(_folder, LoraAdapters.ConfigFile));
        Assert.Contains("is a folder", Assert.Throws<IOException>(() => adapters.Save(_folder)).Message);
        Assert.False(File.Exists(Path.Combine(_folder, LoraAdapters.WeightsFile)), "no tensor file without its config");
        Assert.Empty(Directory.GetFiles(_folder));
    }

    [Fact]
    public void An_adapter_run_s_checkpoint_refuses_to_resume_onto_another_base()
    {
        string path = Path.Combine(_folder, "lora-run.safetensors");
        var tokens = new TokenBatches(Enumerable.Range(0, 400).Select(i => i * 7 % Small.VocabSize).ToArray(), Small.BlockSize);
        var options = new TrainerOptions { Steps = 2, BatchSize = 2, WarmupSteps = 1, EvalBatches = 1, CheckpointPath = path };
        using (var model = Model())
        {
            Lora.Apply(model, new LoraConfig { Rank = 2, Dropout = 0, TargetModules = ["c_attn"] });
            using var trainer = new Trainer(model, new LanguageModelingTask(tokens, null), options);
            trainer.Run();
        }
        string stored = SafetensorsFile.ReadMetadata(path)["frozen_fingerprint"];

        using (var same = Model())                                                  // the same base resumes
        {
            Lora.Apply(same, new LoraConfig { Rank = 2, Dropout = 0, TargetModules = ["c_attn"] });
            using var resumed = Trainer.Resume(path, same, new LanguageModelingTask(tokens, null));
            Assert.Equal(2, resumed.CompletedSteps);
        }
        using var other = Model(seed: 2);                                            // same shapes, other weights
        Lora.Apply(other, new LoraConfig { Rank = 2, Dropout = 0, TargetModules = ["c_attn"] });
        var before = Snapshot(other);
        var e = Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, other, new LanguageModelingTask(tokens, null)));
        Assert.StartsWith($"{path} was trained on another base model: its frozen weights have fingerprint {stored}, this model's are ", e.Message);
        Assert.EndsWith("Resume onto the model the run started from (the same pretrained weights, the same adapters, unmerged), or start a new run for this model.", e.Message);
        AssertUnchanged(before, other);
    }

    [Fact]
    public void A_checkpoint_of_an_adapted_model_read_as_a_plain_one_says_merge_and_unload_or_save_the_adapters()
    {
        foreach (bool quantize in new[] { false, true })
        {
            string path = Path.Combine(_folder, $"adapted-{quantize}.safetensors");
            using (var adapted = Model())
            {
                if (quantize) Quantization.QuantizeLinears(adapted, ["h.0.mlp.c_fc"]);
                else Lora.Apply(adapted, new LoraConfig { Rank = 2, Dropout = 0, TargetModules = ["c_attn"] });
                Checkpoint.Save(adapted, path);
            }
            using var plain = Model(seed: 3);
            var before = Snapshot(plain);
            var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(plain, path));
            Assert.StartsWith($"{path} was saved from a model with LoRA adapters or 4-bit (NF4) layers (it holds '", e.Message);
            Assert.Contains(quantize ? "h.0.mlp.c_fc.weight_" : "h.0.attn.c_attn.", e.Message);
            Assert.EndsWith("and this is a plain model. Merge and unload the adapters before saving (adapters.MergeAndUnload(), then Checkpoint.Save(model, path)), " +
                            "or save the adapters alone (adapters.Save(folder)) and load them onto the base model with LoraAdapters.Load(model, folder).", e.Message);
            AssertUnchanged(before, plain);
            Assert.Contains("LoRA adapters or 4-bit", Assert.Throws<InvalidDataException>(() => Checkpoint.LoadGpt(path)).Message);
        }
    }
}
