using LlmNotebooks.Serialization;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Training;

/// <summary>The Trainer on any module and any task: gradient accumulation, frozen parameters, adapter-sized checkpoints.</summary>
public class TrainingTaskTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("llmnb-task-").FullName;
    public void Dispose() => Directory.Delete(_folder, recursive: true);

    static int[] Text(int length, int seed) => PatternedTokens.Make(length, seed);

    static readonly TokenBatches Train = new(Text(2000, 1), 8), Validation = new(Text(500, 2), 8);

    /// <summary>
    /// Next-token prediction where only some targets count (those not divisible by 3, as an instruction's answer tokens
    /// would): micro-batches score different numbers of tokens, and a micro-batch can score none.
    /// </summary>
    sealed class MaskedTask(TokenBatches train, TokenBatches? validation) : ITrainingTask
    {
        public string TrainFingerprint => "masked " + train.Fingerprint;
        public string? ValidationFingerprint => validation is null ? null : "masked " + validation.Fingerprint;
        public long TrainExamples => train.WindowCount;
        public void Check(nn.Module model) { }

        public LossSum TrainLoss(nn.Module model, int step, int part, int parts, int batchSize, long seed)
        {
            var (x, y) = train.Random(batchSize * parts, seed, step);
            return Score(model, x.narrow(0, (long)part * batchSize, batchSize), y.narrow(0, (long)part * batchSize, batchSize));
        }

        public LossSum ValidationLoss(nn.Module model, int index, int batches, int batchSize)
        {
            var (x, y) = validation!.Evenly(batchSize, index, batches);
            return Score(model, x, y);
        }

        static LossSum Score(nn.Module model, Tensor x, Tensor y)
        {
            var labels = y.masked_fill(y.remainder(3).eq(0), -100);
            var logits = ((Gpt)model).forward(x);
            var sum = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), labels.reshape(-1), ignore_index: -100, reduction: nn.Reduction.Sum);
            return new LossSum(sum, labels.ne(-100).sum().item<long>());
        }
    }

    static TrainerOptions Options(int steps = 6) => new() { Steps = steps, BatchSize = 8, WarmupSteps = 2, EvalEvery = 3, EvalBatches = 2, MaxLr = 1e-2, MinLr = 1e-3 };

    static Gpt Model()
    {
        manual_seed(42);
        return new Gpt(GptConfig.Tiny);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Gradient_accumulation_equals_one_large_batch(int parts)
    {
        var task = new MaskedTask(Train, Validation);
        // One step: the accumulated gradient is the large batch's gradient (what the update is computed from).
        using (var large = Model())
        using (var accumulated = Model())
        using (var one = new Trainer(large, task, Options(1) with { WarmupSteps = 0, GradClip = 0 }))
        using (var many = new Trainer(accumulated, task, Options(1) with { WarmupSteps = 0, GradClip = 0, BatchSize = 8 / parts, GradientAccumulation = parts }))
        {
            Assert.Equal(8, many.Options.EffectiveBatchSize);
            one.Run();
            many.Run();
            Assert.Equal(one.History.Train[0].Loss, many.History.Train[0].Loss, 1e-6);
            double worst = large.parameters().Zip(accumulated.parameters()).Max(p => (p.First.grad! - p.Second.grad!).abs().max().item<float>());
            Assert.True(worst < 1e-6, $"gradients differ by up to {worst:E2}");
            Assert.Equal(one.History.Tokens, many.History.Tokens);                  // the scored tokens, not B·T
            Assert.True(one.History.Tokens < 8L * 8);
        }
        // Six steps: the same losses, step by step (Adam turns float rounding in near-zero gradients into ~1e-5 of weight, and 1e-6 of loss).
        using (var large = Model())
        using (var accumulated = Model())
        using (var one = new Trainer(large, task, Options()))
        using (var many = new Trainer(accumulated, task, Options() with { BatchSize = 8 / parts, GradientAccumulation = parts }))
        {
            one.Run();
            many.Run();
            foreach (var (a, b) in one.History.Train.Zip(many.History.Train)) Assert.Equal(a.Loss, b.Loss, 1e-5);
        }
    }

    [Fact]
    public void A_batch_whose_labels_are_all_masked_gives_loss_0_not_NaN()
    {
        var allMasked = new TokenBatches(Enumerable.Range(0, 200).Select(i => (i % 4) * 3).ToArray(), 8);  // every target divisible by 3
        foreach (var clip in new[] { 1.0, 0.0 })                              // with clipping off, the norm of no gradients is 0 as well
        {
            using var model = Model();
            using var trainer = new Trainer(model, new MaskedTask(allMasked, allMasked), Options(2) with { GradientAccumulation = 2, BatchSize = 4, GradClip = clip });
            trainer.Run();
            Assert.All(trainer.History.Train, s => Assert.Equal(0, s.Loss));
            Assert.All(trainer.History.Train, s => Assert.Equal(0, s.GradNorm));
            Assert.All(trainer.History.Validation, v => Assert.Equal(0, v.Loss));
            Assert.Equal(0, trainer.History.Tokens);
        }
    }

    static void FreezeAllButTheLastBlock(Gpt model)
    {
        foreach (var (name, p) in model.named_parameters())
            p.requires_grad = name.StartsWith("h.1.", StringComparison.Ordinal) || name.StartsWith("ln_f.", StringComparison.Ordinal);
    }

    [Fact]
    public void Frozen_parameters_are_not_trained_and_not_checkpointed_and_the_run_resumes_exactly()
    {
        string straightPath = Path.Combine(_folder, "straight.safetensors"), path = Path.Combine(_folder, "part.safetensors");
        var task = new LanguageModelingTask(Train, Validation);
        using var straightModel = Model();
        FreezeAllButTheLastBlock(straightModel);
        var frozenBefore = straightModel.named_parameters().Where(p => !p.parameter.requires_grad).ToDictionary(p => p.name, p => p.parameter.clone());
        using var straight = new Trainer(straightModel, task, Options() with { CheckpointPath = straightPath });
        Assert.True(straight.HasFrozenParameters);
        Assert.DoesNotContain("wte.weight", straight.TrainedParameters);
        straight.Run();
        foreach (var (name, p) in straightModel.named_parameters().Where(p => !p.parameter.requires_grad))
            Assert.True(p.eq(frozenBefore[name]).all().item<bool>(), $"{name} is frozen but changed");

        var stored = SafetensorsFile.ReadTensors(straightPath);
        var weights = stored.Keys.Where(k => !k.StartsWith(Checkpoint.OptimizerPrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(straight.TrainedParameters.Order(StringComparer.Ordinal), weights);
        foreach (var t in stored.Values) t.Dispose();

        using (var first = Model())
        {
            FreezeAllButTheLastBlock(first);
            using var interrupted = new Trainer(first, task, Options() with { CheckpointPath = path, CheckpointEvery = 3 });
            interrupted.Run(stopAfter: 4);                                      // the last checkpoint is at step 3
        }
        using var rebuilt = Model();                                            // the same base, the same parts frozen
        FreezeAllButTheLastBlock(rebuilt);
        using var resumed = Trainer.Resume(path, rebuilt, task);
        Assert.Equal(3, resumed.CompletedSteps);
        resumed.Run();
        Assert.Equal(straight.History.Train.Select(s => s.Loss), resumed.History.Train.Select(s => s.Loss));
        Assert.Equal(straight.History.Validation, resumed.History.Validation);
        foreach (var ((name, a), (_, b)) in straightModel.named_parameters().Zip(rebuilt.named_parameters()))
            Assert.True(a.eq(b).all().item<bool>(), $"{name} differs after resuming");

        var e = Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, Train, Validation));
        Assert.Contains("Trainer.Resume(path, model, task)", e.Message);
        using var unfrozen = Model();
        e = Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, unfrozen, task));
        Assert.Contains("Freeze and unfreeze the same parameters", e.Message);
    }

    [Fact]
    public void Keep_checkpoints_leaves_only_the_newest_files_of_the_run()
    {
        string path = Path.Combine(_folder, "run.safetensors"), other = Path.Combine(_folder, "run-step000002.txt");
        File.WriteAllText(other, "a file of the user's that only looks similar");
        using var model = Model();
        using var trainer = new Trainer(model, Train, Validation, Options(10) with { CheckpointPath = path, CheckpointEvery = 2, KeepCheckpoints = 2 });
        trainer.Run();
        Assert.Equal(["run-step000008.safetensors", "run-step000010.safetensors"], trainer.Options.RunCheckpoints(path).Select(Path.GetFileName));
        Assert.False(File.Exists(path));
        Assert.True(File.Exists(other));
        using var resumed = Trainer.Resume(trainer.Options.CheckpointFile(8), Train, Validation);
        using var resumedModel = resumed.Model;
        Assert.Equal(8, resumed.CompletedSteps);
    }

    [Fact]
    public void Epochs_become_steps_and_bad_options_are_refused()
    {
        var options = new TrainerOptions { BatchSize = 2, GradientAccumulation = 8 };
        Assert.Equal(375, options.StepsForEpochs(3, 2000));
        Assert.Equal(1, options.StepsForEpochs(0.001, 10));
        Assert.Contains("GradientAccumulation", Assert.Throws<ArgumentException>(() => (options with { GradientAccumulation = 0 }).Validate()).Message);
        Assert.Contains("KeepCheckpoints", Assert.Throws<ArgumentException>(() => (options with { KeepCheckpoints = -1 }).Validate()).Message);
        Assert.Throws<ArgumentException>(() => options.StepsForEpochs(double.NaN, 10));

        using var model = Model();
        foreach (var p in model.parameters()) p.requires_grad = false;
        var e = Assert.Throws<ArgumentException>(() => new Trainer(model, new LanguageModelingTask(Train), Options()));
        Assert.Contains("nothing to train", e.Message);
    }
}
