using LlmNotebooks.Platform;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LlmNotebooks.Serialization;
using LlmNotebooks.Tensors;
using LlmNotebooks.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmNotebooks.FineTuning.LowRank;

/// <summary>
/// The LoRA adapters that <see cref="Lora.Apply"/> put into a model: merge them into the base weights and back, turn
/// them off, save them alone (a few hundred kilobytes instead of the whole model) and load them onto the same base.
/// <para>Files (<see cref="Save"/>): <c>adapter_model.safetensors</c> holds only the A and B matrices, under the names
/// they have in the adapted model ("h.0.attn.c_attn.lora_A_q"); <c>adapter_config.json</c> holds r, α, dropout, the
/// target patterns, the adapted layers, the base model's <see cref="Lora.BaseFingerprint"/> and the SHA-256 of the
/// tensor file. The two are written as one set (<see cref="AtomicFile.WriteAll"/>): a save that fails leaves the
/// previous pair as it was, loadable.</para>
/// </summary>
public sealed class LoraAdapters
{
    /// <summary>Format tag in adapter_config.json.</summary>
    public const string Format = "llmnb-lora 1";
    public const string WeightsFile = "adapter_model.safetensors", ConfigFile = "adapter_config.json";

    readonly List<(string Name, LoraLinear Layer)> _layers;
    readonly List<(Parameter Parameter, bool RequiresGrad)> _wasTrainable;
    bool _unloaded;

    internal LoraAdapters(nn.Module model, LoraConfig config, List<(string, LoraLinear)> layers, string? fingerprint, List<(Parameter, bool)> wasTrainable)
    {
        Model = model;
        Config = config;
        _layers = layers;
        BaseFingerprint = fingerprint;
        _wasTrainable = wasTrainable;
    }

    /// <summary>The adapted model (the same object that was passed to <see cref="Lora.Apply"/>).</summary>
    public nn.Module Model { get; }
    public LoraConfig Config { get; }
    /// <summary>The adapted layers by name, in the model's order.</summary>
    public IReadOnlyList<(string Name, LoraLinear Layer)> Layers => _layers;
    /// <summary><see cref="Lora.BaseFingerprint"/> of the model before the adapters went in (null on the meta device, which has no weights).</summary>
    public string? BaseFingerprint { get; }
    /// <summary>Numbers in all adapters: Σ over layers of r·(d_in + d_out) (or per slice).</summary>
    public long ParameterCount => _layers.Sum(l => l.Layer.AdapterParameterCount);
    public bool IsMerged => _layers.Count > 0 && _layers[0].Layer.Merged;

    /// <summary>False runs the base model alone (the adapters stay in place), for "before / after" comparisons.</summary>
    public bool Enabled
    {
        get => _layers.All(l => l.Layer.Enabled);
        set { Alive(); foreach (var (_, l) in _layers) l.Enabled = value; }
    }

    /// <summary>Adds every adapter's (α/r)·B·A into its base weight (see <see cref="LoraLinear.Merge"/>).</summary>
    public void Merge()
    {
        Alive();
        if (IsMerged) throw new InvalidOperationException("The adapters are already merged; call Unmerge() first.");
        // Every layer is checked before the first is merged, so a refusal never leaves the model half merged.
        var rigid = _layers.Where(l => l.Layer.Base is not Linear).ToList();
        if (rigid.Count > 0)
            throw new NotSupportedException($"Only adapters on plain Linear layers can be merged; {string.Join(", ", rigid.Take(5).Select(l => $"'{l.Name}' ({l.Layer.Base.GetType().Name})"))}" +
                                            $"{(rigid.Count > 5 ? $" and {rigid.Count - 5} more" : "")} cannot take a merged adapter, so nothing was merged. " +
                                            "Keep the adapters separate (they work unmerged), or dequantize those layers into Linear layers first.");
        foreach (var (_, l) in _layers) l.Merge();
    }

    /// <summary>Takes the adapters back out of the base weights (see <see cref="LoraLinear.Unmerge"/>).</summary>
    public void Unmerge()
    {
        Alive();
        if (!IsMerged) throw new InvalidOperationException("The adapters are not merged; there is nothing to unmerge.");
        foreach (var (_, l) in _layers) l.Unmerge();
    }

    /// <summary>
    /// Puts the base layers back where the wrappers were and frees the adapters; each parameter's requires_grad is
    /// restored. If the adapters were merged, the base weights keep them (peft's merge_and_unload): the result is a
    /// plain model with the fine-tuned weights, ready for <see cref="Checkpoint.Save(Transformer.Gpt, string, IReadOnlyDictionary{string, string}?)"/>.
    /// Otherwise the model is the base again (peft's unload). This object cannot be used afterwards.
    /// </summary>
    public void Unload()
    {
        Alive();
        foreach (var (name, layer) in _layers)
        {
            ModuleSurgery.Replace(Model, name, layer.Base);
            foreach (var a in layer.Adapters) { a.A.Dispose(); a.B.Dispose(); }
        }
        foreach (var (p, g) in _wasTrainable) p.requires_grad = g;
        _unloaded = true;
    }

    /// <summary>Merges, then <see cref="Unload"/>s: the model keeps the fine-tuned weights and loses the wrappers.</summary>
    public void MergeAndUnload()
    {
        if (!IsMerged) Merge();
        Unload();
    }

    void Alive()
    {
        if (_unloaded) throw new InvalidOperationException("These adapters were unloaded from the model; apply or load adapters again.");
    }

    /// <summary>The adapters' tensors by their names in the adapted model's state_dict.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors()
    {
        Alive();
        var result = new Dictionary<string, Tensor>();
        foreach (var (name, layer) in _layers)
            foreach (var a in layer.Adapters)
            {
                result[$"{name}.{a.AName}"] = a.A;
                result[$"{name}.{a.BName}"] = a.B;
            }
        return result;
    }

    /// <summary>
    /// Saves the adapters alone into <paramref name="folder"/>: adapter_model.safetensors (A and B matrices) and
    /// adapter_config.json. Returns the two paths. Unmerged or merged, the saved A and B are the same.
    /// </summary>
    public (string Weights, string Config) Save(string folder)
    {
        Alive();
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string full = Path.GetFullPath(folder);
        if (File.Exists(full)) throw new IOException($"{full} is a file; adapters are saved into a folder (it gets {WeightsFile} and {ConfigFile}).");
        if (BaseFingerprint is null) throw new InvalidOperationException("This model lives on the meta device (shapes without weights): there is nothing to save.");
        string weights = Path.Combine(full, WeightsFile), config = Path.Combine(full, ConfigFile);
        string? weightsHash = null;
        using (no_grad())
        {
            var tensors = Tensors().ToDictionary(p => p.Key, p => p.Value.detach());
            try
            {
                // Both files are written beside their targets first and renamed into place together: a failure at any point
                // leaves the previous pair (weights and the config that names their hash) as it was.
                AtomicFile.WriteAll(
                [
                    (weights, temp =>
                    {
                        SafetensorsFile.Write(temp, tensors, new Dictionary<string, string> { ["format"] = Format, ["base_fingerprint"] = BaseFingerprint });
                        weightsHash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(temp)));
                    }),
                    (config, temp => File.WriteAllBytes(temp, ConfigJson(weightsHash!))),   // atomic: WriteAll's own temporary
                ]);
            }
            finally { foreach (var t in tensors.Values) t.Dispose(); }
        }
        return (weights, config);
    }

    byte[] ConfigJson(string weightsHash)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteNumber("r", Config.Rank);
            w.WriteNumber("lora_alpha", Config.Alpha);
            w.WriteNumber("lora_dropout", Config.Dropout);
            w.WriteStartArray("target_modules");
            foreach (var t in Config.TargetModules) w.WriteStringValue(t);
            w.WriteEndArray();
            w.WriteString("fused_qkv_slices", Config.FusedQkvSlices ?? "");
            w.WriteString("seed", Config.Seed.ToString(CultureInfo.InvariantCulture));
            w.WriteStartArray("adapted_modules");
            foreach (var (name, _) in _layers) w.WriteStringValue(name);
            w.WriteEndArray();
            w.WriteNumber("adapter_parameters", ParameterCount);
            w.WriteString("base_fingerprint", BaseFingerprint!);
            w.WriteString("weights_sha256", weightsHash);
            w.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }

    /// <summary>
    /// Loads adapters saved by <see cref="Save"/> onto <paramref name="model"/>, which must be the very base they were
    /// trained on (same <see cref="Lora.BaseFingerprint"/>) and carry no adapters yet. Every tensor's name and shape is
    /// checked before any is used; on any error the model is left as it was.
    /// </summary>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="InvalidDataException">Another base model, files that do not belong together, or wrong names or shapes.</exception>
    public static LoraAdapters Load(nn.Module model, string folder)
    {
        ArgumentNullException.ThrowIfNull(model);
        string full = Path.GetFullPath(folder);
        string weights = Path.Combine(full, WeightsFile), configPath = Path.Combine(full, ConfigFile);
        foreach (var f in new[] { configPath, weights })
            if (!File.Exists(f)) throw new FileNotFoundException($"No {Path.GetFileName(f)} in {full}. Adapters are saved with adapters.Save(folder), which writes {WeightsFile} and {ConfigFile}.", f);
        var (config, adapted, fingerprint, weightsHash) = ReadConfig(configPath);
        string actualHash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(weights)));
        if (actualHash != weightsHash)
            throw new InvalidDataException($"{weights} is not the tensor file that {configPath} was saved with (SHA-256 {actualHash}, expected {weightsHash}). Save the adapters again.");
        string actual = Lora.BaseFingerprint(model);
        if (actual != fingerprint)
            throw new InvalidDataException($"These adapters were trained on another base model: {configPath} names base fingerprint {fingerprint}, this model's is {actual}. " +
                                           "Load them onto the model they were made for (same config and the same pretrained weights, unmerged), or train new ones for this model.");

        var adapters = Lora.Apply(model, config with { TargetModules = adapted });
        Dictionary<string, Tensor>? loaded = null;
        try
        {
            var names = adapters.Layers.Select(l => l.Name).ToList();
            if (!names.SequenceEqual(adapted))
                throw new InvalidDataException($"{configPath} lists the adapted layers [{string.Join(", ", adapted)}], but they select [{string.Join(", ", names)}] in this model.");
            loaded = SafetensorsFile.ReadTensors(weights);
            var expected = adapters.Tensors();
            var missing = expected.Keys.Except(loaded.Keys).ToList();
            var unexpected = loaded.Keys.Except(expected.Keys).ToList();
            if (missing.Count > 0 || unexpected.Count > 0)
                throw new InvalidDataException($"{weights} does not hold the adapters this config describes: missing [{string.Join(", ", missing.Take(5))}], unexpected [{string.Join(", ", unexpected.Take(5))}].");
            foreach (var (key, tensor) in expected)
                if (!tensor.shape.SequenceEqual(loaded[key].shape) || tensor.dtype != loaded[key].dtype)
                    throw new InvalidDataException($"{weights}: '{key}' should be {tensor.dtype} {ShapeGuard.Format(tensor.shape)} (r = {config.Rank}) but the file has " +
                                                   $"{loaded[key].dtype} {ShapeGuard.Format(loaded[key].shape)}. The file does not match its config; save the adapters again.");
            using (no_grad())
                foreach (var (key, tensor) in expected) tensor.copy_(loaded[key]);
            return new LoraAdapters(model, config, adapters._layers, adapters.BaseFingerprint, adapters._wasTrainable);   // with the saved patterns
        }
        catch
        {
            adapters.Unload();
            throw;
        }
        finally
        {
            if (loaded is not null) foreach (var t in loaded.Values) t.Dispose();
        }
    }

    static (LoraConfig Config, List<string> Adapted, string Fingerprint, string WeightsHash) ReadConfig(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            string Str(string key) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
                : throw new InvalidDataException($"{path}: missing the string field \"{key}\".");
            if (Str("format") != Format) throw new InvalidDataException($"{path}: format \"{Str("format")}\", expected \"{Format}\".");
            double Num(string key) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble()
                : throw new InvalidDataException($"{path}: missing the number field \"{key}\".");
            List<string> List(string key) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Array
                ? v.EnumerateArray().Select(e => e.GetString() ?? "").ToList()
                : throw new InvalidDataException($"{path}: missing the list \"{key}\".");
            var config = new LoraConfig
            {
                Rank = (int)Num("r"), Alpha = Num("lora_alpha"), Dropout = Num("lora_dropout"), TargetModules = List("target_modules"),
                FusedQkvSlices = Str("fused_qkv_slices") is { Length: > 0 } s ? s : null, Seed = ParseSeed(Str("seed")),
            };
            try { config.Validate(); }
            catch (ArgumentException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
            return (config, List("adapted_modules"), Str("base_fingerprint"), Str("weights_sha256"));
        }
        catch (Exception e) when (e is JsonException or FormatException or OverflowException)
        {
            throw new InvalidDataException($"{path} is not a readable adapter config ({e.Message}). Save the adapters again with adapters.Save(folder).", e);
        }
    }

    /// <summary>The seed as written: a long, or (files written while the seed was a ulong) a ulong with the same 64 bits.</summary>
    static long ParseSeed(string text) =>
        long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long seed) ? seed : unchecked((long)ulong.Parse(text, CultureInfo.InvariantCulture));
}
