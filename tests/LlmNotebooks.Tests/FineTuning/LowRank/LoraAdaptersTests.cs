using System.Security.Cryptography;
using System.Text.Json.Nodes;
using LlmNotebooks.FineTuning.LowRank;
using LlmNotebooks.Serialization;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.FineTuning.LowRank;

/// <summary>
/// LoraAdapters: the state guards (merged, unloaded) by message, what Unload frees, the saved files' exact contents,
/// and every way Load refuses a folder (missing files, another tensor file, a config that does not parse or validate,
/// wrong tensor names), each by its message and leaving the model without adapters.
/// </summary>
public class LoraAdaptersTests
{
    static readonly GptConfig Small = new(VocabSize: 23, BlockSize: 8, Layers: 2, Heads: 2, Channels: 16);

    static Gpt Model(int seed = 1)
    {
        manual_seed(seed);
        return new Gpt(Small);
    }

    static string TempFolder() => Path.Combine(Path.GetTempPath(), "lora-adapters-test-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Merge_unmerge_and_an_unloaded_adapter_set_refuse_with_their_messages()
    {
        using var scope = NewDisposeScope();
        using var model = Model();
        var adapters = Lora.Apply(model, new LoraConfig { Rank = 2, Dropout = 0 });
        Assert.Equal("The adapters are not merged; there is nothing to unmerge.", Assert.Throws<InvalidOperationException>(adapters.Unmerge).Message);
        adapters.Merge();
        Assert.Equal("The adapters are already merged; call Unmerge() first.", Assert.Throws<InvalidOperationException>(adapters.Merge).Message);
        adapters.Unmerge();

        adapters.Layers[1].Layer.Enabled = false;
        Assert.False(adapters.Enabled, "Enabled means every layer is enabled");
        adapters.Layers[1].Layer.Enabled = true;
        Assert.True(adapters.Enabled);

        var tensors = adapters.Tensors().Values.ToList();
        adapters.Unload();
        Assert.All(tensors, t => Assert.True(t.IsInvalid, "Unload frees A and B"));
        const string unloaded = "These adapters were unloaded from the model; apply or load adapters again.";
        Assert.Equal(unloaded, Assert.Throws<InvalidOperationException>(() => adapters.Enabled = false).Message);
        Assert.Equal(unloaded, Assert.Throws<InvalidOperationException>(adapters.Merge).Message);
        Assert.Equal(unloaded, Assert.Throws<InvalidOperationException>(adapters.Unmerge).Message);
        Assert.Equal(unloaded, Assert.Throws<InvalidOperationException>(adapters.Unload).Message);
        Assert.Equal(unloaded, Assert.Throws<InvalidOperationException>(() => adapters.Tensors()).Message);
        string folder = TempFolder();
        Assert.Equal(unloaded, Assert.Throws<InvalidOperationException>(() => adapters.Save(folder)).Message);
        Assert.False(Directory.Exists(folder), "Save refuses before it creates anything");
    }

    [Fact]
    public void Save_writes_indented_json_with_the_counts_and_tags_the_tensor_file()
    {
        using var scope = NewDisposeScope();
        string folder = TempFolder();
        try
        {
            using var model = Model();
            var adapters = Lora.Apply(model, new LoraConfig { Rank = 2, Alpha = 4, Dropout = 0, TargetModules = ["c_attn"] });
            Assert.Equal("folder", Assert.ThrowsAny<ArgumentException>(() => adapters.Save("  ")).ParamName);
            Directory.CreateDirectory(folder);
            string file = Path.Combine(folder, "a-file");
            File.WriteAllText(file, "x");
            Assert.Equal($"{file} is a file; adapters are saved into a folder (it gets adapter_model.safetensors and adapter_config.json).",
                         Assert.Throws<IOException>(() => adapters.Save(file)).Message);

            var (weights, config) = adapters.Save(Path.Combine(folder, "nested", "adapter"));
            string text = File.ReadAllText(config);
            Assert.StartsWith("{\n  \"format\": \"llmnb-lora 1\",\n  \"r\": 2,\n", text.ReplaceLineEndings("\n"));
            Assert.EndsWith("}\n", text);
            var json = JsonNode.Parse(text)!;
            Assert.Equal("", json["fused_qkv_slices"]!.GetValue<string>());
            Assert.Equal(2 * 2 * (16 + 48), json["adapter_parameters"]!.GetValue<long>());
            Assert.Equal(adapters.ParameterCount, json["adapter_parameters"]!.GetValue<long>());
            var meta = SafetensorsFile.ReadMetadata(weights);
            Assert.Equal("llmnb-lora 1", meta["format"]);
            Assert.Equal(adapters.BaseFingerprint, meta["base_fingerprint"]);
        }
        finally { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
    }

    /// <summary>Saves trained-looking adapters of a fresh Model() and runs <paramref name="test"/> on the folder.</summary>
    static void WithSaved(Action<string, string, string> test)
    {
        using var scope = NewDisposeScope();
        string folder = TempFolder();
        try
        {
            using var model = Model();
            var adapters = Lora.Apply(model, new LoraConfig { Rank = 2, Alpha = 4, Dropout = 0, TargetModules = ["c_attn"] });
            var (weights, config) = adapters.Save(folder);
            test(folder, weights, config);
        }
        finally { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
    }

    /// <summary>Load onto a fresh base must fail with <typeparamref name="T"/> and leave that base without adapters.</summary>
    static string LoadFails<T>(string folder) where T : Exception
    {
        using var target = Model();
        var e = Assert.Throws<T>(() => LoraAdapters.Load(target, folder));
        Assert.DoesNotContain(target.named_modules(), m => m.module is LoraLinear);
        Assert.All(target.parameters(), p => Assert.True(p.requires_grad));
        return e.Message;
    }

    static void EditConfig(string config, Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(File.ReadAllText(config))!.AsObject();
        edit(json);
        File.WriteAllText(config, json.ToJsonString());
    }

    static void RewriteWeights(string weights, string config, Func<Dictionary<string, Tensor>, Dictionary<string, Tensor>> change)
    {
        var tensors = SafetensorsFile.ReadTensors(weights);
        SafetensorsFile.Write(weights, change(tensors));
        EditConfig(config, j => j["weights_sha256"] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(weights))));
    }

    [Fact]
    public void Load_names_a_missing_file_and_a_tensor_file_that_is_not_the_saved_one() => WithSaved((folder, weights, config) =>
    {
        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => LoraAdapters.Load(null!, folder)).ParamName);
        string full = Path.GetFullPath(folder);
        var bytes = File.ReadAllBytes(weights);
        bytes[^1] ^= 1;
        File.WriteAllBytes(weights, bytes);
        Assert.StartsWith($"{weights} is not the tensor file that {config} was saved with (SHA-256 ", LoadFails<InvalidDataException>(folder));

        File.Delete(weights);
        Assert.Equal($"No adapter_model.safetensors in {full}. Adapters are saved with adapters.Save(folder), which writes adapter_model.safetensors and adapter_config.json.",
                     LoadFails<FileNotFoundException>(folder));
        File.Delete(config);
        Assert.Equal($"No adapter_config.json in {full}. Adapters are saved with adapters.Save(folder), which writes adapter_model.safetensors and adapter_config.json.",
                     LoadFails<FileNotFoundException>(folder));
    });

    [Fact]
    public void Load_onto_another_base_says_what_to_do() => WithSaved((folder, _, config) =>
    {
        using var other = Model(seed: 2);
        var e = Assert.Throws<InvalidDataException>(() => LoraAdapters.Load(other, folder));
        Assert.EndsWith("Load them onto the model they were made for (same config and the same pretrained weights, unmerged), or train new ones for this model.", e.Message);
    });

    [Fact]
    public void Load_refuses_adapted_layers_that_the_saved_names_do_not_select() => WithSaved((folder, _, config) =>
    {
        EditConfig(config, j => j["adapted_modules"] = new JsonArray("attn.c_attn"));
        Assert.Equal($"{config} lists the adapted layers [attn.c_attn], but they select [h.0.attn.c_attn, h.1.attn.c_attn] in this model.",
                     LoadFails<InvalidDataException>(folder));
        EditConfig(config, j => j["adapted_modules"] = new JsonArray("h.1.attn.c_attn", "h.0.attn.c_attn"));   // the model's order is h.0, h.1
        Assert.Equal($"{config} lists the adapted layers [h.1.attn.c_attn, h.0.attn.c_attn], but they select [h.0.attn.c_attn, h.1.attn.c_attn] in this model.",
                     LoadFails<InvalidDataException>(folder));
    });

    [Fact]
    public void Load_refuses_a_tensor_file_with_missing_or_unexpected_tensors() => WithSaved((folder, weights, config) =>
    {
        RewriteWeights(weights, config, t => t.Where(p => p.Key != "h.1.attn.c_attn.lora_B").ToDictionary());
        Assert.Equal($"{weights} does not hold the adapters this config describes: missing [h.1.attn.c_attn.lora_B], unexpected [].", LoadFails<InvalidDataException>(folder));
        RewriteWeights(weights, config, t => new Dictionary<string, Tensor>(t) { ["h.1.attn.c_attn.lora_B"] = zeros(48, 2), ["extra"] = zeros(1) });
        Assert.Equal($"{weights} does not hold the adapters this config describes: missing [], unexpected [extra].", LoadFails<InvalidDataException>(folder));
        RewriteWeights(weights, config, t => new Dictionary<string, Tensor>(t.Where(p => !p.Key.StartsWith("h.0.", StringComparison.Ordinal))) { ["extra"] = zeros(1), ["more"] = zeros(1) });
        Assert.Equal($"{weights} does not hold the adapters this config describes: missing [h.0.attn.c_attn.lora_A, h.0.attn.c_attn.lora_B], unexpected [extra, more].",
                     LoadFails<InvalidDataException>(folder));
    });

    [Fact]
    public void Load_refuses_configs_with_wrong_kinds_of_fields_bad_values_or_bad_json() => WithSaved((folder, _, config) =>
    {
        string saved = File.ReadAllText(config);
        void Case(Action<JsonObject> edit, string message)
        {
            File.WriteAllText(config, saved);
            EditConfig(config, edit);
            Assert.Equal(message, LoadFails<InvalidDataException>(folder));
        }
        Case(j => j["format"] = 1, $"{config}: missing the string field \"format\".");
        Case(j => j["format"] = "llmnb-lora 0", $"{config}: format \"llmnb-lora 0\", expected \"llmnb-lora 1\".");
        Case(j => j["r"] = "2", $"{config}: missing the number field \"r\".");
        Case(j => j.Remove("lora_alpha"), $"{config}: missing the number field \"lora_alpha\".");
        Case(j => j["target_modules"] = "c_attn", $"{config}: missing the list \"target_modules\".");
        Case(j => j["r"] = 0, $"{config}: LoRA's rank r must be at least 1 (typical: 4, 8, 16); got 0. (Parameter 'Rank')");
        Case(j => j["target_modules"] = new JsonArray((JsonNode?)null),
             $"{config}: Name at least one target module pattern, e.g. TargetModules = [\"c_attn\"] (see LoraConfig's documentation). (Parameter 'TargetModules')");

        File.WriteAllText(config, "{ not json");
        Assert.StartsWith($"{config} is not a readable adapter config (", LoadFails<InvalidDataException>(folder));
        File.WriteAllText(config, saved);
        EditConfig(config, j => j["seed"] = "minus one");
        Assert.EndsWith("). Save the adapters again with adapters.Save(folder).", LoadFails<InvalidDataException>(folder));
    });
}
