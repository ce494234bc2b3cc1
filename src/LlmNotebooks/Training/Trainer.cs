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
/// Trains a model on a task: pretraining a <see cref="Gpt"/> on next-token prediction (<see cref="LanguageModelingTask"/>),
/// or fine-tuning any module on any <see cref="ITrainingTask"/>. Each step: take the step's batch (in
/// <see cref="TrainerOptions.GradientAccumulation"/> micro-batches), compute the loss, backpropagate, clip the gradient
/// norm, and let AdamW update the parameters with the learning rate of a warmup + cosine schedule. Only parameters that
/// require a gradient are trained (freeze the rest, as LoRA does, and the optimizer never sees them). Matrices get weight
/// decay; biases and LayerNorm gains do not.
/// Validation loss is measured every <see cref="TrainerOptions.EvalEvery"/> steps; progress shows live in a notebook.
/// Checkpoints (safetensors, written atomically) hold the trained parameters (all weights when nothing is frozen, only
/// the trainable ones when something is), the optimizer's moments, the options and the history, and
/// <see cref="Resume(string, TokenBatches, TokenBatches?)"/> continues a run exactly where it stopped: because every
/// step's batch depends only on (seed, step), an interrupted and resumed run computes the same losses as an
/// uninterrupted one.
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
    const string FormatKey = "format", Format = "llm-notebooks-trainer 1", TrainedOnlyKey = "trained_parameters_only";
    static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    readonly AdamW _optimizer;
    readonly List<(string Name, Parameter Parameter)> _parameters;     // in the optimizer's order: decayed group, then the rest
    (string Path, int Steps)? _lastCheckpoint;                          // the last good state on disk, named when a run diverges
    int _firstStep = -1;
    readonly List<IStepSeeded> _stepSeeded;                               // modules that draw random numbers of their own                                                  // the first step this trainer ran (its model's state came from outside)

    /// <summary>The model being trained (a <see cref="Gpt"/> for pretraining; any module for a task of your own).</summary>
    public nn.Module Model { get; }
    public TrainerOptions Options { get; }
    /// <summary>What the model learns: the batches and their loss.</summary>
    public ITrainingTask Task { get; }
    /// <summary>The training tokens, for a language-modelling run (null for other tasks).</summary>
    public TokenBatches? TrainData => (Task as LanguageModelingTask)?.Train;
    /// <summary>The validation tokens, for a language-modelling run that has them.</summary>
    public TokenBatches? ValidationData => (Task as LanguageModelingTask)?.Validation;
    public TrainingHistory History { get; private set; } = new();

    /// <summary>Steps done so far (the next step to run has this 0-based number).</summary>
    public int CompletedSteps { get; private set; }

    /// <summary>Whether all <see cref="TrainerOptions.Steps"/> are done.</summary>
    public bool Finished => CompletedSteps >= Options.Steps;

    /// <summary>Parameters that get weight decay (every matrix: embeddings and Linear weights).</summary>
    public IReadOnlyList<string> DecayedParameters { get; }

    /// <summary>Parameters without weight decay (biases and LayerNorm gains: pulling them to 0 would only hurt).</summary>
    public IReadOnlyList<string> UndecayedParameters { get; }

    /// <summary>Parameters the optimizer updates (those that require a gradient), in its order.</summary>
    public IReadOnlyList<string> TrainedParameters => _parameters.Select(p => p.Name).ToList();

    /// <summary>Whether some of the model's parameters are frozen (then checkpoints hold only the trained ones).</summary>
    public bool HasFrozenParameters { get; }

    /// <summary>Pretraining: next-token prediction of <paramref name="model"/> on <paramref name="train"/>, validated on <paramref name="validation"/>.</summary>
    public Trainer(Gpt model, TokenBatches train, TokenBatches? validation, TrainerOptions options)
        : this(model, new LanguageModelingTask(train ?? throw new ArgumentNullException(nameof(train)), validation), options) { }

    /// <summary>Trains <paramref name="model"/>'s parameters that require a gradient on <paramref name="task"/>.</summary>
    public Trainer(nn.Module model, ITrainingTask task, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();                     // (a Gpt's config was validated when the Gpt was built)
        task.Check(model);
        Model = model;
        Task = task;
        Options = options;

        var all = model.named_parameters().ToList();
        var named = all.Where(p => p.parameter.requires_grad).ToList();
        if (named.Count == 0)
            throw new ArgumentException($"Every parameter of the {model.GetType().Name} is frozen (requires_grad = false), so there is nothing to train. " +
                                        "Unfreeze the parameters to train, or add trainable ones (for example LoRA adapters).");
        HasFrozenParameters = named.Count < all.Count;
        _stepSeeded = model.modules().Prepend(model).OfType<IStepSeeded>().ToList();   // modules() leaves out the model itself
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
    /// interruption, or to train in parts). Returns the history so far. The steps run in train mode; the model's mode is
    /// put back as it was afterwards.
    /// </summary>
    public TrainingHistory Run(int? stopAfter = null)
    {
        int end = Math.Min(Options.Steps, stopAfter ?? Options.Steps);
        if (CompletedSteps >= end) return History;
        using var progress = LiveProgress.Start(Options.Title, Options.Steps, firstStep: CompletedSteps);
        using var training = Model.TrainScope();            // train mode for the run; the caller's mode afterwards
        if (_firstStep < 0) _firstStep = CompletedSteps;
        for (int step = CompletedSteps; step < end; step++)
        {
            var clock = Stopwatch.StartNew();
            var (result, tokens) = TrainOneStep(step);
            History.TrainSeconds += clock.Elapsed.TotalSeconds;
            History.Tokens += tokens;
            History.Train.Add(result);
            CompletedSteps = step + 1;

            string? note = null;
            if (Task.ValidationFingerprint is not null && (CompletedSteps % Options.EvalEvery == 0 || CompletedSteps == Options.Steps))
            {
                double val = EvaluateValidation();
                if (!double.IsFinite(val))
                    throw Diverged(step, $"the validation loss after step {step} is {Guard.Show(val)}" +
                                         (NonFiniteWeight() is { } broken ? $": the update made the weights non-finite ('{broken}')" : ""), Options.Schedule.At(step));
                History.Validation.Add(new ValidationPoint(CompletedSteps, val));
                note = $"val {val.ToString("F4", CultureInfo.InvariantCulture)}";
            }
            if (Options.CheckpointPath is { } path &&
                ((Options.CheckpointEvery > 0 && CompletedSteps % Options.CheckpointEvery == 0) || CompletedSteps == Options.Steps))
                SaveCheckpoint(Options.CheckpointFile(CompletedSteps));
            progress.Report(CompletedSteps, result.Loss, tokens, note);
        }
        if (NonFiniteWeight() is { } bad)
            throw Diverged(end - 1, $"the update of step {end - 1} made the weights non-finite ('{bad}' holds NaN or ∞)", Options.Schedule.At(end - 1));
        return History;
    }

    (TrainStep Step, long Tokens) TrainOneStep(int step)
    {
        using var scope = NewDisposeScope();
        // Dropout masks come from torch's global generator (TorchSharp's dropout takes no Generator of its own): seed it
        // per step, so a resumed run draws the same masks, and put it back after the step, so the caller's random
        // numbers do not depend on this call.
        long stepSeed = Options.Seed * 7_919 + step;
        using var masks = Model is Gpt { Config.Dropout: > 0 } ? TorchRandom.Seeded(stepSeed) : null;
        foreach (var seeded in _stepSeeded) seeded.SeedStep(stepSeed);     // modules with generators of their own (LoRA dropout)
        double lr = Options.Schedule.At(step);
        foreach (var group in _optimizer.ParamGroups) group.LearningRate = lr;

        // One step = GradientAccumulation micro-batches. Each backpropagates its summed loss, so the gradients add up;
        // dividing them by the total count at the end gives exactly the gradient of one large batch's mean loss.
        _optimizer.zero_grad();
        int parts = Options.GradientAccumulation;
        double lossSum = 0;
        long count = 0;
        for (int part = 0; part < parts; part++)
        {
            using var partScope = NewDisposeScope();
            var (sum, n) = Task.TrainLoss(Model, step, part, parts, Options.BatchSize, Options.Seed);
            double value = sum.item<float>();
            if (!double.IsFinite(value)) ThrowNonFiniteLoss(step, value, lr);
            lossSum += value;
            count += n;
            if (parts == 1) (sum / Math.Max(1, n)).backward();
            else if (n > 0) sum.backward();
        }
        double lossValue = lossSum / Math.Max(1, count);
        if (parts > 1 && count > 0)
            using (no_grad())
                foreach (var (_, p) in _parameters) p.grad?.div_(count);
        var trained = _parameters.Select(p => p.Parameter).ToList();
        double norm = Options.GradClip > 0 ? nn.utils.clip_grad_norm_(trained, Options.GradClip) : GradientNorm();
        if (!double.IsFinite(norm))
            throw Diverged(step, $"the gradient norm is {Guard.Show(norm)} (the loss was {Guard.Show(lossValue)}): the gradients overflowed", lr);
        _optimizer.step();
        return (new TrainStep(step, lossValue, lr, norm), count);
    }

    void ThrowNonFiniteLoss(int step, double lossValue, double lr)
    {
        if (NonFiniteWeight() is not { } bad)
            throw Diverged(step, $"the loss is {Guard.Show(lossValue)} although the weights are finite: the logits overflowed", lr);
        if (step == _firstStep)
            throw Diverged(step, $"the loss is {Guard.Show(lossValue)} because the model handed to the Trainer already holds non-finite weights ('{bad}')", lr,
                           "Likely cause: the model was trained or loaded into NaN before; start from a fresh model or a good checkpoint.");
        throw Diverged(step, $"the loss is {Guard.Show(lossValue)} because the previous update made the weights non-finite ('{bad}' holds NaN or ∞)", Options.Schedule.At(step - 1));
    }

    /// <summary>The global L2 norm of the gradients (what clipping measures), without changing them.</summary>
    double GradientNorm()
    {
        var norms = _parameters.Select(p => p.Parameter).Where(p => p.grad is not null).Select(p => p.grad!.norm()).ToArray();
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
    public double Evaluate(TokenBatches data) =>
        EvaluateLoss(Model as Gpt ?? throw new InvalidOperationException($"Evaluate(TokenBatches) needs a Gpt; this trainer trains a {Model.GetType().Name}. Use EvaluateValidation()."),
                     data, Options.BatchSize, Options.EvalBatches);

    /// <summary>
    /// The task's validation loss: the mean loss per scored prediction over <see cref="TrainerOptions.EvalBatches"/>
    /// fixed batches, in eval mode, without gradients (NaN when the task has no validation data).
    /// </summary>
    public double EvaluateValidation() => EvaluateTask(Model, Task, Options.BatchSize, Options.EvalBatches);

    /// <summary>
    /// Mean validation loss per scored prediction of <paramref name="model"/> on <paramref name="task"/> over
    /// <paramref name="batches"/> fixed batches (eval mode, no gradients; the model's mode is restored).
    /// </summary>
    public static double EvaluateTask(nn.Module model, ITrainingTask task, int batchSize = 16, int batches = 8)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(task);
        if (task.ValidationFingerprint is null) return double.NaN;
        if (batchSize <= 0 || batches <= 0) throw new ArgumentOutOfRangeException(nameof(batches), $"Expected a positive batch size and batch count, got {batchSize} and {batches}.");
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            double sum = 0;
            long count = 0;
            for (int i = 0; i < batches; i++)
            {
                using var scope = NewDisposeScope();
                var (s, n) = task.ValidationLoss(model, i, batches, batchSize);
                sum += s.item<float>();
                count += n;
            }
            return sum / Math.Max(1, count);
        }
        finally { if (wasTraining) model.train(); }
    }

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
    /// weights (so <see cref="Checkpoint.LoadGpt"/> reads it as a model too) or, when some parameters are frozen, only the
    /// trained ones (an adapter's checkpoint stays small: the frozen base is not copied into every file); AdamW's two
    /// moments for every trained parameter (as "optimizer.&lt;name&gt;.exp_avg" / ".exp_avg_sq"); and in the metadata the
    /// config (for a Gpt), options, step and history. With <see cref="TrainerOptions.KeepCheckpoints"/> set, the oldest
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
        var loaded = SafetensorsFile.ReadTensors(path);
        try
        {
            // The weights first (a full run's file holds every weight; an adapter run's only the trained ones).
            using (no_grad())
            {
                var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
                var missing = steps.Keys.Where(name => !parameters.ContainsKey(name)).ToList();
                if (missing.Count > 0)
                    throw new InvalidDataException($"{path} trained parameters this model does not have: {string.Join(", ", missing.Take(5))}. " +
                                                   "Build the model the way the run was started (the same adapters, the same names).");
                bool trainedOnly = metadata.TryGetValue(TrainedOnlyKey, out var only) && only == "true";
                if (trainedOnly)
                    foreach (var name in steps.Keys)
                    {
                        var target = parameters[name];
                        if (!loaded.TryGetValue(name, out var source) || !source.shape.SequenceEqual(target.shape))
                            throw new InvalidDataException($"{path} lacks the parameter '{name}' of shape [{string.Join(", ", target.shape)}]. Was it written by Trainer.SaveCheckpoint?");
                        target.copy_(source);
                    }
                else if (loadWeights)
                    Checkpoint.Load(model, path);      // every weight, names, shapes and dtypes checked
            }

            var trainer = new Trainer(model, task, options);
            try
            {
                if (!trainer.TrainedParameters.OrderBy(n => n, StringComparer.Ordinal).SequenceEqual(steps.Keys.OrderBy(n => n, StringComparer.Ordinal)))
                    throw new InvalidDataException($"{path} trained {steps.Count} parameters but this model has {trainer._parameters.Count} that require a gradient. " +
                                                   "Freeze and unfreeze the same parameters as when the run was started.");
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
                    state.step = steps[name];
                }
                trainer.History = JsonSerializer.Deserialize<TrainingHistory>(Get("history"), Json)!;
                trainer.CompletedSteps = int.Parse(Get("completed_steps"), CultureInfo.InvariantCulture);
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

    static IReadOnlyDictionary<string, string> ReadTrainerMetadata(string path)
    {
        var metadata = SafetensorsFile.ReadMetadata(path);
        if (!metadata.TryGetValue(FormatKey, out var format) || format != Format)
            throw new InvalidDataException($"{path} is not a trainer checkpoint (no optimizer state). To load only the weights use Checkpoint.LoadGpt(path).");
        return metadata;
    }

    public void Dispose() => _optimizer.Dispose();
}
