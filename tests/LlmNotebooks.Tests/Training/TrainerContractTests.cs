using System.Globalization;
using LlmNotebooks.Serialization;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Training;

/// <summary>
/// A two-parameter module for the Trainer's contract: <c>weight</c> (2×2, trained), <c>spare</c> (names can be chosen)
/// (frozen unless asked, and never used by the loss, so a test can corrupt it without touching the gradients) and a
/// buffer <c>counter</c>. It records the step seeds the Trainer hands it.
/// </summary>
sealed class Toy : nn.Module<Tensor, Tensor>, IStepSeeded
{
    public Parameter Weight { get; }
    public Parameter Spare { get; }
    public Tensor Counter { get; }
    public List<long> Seeds { get; } = [];

    public Toy(string weightName = "weight", bool freezeSpare = true, float start = 1, string spareName = "spare") : base("toy")
    {
        Weight = new Parameter(full(2, 2, start));
        Spare = new Parameter(zeros(2), requires_grad: !freezeSpare);
        Counter = zeros(1);
        register_parameter(weightName, Weight);
        register_parameter(spareName, Spare);
        register_buffer("counter", Counter);
    }

    public override Tensor forward(Tensor x) => x.matmul(Weight);
    public void SeedStep(long stepSeed) => Seeds.Add(stepSeed);
}

/// <summary>A task whose losses and side effects a test writes: the loss of every step, something done after it, and validation.</summary>
sealed class ToyTask : ITrainingTask
{
    public Func<Toy, int, Tensor> Loss { get; init; } = (m, _) => m.forward(ones(1, 2)).sub(3).square().sum();
    public Action<Toy, int>? AfterLoss { get; init; }
    public Func<Toy, int, LossSum>? Validation { get; init; }

    public string TrainFingerprint => "toy";
    public string? ValidationFingerprint => Validation is null ? null : "toy validation";
    public long TrainExamples => 1;
    public void Check(nn.Module model) { }

    public LossSum TrainLoss(nn.Module model, int step, int part, int parts, int batchSize, long seed)
    {
        var loss = Loss((Toy)model, step);
        AfterLoss?.Invoke((Toy)model, step);
        return new LossSum(loss, 1);
    }

    public LossSum ValidationLoss(nn.Module model, int index, int batches, int batchSize) => Validation!((Toy)model, index);
}

/// <summary>
/// The Trainer's contract, piece by piece, on a module small enough to reason about: what a step records and hands its
/// modules, what every divergence message says (the step, the cause, what happened to the checkpoints), validation and
/// evaluation by hand, and every refusal of <see cref="Trainer.Resume(string, nn.Module, ITrainingTask)"/> by message.
/// </summary>
public class TrainerContractTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("llmnb-trainer-contract-").FullName;
    public void Dispose() => Directory.Delete(_folder, recursive: true);

    static readonly TrainerOptions Three = new() { Steps = 3, BatchSize = 1, WarmupSteps = 1, EvalEvery = 1, EvalBatches = 1, MaxLr = 0.01, MinLr = 0.001 };
    static readonly TokenBatches Train = new(PatternedTokens.Make(600, 1), 8), Validation = new(PatternedTokens.Make(300, 2), 8);

    static Gpt Model()
    {
        manual_seed(42);
        return new Gpt(GptConfig.Tiny);
    }

    static void Poison(Tensor t)
    {
        using var _ = no_grad();
        t.fill_(float.NaN);
    }

    /// <summary>The Trainer's "likely cause" sentence for a learning rate, with clipping on or off.</summary>
    static string Cause(TrainerOptions o, double lr) => o.GradClip > 0
        ? string.Create(CultureInfo.InvariantCulture, $"Likely cause: the learning rate ({lr:G3} at this step, MaxLr {o.MaxLr:G3}) is too high for this model; lower MaxLr, or lengthen WarmupSteps ({o.WarmupSteps}).")
        : string.Create(CultureInfo.InvariantCulture, $"Likely cause: the learning rate ({lr:G3} at this step, MaxLr {o.MaxLr:G3}) is too high and clipping is off (GradClip = 0); lower MaxLr or set GradClip = 1.");

    static string Stopped(TrainerOptions o, int step, string what, string cause) => $"Training stopped at step {step} of {o.Steps} (0-based): {what}. {cause}";

    [Fact]
    public void Null_arguments_are_refused_by_name()
    {
        using var toy = new Toy();
        var task = new ToyTask();
        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => new Trainer(null!, task, Three)).ParamName);
        Assert.Equal("task", Assert.Throws<ArgumentNullException>(() => new Trainer(toy, null!, Three)).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentNullException>(() => new Trainer(toy, task, null!)).ParamName);
        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => Trainer.EvaluateTask(null!, task)).ParamName);
        Assert.Equal("task", Assert.Throws<ArgumentNullException>(() => Trainer.EvaluateTask(toy, null!)).ParamName);

        using var model = Model();
        using var scope = NewDisposeScope();
        var (x, y) = Train.Random(2, seed: 1, step: 0);
        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => LanguageModelingTask.Loss(null!, x, y)).ParamName);
        Assert.Equal("input", Assert.Throws<ArgumentNullException>(() => LanguageModelingTask.Loss(model, null!, y)).ParamName);
        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => LanguageModelingTask.EvaluateLoss(null!, Train)).ParamName);
        Assert.Equal("data", Assert.Throws<ArgumentNullException>(() => LanguageModelingTask.EvaluateLoss(model, null!)).ParamName);

        string nowhere = Path.Combine(_folder, "nothing.safetensors");   // the arguments are checked before the file is read
        Assert.Equal("train", Assert.Throws<ArgumentNullException>(() => Trainer.Resume(nowhere, (TokenBatches)null!, null)).ParamName);
        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => Trainer.Resume(nowhere, (nn.Module)null!, task)).ParamName);
        Assert.Equal("task", Assert.Throws<ArgumentNullException>(() => Trainer.Resume(nowhere, toy, null!)).ParamName);
    }

    [Fact]
    public void A_model_with_every_parameter_frozen_is_refused_with_what_to_do()
    {
        using var toy = new Toy();
        toy.Weight.requires_grad = false;
        var e = Assert.Throws<ArgumentException>(() => new Trainer(toy, new ToyTask(), Three));
        Assert.Equal("Every parameter of the Toy is frozen (requires_grad = false), so there is nothing to train. " +
                     "Unfreeze the parameters to train, or add trainable ones (for example LoRA adapters).", e.Message);
    }

    [Fact]
    public void Run_trains_in_train_mode_and_puts_back_the_mode_it_found()
    {
        using var toy = new Toy();
        var modes = new List<bool>();
        using var trainer = new Trainer(toy, new ToyTask { AfterLoss = (m, _) => modes.Add(m.training) }, Three);
        toy.eval();
        trainer.Run(stopAfter: 2);
        Assert.Equal([true, true], modes);                                    // every step's loss in train mode
        Assert.False(toy.training, "Run puts back the eval mode it found");
        toy.train();
        trainer.Run();
        Assert.Equal([true, true, true], modes);
        Assert.True(toy.training, "and the train mode it found");
        toy.eval();
        var history = trainer.Run();                                          // nothing left to do
        Assert.False(toy.training, "a finished run does not touch the model");
        Assert.Equal(3, history.Train.Count);
    }

    [Fact]
    public void Every_step_hands_its_modules_the_step_stream_s_seed()
    {
        using var toy = new Toy();
        using var trainer = new Trainer(toy, new ToyTask(), Three with { Seed = 5 });
        trainer.Run();
        Assert.Equal([Hashes.StreamSeed(5, Hashes.StepStream, 0), Hashes.StreamSeed(5, Hashes.StepStream, 1), Hashes.StreamSeed(5, Hashes.StepStream, 2)], toy.Seeds);
        Assert.Equal(3, toy.Seeds.Distinct().Count());
    }

    [Fact]
    public void The_recorded_loss_is_the_loss_of_the_step_s_batch_before_its_update()
    {
        using var model = Model();
        var options = new TrainerOptions { Steps = 2, BatchSize = 4, WarmupSteps = 1, EvalBatches = 1, MaxLr = 1e-2, MinLr = 1e-3 };
        double expected;
        using (var scope = NewDisposeScope())
        {
            var (x, y) = Train.Random(4, options.Seed, step: 0);
            using (no_grad()) expected = LanguageModelingTask.Loss(model, x, y).item<float>();
        }
        using var trainer = new Trainer(model, Train, null, options);
        trainer.Run();
        Assert.Equal(expected, trainer.History.Train[0].Loss, 6);
        Assert.NotEqual(expected, trainer.History.Train[1].Loss);
    }

    [Fact]
    public void Without_clipping_the_update_is_the_same_as_with_a_clip_that_never_binds()
    {
        Tensor TrainedWeight(double clip)
        {
            using var toy = new Toy();
            using var trainer = new Trainer(toy, new ToyTask(), Three with { GradClip = clip });
            trainer.Run();
            return toy.Weight.detach().clone();
        }
        using var scope = NewDisposeScope();
        var unclipped = TrainedWeight(0);
        Assert.False(unclipped.eq(1).all().item<bool>(), "GradClip = 0 turns clipping off, not the updates");
        Assert.True(TensorAssert.Same(unclipped, TrainedWeight(1e6)));
    }

    [Fact]
    public void A_non_finite_loss_with_finite_weights_names_the_overflow_and_the_cause_with_clipping_on_or_off()
    {
        foreach (var clip in new[] { 1.0, 0.0 })
        {
            var options = Three with { GradClip = clip };
            using var toy = new Toy();
            using var trainer = new Trainer(toy, new ToyTask { Loss = (m, step) => m.Weight.sum() * (step == 1 ? float.PositiveInfinity : 1) }, options);
            var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run());
            Assert.Equal(1, e.Step);
            Assert.Equal(Stopped(options, 1, "the loss is +∞ although the weights are finite: the logits overflowed", Cause(options, options.Schedule.At(1))), e.Message);
        }
    }

    [Fact]
    public void A_gradient_that_overflows_is_named_with_the_loss()
    {
        using var toy = new Toy();
        // √|w − w| is 0, but its gradient at 0 is not finite.
        using var trainer = new Trainer(toy, new ToyTask { Loss = (m, _) => m.Weight.sub(m.Weight.detach()).abs().sqrt().sum() }, Three);
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run());
        Assert.Equal(Stopped(Three, 0, "the gradient norm is NaN (the loss was 0): the gradients overflowed", Cause(Three, Three.Schedule.At(0))), e.Message);
    }

    [Fact]
    public void Weights_that_go_non_finite_between_runs_are_blamed_on_the_previous_update_not_on_the_caller()
    {
        using var toy = new Toy();
        using var trainer = new Trainer(toy, new ToyTask(), Three);
        trainer.Run(stopAfter: 2);
        Poison(toy.Weight);
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run());
        Assert.Equal(Stopped(Three, 2, "the loss is NaN because the previous update made the weights non-finite ('weight' holds NaN or ∞)",
                             Cause(Three, Three.Schedule.At(1))), e.Message);
    }

    [Fact]
    public void A_model_handed_over_with_NaN_weights_is_blamed_on_where_it_came_from()
    {
        using var toy = new Toy();
        Poison(toy.Weight);
        using var trainer = new Trainer(toy, new ToyTask(), Three);
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run());
        Assert.Equal(Stopped(Three, 0, "the loss is NaN because the model handed to the Trainer already holds non-finite weights ('weight')",
                             "Likely cause: the model was trained or loaded into NaN before; start from a fresh model or a good checkpoint."), e.Message);
    }

    [Fact]
    public void A_non_finite_validation_loss_stops_the_run_and_names_a_broken_weight_when_there_is_one()
    {
        using (var toy = new Toy())
        using (var trainer = new Trainer(toy, new ToyTask { Validation = (m, _) => new LossSum(tensor(float.NaN), 1) }, Three))
        {
            var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run());
            Assert.Equal(Stopped(Three, 0, "the validation loss after step 0 is NaN", Cause(Three, Three.Schedule.At(0))), e.Message);
        }
        using (var toy = new Toy())
        using (var trainer = new Trainer(toy, new ToyTask { Validation = (m, _) => { Poison(m.Spare); return new LossSum(m.Spare.sum(), 1); } }, Three))
        {
            var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run());
            Assert.Equal(Stopped(Three, 0, "the validation loss after step 0 is NaN: the update made the weights non-finite ('spare')", Cause(Three, Three.Schedule.At(0))), e.Message);
        }
    }

    [Fact]
    public void Weights_broken_by_the_last_step_are_caught_after_the_loop()
    {
        using var toy = new Toy();
        using var trainer = new Trainer(toy, new ToyTask { AfterLoss = (m, step) => { if (step == 2) Poison(m.Spare); } }, Three);
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run());
        Assert.Equal(2, e.Step);
        Assert.Equal(Stopped(Three, 2, "the update of step 2 made the weights non-finite ('spare' holds NaN or ∞)", Cause(Three, Three.Schedule.At(2))), e.Message);
    }

    [Fact]
    public void A_divergence_message_says_what_became_of_the_checkpoints()
    {
        var nanAtStep2 = new ToyTask { Loss = (m, step) => m.Weight.sum() * (step == 2 ? float.NaN : 1) };
        string path = Path.Combine(_folder, "toy.safetensors");
        string Message(TrainerOptions options)
        {
            using var toy = new Toy();
            using var trainer = new Trainer(toy, nanAtStep2, options);
            return Assert.Throws<TrainingDivergedException>(() => trainer.Run()).Message;
        }
        string stopped = Stopped(Three, 2, "the loss is NaN although the weights are finite: the logits overflowed", Cause(Three, Three.Schedule.At(2)));
        Assert.Equal(stopped, Message(Three));
        Assert.Equal(stopped + " No checkpoint was written from this run.", Message(Three with { CheckpointPath = path }));
        Assert.Equal(stopped + $" The last checkpoint, {path} after 2 steps, is kept as it was.", Message(Three with { CheckpointPath = path, CheckpointEvery = 1 }));
    }

    [Fact]
    public void A_checkpoint_of_non_finite_weights_is_refused_and_nothing_is_written()
    {
        string path = Path.Combine(_folder, "never.safetensors");
        using var toy = new Toy();
        using var trainer = new Trainer(toy, new ToyTask(), Three);
        trainer.Run();
        Poison(toy.Weight);
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.SaveCheckpoint(path));
        Assert.Equal(2, e.Step);                                              // the last step done
        Assert.Equal(Stopped(Three, 2, $"'weight' holds NaN or ∞, so no checkpoint was written to {path}", Cause(Three, Three.Schedule.At(2))), e.Message);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Validation_is_the_mean_loss_per_scored_prediction_in_eval_mode_and_the_mode_is_restored()
    {
        using var toy = new Toy();
        var modes = new List<bool>();
        // Batch i sums to i + 1 over 2 predictions: (1 + 2 + 3) / 6 = 1.
        var task = new ToyTask { Validation = (m, i) => { modes.Add(m.training); return new LossSum(tensor(i + 1f), 2); } };
        foreach (bool training in new[] { true, false })
        {
            toy.train(training);
            Assert.Equal(1.0, Trainer.EvaluateTask(toy, task, batchSize: 4, batches: 3), 12);
            Assert.Equal(training, toy.training);
        }
        Assert.All(modes, m => Assert.False(m));

        foreach (var (batchSize, batches) in new[] { (0, 8), (16, 0), (-1, -1) })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => Trainer.EvaluateTask(toy, task, batchSize, batches));
            Assert.Equal($"Expected a positive batch size and batch count, got {batchSize} and {batches}. (Parameter 'batches')", e.Message);
        }
    }

    [Fact]
    public void EvaluateLoss_is_the_mean_of_its_batches()
    {
        using var model = Model();
        double expected = 0;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            model.eval();
            for (int i = 0; i < 3; i++)
            {
                var (x, y) = Validation.Evenly(4, i, 3);
                expected += LanguageModelingTask.Loss(model, x, y).item<float>() / 3;
            }
            model.train();
        }
        Assert.Equal(expected, LanguageModelingTask.EvaluateLoss(model, Validation, batchSize: 4, batches: 3), 5);
    }

    [Fact]
    public void Loss_names_a_target_of_the_wrong_shape_and_a_target_outside_the_vocabulary()
    {
        using var model = Model();
        using var scope = NewDisposeScope();
        var (x, y) = Train.Random(2, seed: 1, step: 0);
        Assert.Equal("target: expected shape the input's (B, T) = (2, 8), got (2, 4). (Parameter 'target')",
                     Assert.Throws<ArgumentException>(() => LanguageModelingTask.Loss(model, x, y[.., ..4])).Message);
        Assert.Equal("Token id 11 in target is outside the vocabulary [0, 10]: was the text encoded with a different tokenizer? (Parameter 'target')",
                     Assert.Throws<ArgumentException>(() => LanguageModelingTask.Loss(model, x, y.clone().fill_(11))).Message);
        var nine = zeros(2, 9, dtype: int64);
        Assert.Equal("The target has 9 tokens but the context window (BlockSize) is 8: crop it to the last 8 tokens. (Parameter 'target')",
                     Assert.Throws<ArgumentException>(() => LanguageModelingTask.Loss(model, nine, nine)).Message);
    }

    [Fact]
    public void Keeping_every_checkpoint_never_deletes_numbered_files_of_an_earlier_run()
    {
        string path = Path.Combine(_folder, "run.safetensors"), earlier = Path.Combine(_folder, "run-step000002.safetensors");
        using (var toy = new Toy())
        using (var first = new Trainer(toy, new ToyTask(), Three with { CheckpointPath = path, CheckpointEvery = 2, KeepCheckpoints = 1 }))
            first.Run(stopAfter: 2);
        Assert.True(File.Exists(earlier));
        using (var toy = new Toy())
        using (var second = new Trainer(toy, new ToyTask(), Three with { CheckpointPath = path, CheckpointEvery = 1 }))   // KeepCheckpoints = 0
            second.Run();
        Assert.True(File.Exists(path));
        Assert.True(File.Exists(earlier), "the earlier run's numbered checkpoint is the user's, and stays");
    }

    [Fact]
    public void A_full_run_s_checkpoint_holds_buffers_too_and_resumes_into_a_freshly_built_model()
    {
        string path = Path.Combine(_folder, "full.safetensors");
        using var trained = new Toy(freezeSpare: false);
        using (no_grad()) trained.Counter.fill_(5);                             // state that is not a parameter
        using (var trainer = new Trainer(trained, new ToyTask(), Three with { CheckpointPath = path, CheckpointEvery = 2 }))
            trainer.Run(stopAfter: 2);
        Assert.Equal("false", SafetensorsFile.ReadMetadata(path)["trained_parameters_only"]);
        Assert.Equal("", SafetensorsFile.ReadMetadata(path)["validation_data"]);
        Assert.Contains("counter", SafetensorsFile.ReadIndex(path).Keys);

        using var fresh = new Toy(freezeSpare: false, start: 7);
        using var resumed = Trainer.Resume(path, fresh, new ToyTask());          // a task without validation, as the run had
        Assert.Equal(2, resumed.CompletedSteps);
        Assert.True(TensorAssert.Same(fresh.Weight, trained.Weight), "the weights come from the checkpoint");
        Assert.Equal(5, fresh.Counter.item<float>());
    }

    /// <summary>Rewrites a checkpoint with its tensors and metadata changed, as a damaged or foreign file would be.</summary>
    static void Rewrite(string path, Action<Dictionary<string, Tensor>> tensors, Action<Dictionary<string, string>>? metadata = null)
    {
        var t = SafetensorsFile.ReadTensors(path);
        var m = new Dictionary<string, string>(SafetensorsFile.ReadMetadata(path));
        tensors(t);
        metadata?.Invoke(m);
        SafetensorsFile.Write(path, t, m);
        foreach (var x in t.Values) x.Dispose();
    }

    string SavedAdapterRun()
    {
        string path = Path.Combine(_folder, $"part-{Guid.NewGuid():N}.safetensors");
        using var toy = new Toy();                                              // spare frozen: only weight is trained and saved
        using var trainer = new Trainer(toy, new ToyTask(), Three with { CheckpointPath = path, CheckpointEvery = 1 });
        trainer.Run(stopAfter: 1);
        return path;
    }

    [Fact]
    public void Resume_refuses_a_foreign_or_damaged_checkpoint_by_message()
    {
        var task = new ToyTask();
        string path = SavedAdapterRun();
        Rewrite(path, _ => { }, m => m["format"] = "llm-notebooks-trainer 0");
        Assert.Equal($"{path} is not a trainer checkpoint (no optimizer state). To load only the weights use Checkpoint.LoadGpt(path).",
                     Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, new Toy(), task)).Message);

        path = SavedAdapterRun();
        Rewrite(path, _ => { }, m => m.Remove("history"));
        Assert.Equal($"{path} is a damaged trainer checkpoint: its metadata has no 'history'.",
                     Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, new Toy(), task)).Message);

        path = SavedAdapterRun();
        Assert.StartsWith($"{path} holds only the trained parameters of a model with frozen parts (an adapter run). Build the same model",
                          Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, Train, null)).Message);
    }

    [Fact]
    public void Resume_with_other_data_names_both_and_none_for_missing_validation()
    {
        string path = Path.Combine(_folder, "run.safetensors");
        using (var model = Model())
        using (var trainer = new Trainer(model, Train, Validation, new TrainerOptions { Steps = 2, BatchSize = 2, WarmupSteps = 1, EvalBatches = 1, CheckpointPath = path }))
            trainer.Run();
        var e = Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, Train, null));
        Assert.Equal($"{path} was trained on different data (training {Train.Fingerprint}, validation {Validation.Fingerprint}) " +
                     $"than given now ({Train.Fingerprint}, none). Resume with the same data, tokens and block size.", e.Message);
        e = Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, Train, Train));
        Assert.Equal($"{path} was trained on different data (training {Train.Fingerprint}, validation {Validation.Fingerprint}) " +
                     $"than given now ({Train.Fingerprint}, {Train.Fingerprint}). Resume with the same data, tokens and block size.", e.Message);
    }

    [Fact]
    public void Resume_refuses_a_model_that_is_not_built_like_the_run_s()
    {
        var task = new ToyTask();
        string full = Path.Combine(_folder, "full.safetensors");
        using (var toy = new Toy(freezeSpare: false))
        using (var trainer = new Trainer(toy, task, Three with { CheckpointPath = full }))
            trainer.Run();
        using (var renamed = new Toy(weightName: "w", freezeSpare: false, spareName: "s"))
            Assert.Equal($"{full} trained parameters this model does not have: weight, spare. Build the model the way the run was started (the same adapters, the same names).",
                         Assert.Throws<InvalidDataException>(() => Trainer.Resume(full, renamed, task)).Message);
        string path = SavedAdapterRun();
        using (var renamed = new Toy(weightName: "w"))
            Assert.Equal($"{path} trained parameters this model does not have: weight. Build the model the way the run was started (the same adapters, the same names).",
                         Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, renamed, task)).Message);
        using (var unfrozen = new Toy(freezeSpare: false))
            Assert.Equal($"{path} trained 1 parameters but this model has 2 that require a gradient. Freeze and unfreeze the same parameters as when the run was started.",
                         Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, unfrozen, task)).Message);

        foreach (var change in new Action<Dictionary<string, Tensor>>[] { t => t.Remove("weight"), t => t["weight"] = zeros(3) })
        {
            path = SavedAdapterRun();
            Rewrite(path, change);
            using var toy = new Toy();
            Assert.Equal($"{path} lacks the parameter 'weight' of shape [2, 2]. Was it written by Trainer.SaveCheckpoint?",
                         Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, toy, task)).Message);
        }
        string key = Checkpoint.OptimizerPrefix + "weight.exp_avg";
        foreach (var change in new Action<Dictionary<string, Tensor>>[] { t => t.Remove(key), t => t[key] = zeros(4) })
        {
            path = SavedAdapterRun();
            Rewrite(path, change);
            using var toy = new Toy();
            Assert.Equal($"{path} lacks optimizer state '{key}' of shape [2, 2]. Was it written by Trainer.SaveCheckpoint?",
                         Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, toy, task)).Message);
        }
    }
}

/// <summary>Tests that read the console, so nothing else may print while they run.</summary>
[CollectionDefinition("Console", DisableParallelization = true)]
public sealed class ConsoleCollection;

[Collection("Console")]
public class TrainerProgressTests
{
    [Fact]
    public void Outside_a_notebook_the_last_progress_line_shows_the_last_loss_and_validation_loss()
    {
        var previous = Console.Out;
        var output = new StringWriter();
        Console.SetOut(output);
        TrainingHistory history;
        try
        {
            manual_seed(42);
            using var model = new Gpt(GptConfig.Tiny);
            var options = new TrainerOptions { Steps = 4, BatchSize = 4, WarmupSteps = 1, EvalEvery = 2, EvalBatches = 1, Title = "progress-test" };
            using var trainer = new Trainer(model, new TokenBatches(PatternedTokens.Make(400, 1), 8), new TokenBatches(PatternedTokens.Make(200, 2), 8), options);
            history = trainer.Run();
        }
        finally { Console.SetOut(previous); }
        string last = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Last(l => l.StartsWith("progress-test ", StringComparison.Ordinal));
        Assert.StartsWith("progress-test 4/4 (100%) loss " + history.Train[^1].Loss.ToString("F4", CultureInfo.InvariantCulture), last);
        Assert.Contains(" · val " + history.LastValidationLoss.ToString("F4", CultureInfo.InvariantCulture) + " · ", last);
    }
}
