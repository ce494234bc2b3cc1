using System.Globalization;
using System.Text.Json;
using LlmNotebooks.Serialization;
using LlmNotebooks.Transformer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmNotebooks.Training;

// The Trainer's checkpoints: what a file holds, and how a run continues from one exactly where it stopped.
public sealed partial class Trainer
{
    const string FormatKey = "format", Format = "llm-notebooks-trainer 1", TrainedOnlyKey = "trained_parameters_only", FrozenKey = "frozen_fingerprint";
    static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>
    /// Writes everything needed to continue this run to <paramref name="path"/> (safetensors, atomically): the model's
    /// weights (so <see cref="Checkpoint.LoadGpt"/> reads it as a model too) or, when some parameters are frozen, only the
    /// trained ones (an adapter's checkpoint stays small: the frozen base is not copied into every file); AdamW's two
    /// moments for every trained parameter (as "optimizer.&lt;name&gt;.exp_avg" / ".exp_avg_sq"); and in the metadata the
    /// config (for a Gpt), options, step and history, and (when some parameters are frozen) a fingerprint of the frozen
    /// state, so that the run cannot resume onto another base model. With <see cref="TrainerOptions.KeepCheckpoints"/> set, the oldest
    /// checkpoints of this run beyond that many are deleted after the new one is safely written.
    /// </summary>
    /// <exception cref="TrainingDivergedException">A weight or optimizer moment holds NaN or ±∞: nothing is written,
    /// so an earlier good checkpoint at the same path is kept.</exception>
    public void SaveCheckpoint(string path)
    {
        var tensors = HasFrozenParameters
            ? _parameters.ToDictionary(p => p.Name, p => (Tensor)p.Parameter)
            : new Dictionary<string, Tensor>(Model.state_dict());
        var steps = new Dictionary<string, long>();
        var states = _optimizer.state_dict().State;
        for (int i = 0; i < _parameters.Count; i++)
        {
            var state = (AdamW.State)states[i];
            tensors[$"{Checkpoint.OptimizerPrefix}{_parameters[i].Name}.exp_avg"] = state.exp_avg;
            tensors[$"{Checkpoint.OptimizerPrefix}{_parameters[i].Name}.exp_avg_sq"] = state.exp_avg_sq;
            steps[_parameters[i].Name] = state.step;
        }
        var metadata = new Dictionary<string, string>
        {
            [FormatKey] = Format,
            ["trainer_options"] = JsonSerializer.Serialize(Options, Json),
            ["completed_steps"] = CompletedSteps.ToString(CultureInfo.InvariantCulture),
            ["adam_steps"] = JsonSerializer.Serialize(steps),
            ["history"] = JsonSerializer.Serialize(History, Json),
            ["train_data"] = Task.TrainFingerprint,
            ["validation_data"] = Task.ValidationFingerprint ?? "",
            [TrainedOnlyKey] = HasFrozenParameters ? "true" : "false",
        };
        if (Model is Gpt gpt) metadata[Checkpoint.GptConfigKey] = JsonSerializer.Serialize(gpt.Config);
        if (HasFrozenParameters) metadata[FrozenKey] = FrozenFingerprint(Model, TrainedParameters);
        if (NonFinite(tensors.Select(p => (p.Key, p.Value))) is { } bad)
            throw Diverged(Math.Max(0, CompletedSteps - 1), $"'{bad}' holds NaN or ∞, so no checkpoint was written to {path}", Options.Schedule.At(Math.Max(0, CompletedSteps - 1)));
        SafetensorsFile.Write(path, tensors, metadata);
        _lastCheckpoint = (path, CompletedSteps);
        if (Options.KeepCheckpoints > 0 && Options.CheckpointPath is { } basePath && Options.CheckpointFile(CompletedSteps) == path)
            foreach (string old in Options.RunCheckpoints(basePath).SkipLast(Options.KeepCheckpoints))
                File.Delete(old);
    }

    /// <summary>
    /// Continues a pretraining run from a checkpoint written by <see cref="SaveCheckpoint"/>: rebuilds the model from the
    /// stored config, restores weights, optimizer moments, options and history, and checks that the data is the same as
    /// the run was trained on. Call <see cref="Run"/> to go on. The caller disposes <see cref="Model"/> (and the trainer).
    /// </summary>
    public static Trainer Resume(string path, TokenBatches train, TokenBatches? validation)
    {
        ArgumentNullException.ThrowIfNull(train);
        var metadata = ReadTrainerMetadata(path);
        if (metadata.TryGetValue(TrainedOnlyKey, out var only) && only == "true")
            throw new InvalidDataException($"{path} holds only the trained parameters of a model with frozen parts (an adapter run). " +
                                           "Build the same model (base weights and adapters) and call Trainer.Resume(path, model, task).");
        var model = Checkpoint.LoadGpt(path);
        try { return Resume(path, model, new LanguageModelingTask(train, validation), loadWeights: false); }
        catch { model.Dispose(); throw; }
    }

    /// <summary>
    /// Continues a run of <paramref name="model"/> on <paramref name="task"/> from a checkpoint written by
    /// <see cref="SaveCheckpoint"/>. Build the model exactly as for the first session (same base weights, same adapters,
    /// same parameters frozen); this loads the checkpoint's parameters into it (shapes checked), restores the optimizer's
    /// moments, the options and the history, and checks that the task's data is the one the run was trained on.
    /// </summary>
    public static Trainer Resume(string path, nn.Module model, ITrainingTask task) => Resume(path, model, task, loadWeights: true);

    static Trainer Resume(string path, nn.Module model, ITrainingTask task, bool loadWeights)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(task);
        var metadata = ReadTrainerMetadata(path);
        string Get(string key) => metadata.TryGetValue(key, out var v) ? v
            : throw new InvalidDataException($"{path} is a damaged trainer checkpoint: its metadata has no '{key}'.");
        if (Get("train_data") != task.TrainFingerprint || Get("validation_data") != (task.ValidationFingerprint ?? ""))
            throw new InvalidDataException($"{path} was trained on different data (training {Get("train_data")}, validation {Get("validation_data")}) " +
                                           $"than given now ({task.TrainFingerprint}, {task.ValidationFingerprint ?? "none"}). Resume with the same data, tokens and block size.");
        var options = JsonSerializer.Deserialize<TrainerOptions>(Get("trainer_options"), Json)!;
        var steps = JsonSerializer.Deserialize<Dictionary<string, long>>(Get("adam_steps"))!;
        bool trainedOnly = metadata.TryGetValue(TrainedOnlyKey, out var only) && only == "true";
        var loaded = SafetensorsFile.ReadTensors(path);
        try
        {
            // Everything is checked before anything is copied: a checkpoint that is refused leaves the model as it was.
            var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            var missing = steps.Keys.Where(name => !parameters.ContainsKey(name)).ToList();
            if (missing.Count > 0)
                throw new InvalidDataException($"{path} trained parameters this model does not have: {string.Join(", ", missing.Take(5))}. " +
                                               "Build the model the way the run was started (the same adapters, the same names).");
            // The weights (a full run's file holds every weight; an adapter run's only the trained ones).
            var weights = new List<(Tensor Target, Tensor Source, string Name)>();
            if (trainedOnly)
                foreach (var name in steps.Keys)
                {
                    var target = parameters[name];
                    if (!loaded.TryGetValue(name, out var source) || !source.shape.SequenceEqual(target.shape) || source.dtype != target.dtype)
                        throw new InvalidDataException($"{path} lacks the parameter '{name}' of shape [{string.Join(", ", target.shape)}]. Was it written by Trainer.SaveCheckpoint?");
                    weights.Add((target, source, name));
                }
            else if (loadWeights)
            {
                var expected = model.state_dict();
                Checkpoint.RequireMatch(expected, loaded, path);      // every weight, names, shapes and dtypes
                weights.AddRange(expected.Select(p => (p.Value, loaded[p.Key], p.Key)));
            }
            if (trainedOnly && metadata.TryGetValue(FrozenKey, out var frozen) && FrozenFingerprint(model, steps.Keys) is var now && now != frozen)
                throw new InvalidDataException($"{path} was trained on another base model: its frozen weights have fingerprint {frozen}, this model's are {now}. " +
                                               "Resume onto the model the run started from (the same pretrained weights, the same adapters, unmerged), or start a new run for this model.");

            var trainer = new Trainer(model, task, options);
            try
            {
                if (!trainer.TrainedParameters.OrderBy(n => n, StringComparer.Ordinal).SequenceEqual(steps.Keys.OrderBy(n => n, StringComparer.Ordinal)))
                    throw new InvalidDataException($"{path} trained {steps.Count} parameters but this model has {trainer._parameters.Count} that require a gradient. " +
                                                   "Freeze and unfreeze the same parameters as when the run was started.");
                var moments = new List<(Tensor Target, Tensor Source, string Name)>();
                var states = trainer._optimizer.state_dict().State;
                for (int i = 0; i < trainer._parameters.Count; i++)
                {
                    var (name, parameter) = trainer._parameters[i];
                    var state = (AdamW.State)states[i];
                    foreach (var (suffix, target) in new[] { ("exp_avg", state.exp_avg), ("exp_avg_sq", state.exp_avg_sq) })
                    {
                        string key = $"{Checkpoint.OptimizerPrefix}{name}.{suffix}";
                        if (!loaded.TryGetValue(key, out var source) || !source.shape.SequenceEqual(parameter.shape) || source.dtype != target.dtype)
                            throw new InvalidDataException($"{path} lacks optimizer state '{key}' of shape [{string.Join(", ", parameter.shape)}]. Was it written by Trainer.SaveCheckpoint?");
                        moments.Add((target, source, key));
                    }
                }
                if (NonFinite(weights.Concat(moments).Select(w => (w.Name, w.Source))) is { } bad)
                    throw new InvalidDataException($"{path}: '{bad}' holds NaN or ∞, which Trainer.SaveCheckpoint never writes: the file is damaged. " +
                                                   "Resume from an earlier checkpoint of the run.");
                var history = JsonSerializer.Deserialize<TrainingHistory>(Get("history"), Json)!;
                int completed = int.Parse(Get("completed_steps"), CultureInfo.InvariantCulture);

                // All checked: now copy.
                using (no_grad())
                    foreach (var (target, source, _) in weights.Concat(moments)) target.copy_(source);
                for (int i = 0; i < trainer._parameters.Count; i++)
                    ((AdamW.State)states[i]).step = steps[trainer._parameters[i].Name];
                trainer.History = history;
                trainer.CompletedSteps = completed;
                trainer._lastCheckpoint = (path, trainer.CompletedSteps);
                return trainer;
            }
            catch
            {
                trainer.Dispose();
                throw;
            }
        }
        finally { foreach (var t in loaded.Values) t.Dispose(); }
    }

    /// <summary>
    /// A SHA-256 of everything in <paramref name="model"/>'s state that the run does not train (frozen parameters and
    /// persistent buffers: a LoRA run's base weights, a QLoRA run's 4-bit codes): name, dtype, shape and bytes of each,
    /// in name order. An adapter run's checkpoint stores it, so its adapters never resume onto another base.
    /// </summary>
    static string FrozenFingerprint(nn.Module model, IEnumerable<string> trained)
    {
        var skip = trained.ToHashSet(StringComparer.Ordinal);
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        void Add(string s) => sha.AppendData(System.Text.Encoding.UTF8.GetBytes(s + "\n"));
        Add("llmnb-frozen 1");
        foreach (var (name, tensor) in model.state_dict().Where(p => !skip.Contains(p.Key)).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Add($"{name} {tensor.dtype} [{string.Join(",", tensor.shape)}]");
            if (tensor.device.type == DeviceType.META) continue;                // shapes without values: nothing more to hash
            using var cpu = tensor.detach().cpu().contiguous();
            sha.AppendData(cpu.bytes);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    static IReadOnlyDictionary<string, string> ReadTrainerMetadata(string path)
    {
        var metadata = SafetensorsFile.ReadMetadata(path);
        if (!metadata.TryGetValue(FormatKey, out var format) || format != Format)
            throw new InvalidDataException($"{path} is not a trainer checkpoint (no optimizer state). To load only the weights use Checkpoint.LoadGpt(path).");
        return metadata;
    }
}
