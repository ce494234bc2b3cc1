using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using LlmNotebooks.Notebook;
using LlmNotebooks.Tensors;
using LlmNotebooks.Transformer;
using TorchSharp;
using TorchSharp.Modules;
using LlmNotebooks.Serialization;
using static TorchSharp.torch;

namespace LlmNotebooks.Training;

/// <summary>
/// Pretrains a decoder-only <see cref="Gpt"/> on next-token prediction. Each step: take the step's batch, compute the
/// cross-entropy of the predicted next tokens, backpropagate, clip the gradient norm, and let AdamW update the weights
/// with the learning rate of a warmup + cosine schedule. Matrices get weight decay; biases and LayerNorm gains do not.
/// Validation loss is measured every <see cref="TrainerOptions.EvalEvery"/> steps; progress shows live in a notebook.
/// Checkpoints (safetensors, written atomically) hold the weights, the optimizer's moments, the config, the options
/// and the history, and <see cref="Resume"/> continues a run exactly where it stopped: because every step's batch
/// depends only on (seed, step), an interrupted and resumed run computes the same losses as an uninterrupted one.
/// A run whose loss, gradient norm, validation loss or weights go non-finite stops with a
/// <see cref="TrainingDivergedException"/> that names the step and the likely cause, and never writes a checkpoint of
/// that state: the last good checkpoint stays on disk.
/// <code>
/// using var trainer = new Trainer(model, train, validation, new TrainerOptions { Steps = 2000, CheckpointPath = "run/ckpt.safetensors" });
/// trainer.Run();
/// Plot.LossCurves(trainer.History)   // train and validation curves
/// </code>
/// </summary>
public sealed class Trainer : IDisposable
{
    const string FormatKey = "format", Format = "llm-notebooks-trainer 1";
    static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    readonly AdamW _optimizer;
    readonly List<(string Name, Parameter Parameter)> _parameters;     // in the optimizer's order: decayed group, then the rest
    (string Path, int Steps)? _lastCheckpoint;                          // the last good state on disk, named when a run diverges
    int _firstStep = -1;                                                  // the first step this trainer ran (its model's state came from outside)

    public Gpt Model { get; }
    public TrainerOptions Options { get; }
    public TokenBatches TrainData { get; }
    public TokenBatches? ValidationData { get; }
    public TrainingHistory History { get; private set; } = new();

    /// <summary>Steps done so far (the next step to run has this 0-based number).</summary>
    public int CompletedSteps { get; private set; }

    /// <summary>Whether all <see cref="TrainerOptions.Steps"/> are done.</summary>
    public bool Finished => CompletedSteps >= Options.Steps;

    /// <summary>Parameters that get weight decay (every matrix: embeddings and Linear weights).</summary>
    public IReadOnlyList<string> DecayedParameters { get; }

    /// <summary>Parameters without weight decay (biases and LayerNorm gains: pulling them to 0 would only hurt).</summary>
    public IReadOnlyList<string> UndecayedParameters { get; }

    public Trainer(Gpt model, TokenBatches train, TokenBatches? validation, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        foreach (var (data, name) in new[] { (train, "training"), (validation, "validation") })
        {
            if (data is null) continue;
            if (data.BlockSize > model.Config.BlockSize)
                throw new ArgumentException($"The {name} windows hold {data.BlockSize} tokens but the model's context window (BlockSize) is {model.Config.BlockSize}. " +
                                            $"Make the TokenBatches with blockSize ≤ {model.Config.BlockSize}.");
            data.RequireVocabulary(model.Config.VocabSize, $"{name} text");    // once here, not in every step's loss
        }
        Model = model;
        TrainData = train;
        ValidationData = validation;
        Options = options;

        var named = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        var decayed = named.Where(p => p.parameter.dim() >= 2).ToList();
        var undecayed = named.Where(p => p.parameter.dim() < 2).ToList();
        _parameters = [.. decayed, .. undecayed];
        DecayedParameters = decayed.Select(p => p.name).ToList();
        UndecayedParameters = undecayed.Select(p => p.name).ToList();
        _optimizer = optim.AdamW(
        [
            new AdamW.ParamGroup(decayed.Select(p => p.parameter), lr: options.MaxLr, beta1: options.Beta1, beta2: options.Beta2, weight_decay: options.WeightDecay),
            new AdamW.ParamGroup(undecayed.Select(p => p.parameter), lr: options.MaxLr, beta1: options.Beta1, beta2: options.Beta2, weight_decay: 0),
        ], lr: options.MaxLr, beta1: options.Beta1, beta2: options.Beta2);
    }

    /// <summary>
    /// Trains until all steps are done, or until <paramref name="stopAfter"/> completed steps (to simulate an
    /// interruption, or to train in parts). Returns the history so far.
    /// </summary>
    public TrainingHistory Run(int? stopAfter = null)
    {
        int end = Math.Min(Options.Steps, stopAfter ?? Options.Steps);
        if (CompletedSteps >= end) return History;
        long tokensPerStep = (long)Options.BatchSize * TrainData.BlockSize;
        using var progress = LiveProgress.Start(Options.Title, Options.Steps, firstStep: CompletedSteps);
        Model.train();
        if (_firstStep < 0) _firstStep = CompletedSteps;
        for (int step = CompletedSteps; step < end; step++)
        {
            var clock = Stopwatch.StartNew();
            var result = TrainOneStep(step);
            History.TrainSeconds += clock.Elapsed.TotalSeconds;
            History.Tokens += tokensPerStep;
            History.Train.Add(result);
            CompletedSteps = step + 1;

            string? note = null;
            if (ValidationData is not null && (CompletedSteps % Options.EvalEvery == 0 || CompletedSteps == Options.Steps))
            {
                double val = Evaluate(ValidationData);
                if (!double.IsFinite(val))
                    throw Diverged(step, $"the validation loss after step {step} is {Guard.Show(val)}" +
                                         (NonFiniteWeight() is { } broken ? $": the update made the weights non-finite ('{broken}')" : ""), Options.Schedule.At(step));
                History.Validation.Add(new ValidationPoint(CompletedSteps, val));
                note = $"val {val.ToString("F4", CultureInfo.InvariantCulture)}";
            }
            if (Options.CheckpointPath is { } path &&
                ((Options.CheckpointEvery > 0 && CompletedSteps % Options.CheckpointEvery == 0) || CompletedSteps == Options.Steps))
                SaveCheckpoint(path);
            progress.Report(CompletedSteps, result.Loss, tokensPerStep, note);
        }
        if (NonFiniteWeight() is { } bad)
            throw Diverged(end - 1, $"the update of step {end - 1} made the weights non-finite ('{bad}' holds NaN or ∞)", Options.Schedule.At(end - 1));
        return History;
    }

    TrainStep TrainOneStep(int step)
    {
        using var scope = NewDisposeScope();
        // Dropout masks come from torch's global generator (TorchSharp's dropout takes no Generator of its own): seed it
        // per step, so a resumed run draws the same masks, and put it back after the step, so the caller's random
        // numbers do not depend on this call.
        using var masks = Model.Config.Dropout > 0 ? TorchRandom.Seeded(Options.Seed * 7_919 + step) : null;
        var (x, y) = TrainData.Random(Options.BatchSize, Options.Seed, step);
        double lr = Options.Schedule.At(step);
        foreach (var group in _optimizer.ParamGroups) group.LearningRate = lr;

        _optimizer.zero_grad();
        var loss = CrossEntropy(Model, x, y);
        double lossValue = loss.item<float>();
        if (!double.IsFinite(lossValue))
        {
            if (NonFiniteWeight() is not { } bad)
                throw Diverged(step, $"the loss is {Guard.Show(lossValue)} although the weights are finite: the logits overflowed", lr);
            if (step == _firstStep)
                throw Diverged(step, $"the loss is {Guard.Show(lossValue)} because the model handed to the Trainer already holds non-finite weights ('{bad}')", lr,
                               "Likely cause: the model was trained or loaded into NaN before; start from a fresh model or a good checkpoint.");
            throw Diverged(step, $"the loss is {Guard.Show(lossValue)} because the previous update made the weights non-finite ('{bad}' holds NaN or ∞)", Options.Schedule.At(step - 1));
        }
        loss.backward();
        double norm = Options.GradClip > 0 ? nn.utils.clip_grad_norm_(Model.parameters(), Options.GradClip) : GradientNorm();
        if (!double.IsFinite(norm))
            throw Diverged(step, $"the gradient norm is {Guard.Show(norm)} (the loss was {Guard.Show(lossValue)}): the gradients overflowed", lr);
        _optimizer.step();
        return new TrainStep(step, lossValue, lr, norm);
    }

    /// <summary>The global L2 norm of the gradients (what clipping measures), without changing them.</summary>
    double GradientNorm()
    {
        var norms = Model.parameters().Where(p => p.grad is not null).Select(p => p.grad!.norm()).ToArray();
        return norms.Length == 0 ? 0 : stack(norms).norm().item<float>();
    }

    string? NonFiniteWeight() => NonFinite(Model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));

    /// <summary>The name of the first tensor that holds a NaN or ±∞, or null when all are finite.</summary>
    static string? NonFinite(IEnumerable<(string Name, Tensor Tensor)> tensors)
    {
        using var scope = NewDisposeScope();
        foreach (var (name, t) in tensors)
            if (t.is_floating_point() && !isfinite(t).all().item<bool>()) return name;
        return null;
    }

    TrainingDivergedException Diverged(int step, string what, double lr, string? cause = null)
    {
        string kept = _lastCheckpoint is { } c ? $" The last checkpoint, {c.Path} after {c.Steps} steps, is kept as it was." :
                      Options.CheckpointPath is not null ? " No checkpoint was written from this run." : "";
        cause ??= Options.GradClip > 0
            ? string.Create(CultureInfo.InvariantCulture, $"Likely cause: the learning rate ({lr:G3} at this step, MaxLr {Options.MaxLr:G3}) is too high for this model; lower MaxLr, or lengthen WarmupSteps ({Options.WarmupSteps}).")
            : string.Create(CultureInfo.InvariantCulture, $"Likely cause: the learning rate ({lr:G3} at this step, MaxLr {Options.MaxLr:G3}) is too high and clipping is off (GradClip = 0); lower MaxLr or set GradClip = 1.");
        return new TrainingDivergedException(step, $"Training stopped at step {step} of {Options.Steps} (0-based): {what}. {cause}{kept}");
    }

    /// <summary>
    /// Mean cross-entropy (nats per token) of the model's next-token predictions: input (B, T), targets (B, T), every
    /// target an id in [0, VocabSize) (checked: a −100 would be silently skipped as cross-entropy's ignore index).
    /// </summary>
    public static Tensor Loss(Gpt model, Tensor input, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        ShapeGuard.Require(target, "target", "the input's (B, T)", input.shape);
        ShapeGuard.RequireTokenIds(target, "target", model.Config.VocabSize, model.Config.BlockSize, "the context window (BlockSize)");
        return CrossEntropy(model, input, target);
    }

    /// <summary><see cref="Loss"/> on targets already known to be in the vocabulary (the trainer checks its data once).</summary>
    static Tensor CrossEntropy(Gpt model, Tensor input, Tensor target)
    {
        var logits = model.forward(input);
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), target.reshape(-1));
    }

    /// <summary>Validation loss of the model on <paramref name="data"/>: the same evenly spread windows every time, no gradients.</summary>
    public double Evaluate(TokenBatches data) => EvaluateLoss(Model, data, Options.BatchSize, Options.EvalBatches);

    /// <summary>Mean loss of <paramref name="model"/> over <paramref name="batches"/> fixed batches of <paramref name="data"/> (eval mode, no gradients).</summary>
    public static double EvaluateLoss(Gpt model, TokenBatches data, int batchSize = 16, int batches = 8)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        data.RequireVocabulary(model.Config.VocabSize);
        using var eval = model.EvalScope();
        double sum = 0;
        for (int i = 0; i < batches; i++)
        {
            using var scope = NewDisposeScope();
            var (x, y) = data.Evenly(batchSize, i, batches);
            sum += CrossEntropy(model, x, y).item<float>();
        }
        return sum / batches;
    }

    /// <summary>
    /// Writes everything needed to continue this run to <paramref name="path"/> (safetensors, atomically): the model's
    /// weights (so <see cref="Checkpoint.LoadGpt"/> reads it as a model too), AdamW's two moments for every parameter
    /// (as "optimizer.&lt;name&gt;.exp_avg" / ".exp_avg_sq"), and in the metadata the config, options, step and history.
    /// </summary>
    /// <exception cref="TrainingDivergedException">A weight or optimizer moment holds NaN or ±∞: nothing is written,
    /// so an earlier good checkpoint at the same path is kept.</exception>
    public void SaveCheckpoint(string path)
    {
        var tensors = new Dictionary<string, Tensor>(Model.state_dict());
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
            [Checkpoint.GptConfigKey] = JsonSerializer.Serialize(Model.Config),
            ["trainer_options"] = JsonSerializer.Serialize(Options, Json),
            ["completed_steps"] = CompletedSteps.ToString(CultureInfo.InvariantCulture),
            ["adam_steps"] = JsonSerializer.Serialize(steps),
            ["history"] = JsonSerializer.Serialize(History, Json),
            ["train_data"] = TrainData.Fingerprint,
            ["validation_data"] = ValidationData?.Fingerprint ?? "",
        };
        if (NonFinite(tensors.Select(p => (p.Key, p.Value))) is { } bad)
            throw Diverged(Math.Max(0, CompletedSteps - 1), $"'{bad}' holds NaN or ∞, so no checkpoint was written to {path}", Options.Schedule.At(Math.Max(0, CompletedSteps - 1)));
        SafetensorsFile.Write(path, tensors, metadata);
        _lastCheckpoint = (path, CompletedSteps);
    }

    /// <summary>
    /// Continues a run from a checkpoint written by <see cref="SaveCheckpoint"/>: rebuilds the model from the stored
    /// config, restores weights, optimizer moments, options and history, and checks that the data is the same as the
    /// run was trained on. Call <see cref="Run"/> to go on. The caller disposes <see cref="Model"/> (and the trainer).
    /// </summary>
    public static Trainer Resume(string path, TokenBatches train, TokenBatches? validation)
    {
        var metadata = SafetensorsFile.ReadMetadata(path);
        if (!metadata.TryGetValue(FormatKey, out var format) || format != Format)
            throw new InvalidDataException($"{path} is not a trainer checkpoint (no optimizer state). To load only the weights use Checkpoint.LoadGpt(path).");
        string Get(string key) => metadata.TryGetValue(key, out var v) ? v
            : throw new InvalidDataException($"{path} is a damaged trainer checkpoint: its metadata has no '{key}'.");
        if (Get("train_data") != train.Fingerprint || Get("validation_data") != (validation?.Fingerprint ?? ""))
            throw new InvalidDataException($"{path} was trained on different data (training {Get("train_data")}, validation {Get("validation_data")}) " +
                                           $"than given now ({train.Fingerprint}, {validation?.Fingerprint ?? "none"}). Resume with the same tokens and block size.");
        var options = JsonSerializer.Deserialize<TrainerOptions>(Get("trainer_options"), Json)!;
        var steps = JsonSerializer.Deserialize<Dictionary<string, long>>(Get("adam_steps"))!;
        var model = Checkpoint.LoadGpt(path);
        var trainer = new Trainer(model, train, validation, options);
        try
        {
            var loaded = SafetensorsFile.ReadTensors(path);
            try
            {
                using var _ = no_grad();
                var states = trainer._optimizer.state_dict().State;
                for (int i = 0; i < trainer._parameters.Count; i++)
                {
                    var (name, parameter) = trainer._parameters[i];
                    var state = (AdamW.State)states[i];
                    foreach (var (suffix, target) in new[] { ("exp_avg", state.exp_avg), ("exp_avg_sq", state.exp_avg_sq) })
                    {
                        string key = $"{Checkpoint.OptimizerPrefix}{name}.{suffix}";
                        if (!loaded.TryGetValue(key, out var source) || !source.shape.SequenceEqual(parameter.shape))
                            throw new InvalidDataException($"{path} lacks optimizer state '{key}' of shape [{string.Join(", ", parameter.shape)}]. Was it written by Trainer.SaveCheckpoint?");
                        target.copy_(source);
                    }
                    state.step = steps.TryGetValue(name, out long s) ? s : throw new InvalidDataException($"{path}: no optimizer step count for '{name}'.");
                }
            }
            finally { foreach (var t in loaded.Values) t.Dispose(); }
            trainer.History = JsonSerializer.Deserialize<TrainingHistory>(Get("history"), Json)!;
            trainer.CompletedSteps = int.Parse(Get("completed_steps"), CultureInfo.InvariantCulture);
            trainer._lastCheckpoint = (path, trainer.CompletedSteps);
            return trainer;
        }
        catch
        {
            trainer.Dispose();
            model.Dispose();
            throw;
        }
    }

    public void Dispose() => _optimizer.Dispose();
}
