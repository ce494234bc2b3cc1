using System.Diagnostics;
using System.Globalization;
using LlmNotebooks.Tensors;
using LlmNotebooks.Transformer;
using TorchSharp;
using TorchSharp.Modules;
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
/// step's batch and random numbers depend only on (seed, step), an interrupted and resumed run computes the same losses
/// as an uninterrupted one (this file is the loop; saving and resuming are in Trainer.Checkpoint.cs).
/// A run whose loss, gradient norm, validation loss or weights go non-finite stops with a
/// <see cref="TrainingDivergedException"/> that names the step and the likely cause, and never writes a checkpoint of
/// that state: the last good checkpoint stays on disk.
/// <code>
/// using var trainer = new Trainer(model, train, validation, new TrainerOptions { Steps = 2000, CheckpointPath = "run/ckpt.safetensors" });
/// trainer.Run();
/// Plot.LossCurves(trainer.History)   // train and validation curves
/// </code>
/// </summary>
public sealed partial class Trainer : IDisposable
{
    readonly AdamW _optimizer;
    readonly List<(string Name, Parameter Parameter)> _parameters;     // in the optimizer's order: decayed group, then the rest
    (string Path, int Steps)? _lastCheckpoint;                          // the last good state on disk, named when a run diverges
    int _firstStep = -1;                                                // the first step this trainer ran (its model's state came from outside)
    readonly List<IStepSeeded> _stepSeeded;                             // modules that draw random numbers of their own

    /// <summary>
    /// How every trainer shows a run's progress: (title, total steps, steps already done) → the progress it reports to.
    /// By default a <see cref="LoopProgress"/>, which prints a plain line every few seconds and a final line (a console
    /// program, a test, a CI log). The notebook layer's <c>Course.Setup</c> replaces it with <c>LiveProgress</c>, which
    /// shows the same line in one display updated in place inside a notebook (and prints the same lines elsewhere).
    /// This hook lets the Trainer report upwards without depending on the notebook layer.
    /// </summary>
    public static Func<string, int, int, LoopProgress> StartProgress { get; set; } =
        (title, steps, done) => new LoopProgress(title, steps, done);

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
    /// <para>
    /// Each call shows its own progress (<see cref="StartProgress"/>). To show one bar over a run trained in parts, pass
    /// it as <paramref name="progress"/>: the steps are reported there, and the caller owns it (it is not disposed here).
    /// </para>
    /// </summary>
    public TrainingHistory Run(int? stopAfter = null, LoopProgress? progress = null)
    {
        int end = Math.Min(Options.Steps, stopAfter ?? Options.Steps);
        if (CompletedSteps >= end) return History;
        using var own = progress is null ? StartProgress(Options.Title, Options.Steps, CompletedSteps) : null;
        progress ??= own!;
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
        // Whatever the step draws from torch's global generator (dropout masks: TorchSharp's dropout takes no Generator
        // of its own) is seeded per step, so a resumed run draws the same numbers, and the generator is put back after
        // the step, so the caller's random numbers do not depend on this call. Every step is seeded, whatever the
        // model: a step that draws nothing (no dropout) is not changed by it.
        long stepSeed = Hashes.StreamSeed(Options.Seed, Hashes.StepStream, step);
        using var draws = TorchRandom.Seeded(stepSeed);
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

    public void Dispose() => _optimizer.Dispose();
}
