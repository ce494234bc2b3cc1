using LlmNotebooks.Tensors;
using TorchSharp;
using System.Text.Json;
using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.Serialization;

/// <summary>
/// Model weights on disk in the safetensors format (a JSON header and raw tensors: no code runs when loading).
/// Saving is atomic: the file is written beside the target and renamed over it, so a crash never leaves a half file
/// and an existing checkpoint is only replaced by a complete one. Loading checks every name and shape first.
/// </summary>
public static class Checkpoint
{
    /// <summary>Tensors whose names start with this belong to a trainer's optimizer, not to the model; <see cref="Load"/> skips them.</summary>
    public const string OptimizerPrefix = "optimizer.";

    /// <summary>Metadata key under which <see cref="Save(Gpt, string, IReadOnlyDictionary{string, string}?)"/> stores the model's <see cref="GptConfig"/> as JSON.</summary>
    public const string GptConfigKey = "gpt_config";

    /// <summary>Writes the module's state (parameters and persistent buffers), plus optional string metadata, to <paramref name="path"/>.</summary>
    public static void Save(nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafetensorsFile.Write(path, module.state_dict(), metadata);

    /// <summary>Writes a GPT's weights with its config in the file's metadata, so <see cref="LoadGpt"/> can rebuild it from the file alone.</summary>
    public static void Save(Gpt model, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var all = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { [GptConfigKey] = JsonSerializer.Serialize(model.Config) };
        SafetensorsFile.Write(path, model.state_dict(), all);
    }

    /// <summary>The <see cref="GptConfig"/> stored in a checkpoint written by <see cref="Save(Gpt, string, IReadOnlyDictionary{string, string}?)"/> or by a trainer (<c>Training.Trainer</c>).</summary>
    public static GptConfig ReadGptConfig(string path)
    {
        var metadata = SafetensorsFile.ReadMetadata(path);
        if (!metadata.TryGetValue(GptConfigKey, out var json))
            throw new InvalidDataException($"{path} holds no GPT config in its metadata. Was it saved with Checkpoint.Save(gpt, path) or by a Trainer?");
        try { return JsonSerializer.Deserialize<GptConfig>(json) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: the stored GPT config is not valid ({e.Message}).", e); }
    }

    /// <summary>Builds a <see cref="Gpt"/> from the config stored in the file and loads its weights (checked as in <see cref="Load"/>).</summary>
    public static Gpt LoadGpt(string path)
    {
        var model = new Gpt(ReadGptConfig(path));
        try { Load(model, path); return model; }
        catch { model.Dispose(); throw; }
    }

    /// <summary>
    /// Loads weights saved by <see cref="Save(nn.Module, string, IReadOnlyDictionary{string, string}?)"/> (or a trainer
    /// checkpoint, whose optimizer tensors are skipped) into <paramref name="module"/>, after checking that the file exists,
    /// is a readable safetensors file, and holds exactly the module's tensors with the same shapes and dtypes.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at the path.</exception>
    /// <exception cref="InvalidDataException">Unreadable file, or names/shapes that do not match the module.</exception>
    public static void Load(nn.Module module, string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"No checkpoint at {Path.GetFullPath(path)}.", path);
        Dictionary<string, Tensor> loaded;
        try { loaded = SafetensorsFile.ReadTensors(path); }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{e.Message} Expected a checkpoint written by Checkpoint.Save.", e);
        }
        try
        {
            var expected = module.state_dict();
            RequireMatch(expected, loaded, path);
            using var _ = no_grad();
            foreach (var (name, tensor) in expected) tensor.copy_(loaded[name]);
        }
        finally { foreach (var t in loaded.Values) t.Dispose(); }
    }

    /// <summary>
    /// Throws unless <paramref name="loaded"/> (read from <paramref name="path"/>) holds exactly the tensors of
    /// <paramref name="expected"/> (a module's state dict), with the same shapes and dtypes; tensors under
    /// <see cref="OptimizerPrefix"/> are ignored. Changes nothing, so a loader can check everything before it copies.
    /// </summary>
    /// <exception cref="InvalidDataException">Names, shapes or dtypes that differ; a file saved from a model with LoRA
    /// adapters or 4-bit layers says so and how to get a plain model's file.</exception>
    public static void RequireMatch(IReadOnlyDictionary<string, Tensor> expected, IReadOnlyDictionary<string, Tensor> loaded, string path)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(loaded);
        var missing = expected.Keys.Except(loaded.Keys).ToList();
        var unexpected = loaded.Keys.Where(k => !k.StartsWith(OptimizerPrefix, StringComparison.Ordinal)).Except(expected.Keys).ToList();
        if (unexpected.FirstOrDefault(IsAdapted) is { } adapted && !expected.Keys.Any(IsAdapted))
            throw new InvalidDataException($"{path} was saved from a model with LoRA adapters or 4-bit (NF4) layers (it holds '{adapted}'), and this is a plain model. " +
                                           "Merge and unload the adapters before saving (adapters.MergeAndUnload(), then Checkpoint.Save(model, path)), " +
                                           "or save the adapters alone (adapters.Save(folder)) and load them onto the base model with LoraAdapters.Load(model, folder).");
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new InvalidDataException($"{path} does not match this model: missing [{string.Join(", ", missing.Take(5))}], " +
                                           $"unexpected [{string.Join(", ", unexpected.Take(5))}]. Was it saved from a different architecture or config?");
        foreach (var (name, tensor) in expected)
            if (!tensor.shape.SequenceEqual(loaded[name].shape) || tensor.dtype != loaded[name].dtype)
                throw new InvalidDataException($"{path}: '{name}' is {loaded[name].dtype} {ShapeGuard.Format(loaded[name].shape)} in the file " +
                                               $"but {tensor.dtype} {ShapeGuard.Format(tensor.shape)} in the model. Was it saved with a different config?");
    }

    /// <summary>
    /// Whether a state-dict key belongs to a LoRA wrapper (its "base_layer." or an adapter matrix "lora_A…"/"lora_B…") or
    /// to a 4-bit layer's stored form ("weight_codes", "weight_absmax…"): names a plain model never has.
    /// </summary>
    static bool IsAdapted(string key)
    {
        string last = key[(key.LastIndexOf('.') + 1)..];
        return key.Contains(".base_layer.", StringComparison.Ordinal) || key.StartsWith("base_layer.", StringComparison.Ordinal) ||
               last.StartsWith("lora_", StringComparison.Ordinal) || last == "weight_codes" || last.StartsWith("weight_absmax", StringComparison.Ordinal);
    }
}
