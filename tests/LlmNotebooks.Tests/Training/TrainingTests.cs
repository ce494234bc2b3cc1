using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using LlmNotebooks.Serialization;
using static TorchSharp.torch;
using static LlmNotebooks.Tests.Training.TensorAssert;

namespace LlmNotebooks.Tests.Training;

static class TensorAssert
{
    public static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
}

public class TokenBatchesTests
{
    static readonly int[] Counting = Enumerable.Range(0, 100).Select(i => i % 11).ToArray();

    [Fact]
    public void Targets_are_the_inputs_shifted_by_one()
    {
        var data = new TokenBatches(Enumerable.Range(0, 50).ToArray(), blockSize: 8);
        using var scope = NewDisposeScope();
        var (x, y) = data.Random(batchSize: 4, seed: 1, step: 0);
        Assert.Equal(new long[] { 4, 8 }, x.shape);
        Assert.Equal(new long[] { 4, 8 }, y.shape);
        Assert.True(Same((x + 1), y));           // on 0, 1, 2, … the next token is always +1
        var (wx, wy) = data.Window(5);
        Assert.Equal(Enumerable.Range(5, 8).Select(i => (long)i), wx.data<long>().ToArray());
        Assert.Equal(Enumerable.Range(6, 8).Select(i => (long)i), wy.data<long>().ToArray());
    }

    [Fact]
    public void A_step_always_gets_the_same_batch_and_steps_differ()
    {
        var data = new TokenBatches(Enumerable.Range(0, 1000).ToArray(), blockSize: 8);
        using var scope = NewDisposeScope();
        Assert.True(Same(data.Random(16, seed: 3, step: 7).Input, data.Random(16, seed: 3, step: 7).Input));
        Assert.False(Same(data.Random(16, seed: 3, step: 7).Input, data.Random(16, seed: 3, step: 8).Input));
        Assert.False(Same(data.Random(16, seed: 3, step: 7).Input, data.Random(16, seed: 4, step: 7).Input));
        Assert.True(Same(data.Evenly(4, 1, 3).Input, data.Evenly(4, 1, 3).Input));
    }

    [Fact]
    public void Evenly_spread_windows_cover_the_text_from_start_to_end()
    {
        var data = new TokenBatches(Enumerable.Range(0, 1000).ToArray(), blockSize: 8);
        using var scope = NewDisposeScope();
        Assert.Equal(0, data.Evenly(5, 0, 2).Input[0, 0].item<long>());
        Assert.Equal(data.WindowCount - 1, data.Evenly(5, 1, 2).Input[4, 0].item<long>());
    }

    [Fact]
    public void Chunks_iterations_and_errors()
    {
        Assert.Equal(new[] { 4, 4, 2 }, TokenBatches.Chunk(Enumerable.Range(0, 10).ToArray(), 4).Select(c => c.Length));
        Assert.Equal(10, TokenBatches.IterationsPerEpoch(10_000, batchSize: 4, blockSize: 256));
        Assert.Equal(1, TokenBatches.IterationsPerEpoch(10_000, batchSize: 64, blockSize: 256));
        var e = Assert.Throws<ArgumentException>(() => new TokenBatches([1, 2, 3], blockSize: 8));
        Assert.Contains("BlockSize + 1 = 9", e.Message);
        Assert.NotEqual(new TokenBatches(Counting, 8).Fingerprint, new TokenBatches(Counting, 7).Fingerprint);
        Assert.NotEqual(new TokenBatches(Counting, 8).Fingerprint, new TokenBatches(Counting.Reverse().ToArray(), 8).Fingerprint);
    }
}

public class LearningRateScheduleTests
{
    [Fact]
    public void Warmup_rises_linearly_then_cosine_falls_to_the_minimum()
    {
        var s = new LearningRateSchedule(MaxLr: 1e-3, MinLr: 1e-4, WarmupSteps: 10, TotalSteps: 110);
        Assert.Equal(1e-4, s.At(0), 12);
        Assert.Equal(5e-4, s.At(4), 12);
        Assert.Equal(1e-3, s.At(9), 12);
        Assert.Equal(1e-3, s.At(10), 12);
        Assert.Equal(5.5e-4, s.At(60), 12);                              // halfway through the cosine
        Assert.Equal(1e-4, s.At(110), 12);
        Assert.Equal(1e-4, s.At(500), 12);
        for (int t = 10; t < 110; t++) Assert.True(s.At(t + 1) <= s.At(t));
        Assert.Throws<ArgumentException>(() => new LearningRateSchedule(1e-3, 1e-2, 10, 100).Validate());
        Assert.Throws<ArgumentException>(() => new LearningRateSchedule(1e-3, 0, 200, 100).Validate());
    }

    [Fact]
    public void Validate_accepts_the_edges_of_the_allowed_ranges_and_refuses_just_past_them_by_message()
    {
        new LearningRateSchedule(1e-3, 1e-3, 0, 1).Validate();                    // MinLr = MaxLr, no warmup, one step
        new LearningRateSchedule(1e-3, 0, 5, 5).Validate();                       // warmup as long as the run

        string Error(LearningRateSchedule s) => Assert.Throws<ArgumentException>(s.Validate).Message;
        Assert.Equal("Expected finite learning rates with 0 ≤ MinLr ≤ MaxLr and MaxLr > 0, got MinLr 0, MaxLr 0.", Error(new(0, 0, 0, 10)));
        Assert.Contains("got MinLr -1E-05, MaxLr 0.001", Error(new(1e-3, -1e-5, 0, 10)));
        Assert.Equal("Expected 0 ≤ WarmupSteps ≤ TotalSteps and TotalSteps > 0, got -1, 10.", Error(new(1e-3, 0, -1, 10)));
        Assert.Contains("got 0, 0", Error(new(1e-3, 0, 0, 0)));
        Assert.Contains("got 11, 10", Error(new(1e-3, 0, 11, 10)));
    }

    [Fact]
    public void Without_warmup_the_first_step_gets_the_full_rate_and_a_warmup_as_long_as_the_run_ends_at_the_minimum()
    {
        var noWarmup = new LearningRateSchedule(MaxLr: 1e-3, MinLr: 0, WarmupSteps: 0, TotalSteps: 4);
        Assert.Equal(new[] { 1e-3, 0.5 * (1 + Math.Cos(Math.PI / 4)) * 1e-3, 5e-4, 0.5 * (1 + Math.Cos(3 * Math.PI / 4)) * 1e-3, 0 },
            Enumerable.Range(0, 5).Select(t => noWarmup.At(t)), new ToleranceComparer(1e-15));
        var allWarmup = new LearningRateSchedule(MaxLr: 1e-3, MinLr: 1e-4, WarmupSteps: 4, TotalSteps: 4);
        Assert.Equal(new[] { 2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-4 }, Enumerable.Range(0, 5).Select(t => allWarmup.At(t)), new ToleranceComparer(1e-15));
    }

    sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(double x) => 0;
    }
}

public class TrainerTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("llmnb-trainer-").FullName;
    public void Dispose() => Directory.Delete(_folder, recursive: true);

    static int[] Text(int length, int seed) => PatternedTokens.Make(length, seed);

    static readonly TokenBatches Train = new(Text(2000, 1), 8), Validation = new(Text(500, 2), 8);
    static TrainerOptions Options(int steps = 40) => new() { Steps = steps, BatchSize = 8, WarmupSteps = 5, EvalEvery = 10, EvalBatches = 2, MaxLr = 1e-2, MinLr = 1e-3 };

    static Gpt Model()
    {
        manual_seed(42);
        return new Gpt(GptConfig.Tiny);
    }

    [Fact]
    public void Training_lowers_the_validation_loss_and_records_everything()
    {
        using var model = Model();
        using var trainer = new Trainer(model, Train, Validation, Options(60));
        double before = trainer.EvaluateValidation();
        var history = trainer.Run();
        Assert.Equal(60, history.Train.Count);
        Assert.Equal(new[] { 10, 20, 30, 40, 50, 60 }, history.Validation.Select(v => v.Step));
        Assert.True(history.LastValidationLoss < before * 0.6, $"validation loss {before:F3} → {history.LastValidationLoss:F3}");
        Assert.Equal(60L * 8 * 8, history.Tokens);
        Assert.True(history.TokensPerSecond > 0);
        Assert.All(history.Train, s => Assert.True(double.IsFinite(s.GradNorm) && s.GradNorm > 0));
        Assert.Equal(Options(60).Schedule.At(59), history.Train[^1].LearningRate, 12);
        Assert.True(trainer.Finished);
    }

    sealed class RecordingProgress(int steps) : LoopProgress("parts", steps)
    {
        public List<int> Shown { get; } = [];
        protected override void Show() => Shown.Add(Step);
    }

    [Fact]
    public void A_run_trained_in_parts_reports_into_one_progress_the_caller_owns()
    {
        using var model = Model();
        using var trainer = new Trainer(model, Train, null, Options(10));
        using var bar = new RecordingProgress(10);
        trainer.Run(stopAfter: 4, progress: bar);
        Assert.Equal(1, bar.Shown[0]);                         // the first report shows; the rest come every few seconds
        bar.Report(4, note: "measured between the parts");     // the caller reports into the same bar between parts
        trainer.Run(progress: bar);
        Assert.Equal(10, bar.Shown[^1]);                       // the last step shows: one bar went from step 1 to 10
        Assert.Equal(bar.Shown.Order(), bar.Shown);
        Assert.Equal(10, trainer.History.Train.Count);
        Assert.Contains("10/10", bar.Line());                   // not disposed (a disposed unfinished bar says "stopped at")
    }

    [Fact]
    public void Matrices_are_decayed_and_biases_and_layernorms_are_not()
    {
        using var model = Model();
        using var trainer = new Trainer(model, Train, null, Options());
        Assert.Contains("wte.weight", trainer.DecayedParameters);
        Assert.Contains("h.0.attn.c_attn.weight", trainer.DecayedParameters);
        Assert.Contains("h.0.attn.c_attn.bias", trainer.UndecayedParameters);
        Assert.Contains("ln_f.weight", trainer.UndecayedParameters);
        Assert.Equal(model.parameters().Count(), trainer.DecayedParameters.Count + trainer.UndecayedParameters.Count);
    }

    [Fact]
    public void Gradient_clipping_caps_the_update_norm()
    {
        using var model = Model();
        using var trainer = new Trainer(model, Train, null, Options(3) with { GradClip = 1e-3, WarmupSteps = 1 });
        trainer.Run();
        var grads = model.parameters().Select(p => p.grad!.norm().item<float>()).ToArray();
        double total = Math.Sqrt(grads.Sum(g => (double)g * g));
        Assert.True(total <= 1e-3 * 1.001, $"clipped gradient norm {total}");
        Assert.True(trainer.History.Train[^1].GradNorm > 1e-3);              // the norm before clipping is recorded
    }

    [Fact]
    public void An_interrupted_and_resumed_run_gives_exactly_the_same_losses_and_weights()
    {
        string straightPath = Path.Combine(_folder, "straight.safetensors"), resumedPath = Path.Combine(_folder, "resumed.safetensors");
        using var straightModel = Model();
        using var straight = new Trainer(straightModel, Train, Validation, Options() with { CheckpointPath = straightPath });
        straight.Run();

        using (var first = Model())
        using (var interrupted = new Trainer(first, Train, Validation, Options() with { CheckpointPath = resumedPath, CheckpointEvery = 15 }))
            interrupted.Run(stopAfter: 17);                                   // the last checkpoint is at step 15

        using var resumed = Trainer.Resume(resumedPath, Train, Validation);
        using var resumedModel = resumed.Model;
        Assert.Equal(15, resumed.CompletedSteps);
        Assert.Equal(15, resumed.History.Train.Count);
        resumed.Run();

        Assert.Equal(straight.History.Train.Select(s => s.Loss), resumed.History.Train.Select(s => s.Loss));
        Assert.Equal(straight.History.Validation, resumed.History.Validation);
        foreach (var ((name, a), (_, b)) in straightModel.named_parameters().Zip(resumedModel.named_parameters()))
            Assert.True(Same(a, b), $"{name} differs after resuming");
    }

    [Fact]
    public void A_trainer_checkpoint_loads_as_a_model_with_its_config()
    {
        string path = Path.Combine(_folder, "run.safetensors");
        using var model = Model();
        using (var trainer = new Trainer(model, Train, null, Options(5) with { CheckpointPath = path })) trainer.Run();
        Assert.Equal(GptConfig.Tiny, Checkpoint.ReadGptConfig(path));
        using var loaded = Checkpoint.LoadGpt(path);
        foreach (var ((_, a), (_, b)) in model.named_parameters().Zip(loaded.named_parameters())) Assert.True(Same(a, b));
    }

    [Fact]
    public void Resuming_with_other_data_or_from_a_plain_model_file_is_refused_clearly()
    {
        string path = Path.Combine(_folder, "run.safetensors"), plain = Path.Combine(_folder, "plain.safetensors");
        using var model = Model();
        using (var trainer = new Trainer(model, Train, Validation, Options(5) with { CheckpointPath = path })) trainer.Run();
        var e = Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, new TokenBatches(Text(2000, 9), 8), Validation));
        Assert.Contains("different data", e.Message);
        Checkpoint.Save(model, plain);
        e = Assert.Throws<InvalidDataException>(() => Trainer.Resume(plain, Train, Validation));
        Assert.Contains("Checkpoint.LoadGpt", e.Message);
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..100]);
        Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, Train, Validation));
        Assert.Throws<FileNotFoundException>(() => Trainer.Resume(Path.Combine(_folder, "nothing.safetensors"), Train, Validation));
    }

    [Fact]
    public void Windows_longer_than_the_context_are_refused()
    {
        using var model = Model();
        var e = Assert.Throws<ArgumentException>(() => new Trainer(model, new TokenBatches(Text(100, 1), 16), null, Options()));
        Assert.Contains("BlockSize", e.Message);
    }

    [Fact]
    public void Training_steps_leave_no_tensors_behind()
    {
        using var model = Model();
        using var trainer = new Trainer(model, Train, Validation, Options(100));
        trainer.Run(stopAfter: 5);
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        trainer.Run(stopAfter: 95);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
