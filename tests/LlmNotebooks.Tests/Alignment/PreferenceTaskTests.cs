using LlmNotebooks.Alignment;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Alignment;

/// <summary>
/// The reward model trains through the <see cref="Trainer"/> as a <see cref="PreferenceTask"/>: Fit is that run, the
/// options' schedule and clipping apply, a resumed run equals an uninterrupted one, the loss is the Bradley–Terry loss
/// of the step's pairs, and the pairs come in a seeded order that reads each one once per epoch.
/// </summary>
public class PreferenceTaskTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("llmnb-preference-").FullName;
    public void Dispose() => Directory.Delete(_folder, recursive: true);

    static readonly GptConfig Small = new(VocabSize: 8, BlockSize: 8, Layers: 1, Heads: 2, Channels: 16);
    const int Pad = 0;

    static RewardModel Fresh(int seed = 1)
    {
        manual_seed(seed);
        return new RewardModel(new Gpt(Small));
    }

    /// <summary>Pairs where the "human" prefers an answer ending in 3 to the same answer ending in 4.</summary>
    static List<PairTokens> Pairs(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var body = Enumerable.Range(0, random.Next(1, 4)).Select(_ => random.Next(5, 8)).ToList();
            return new PairTokens([1, 2], [.. body, 3], [.. body, 4]);
        }).ToList();
    }

    static void SameWeights(nn.Module a, nn.Module b)
    {
        foreach (var ((name, x), (_, y)) in a.named_parameters().Zip(b.named_parameters()))
            Assert.True(x.eq(y).all().item<bool>(), $"{name} differs");
    }

    /// <summary>−log σ(c − r) of every pair, in doubles, from the model's own scores (eval mode; the model has no dropout).</summary>
    static double[] BradleyTerryByHand(RewardModel rm, IReadOnlyList<PairTokens> pairs)
    {
        var (c, r) = rm.Score(pairs, Pad);
        return c.Zip(r, (x, y) => Math.Log(1 + Math.Exp(-(x - y)))).ToArray();
    }

    [Fact]
    public void Fit_is_a_trainer_run_of_a_preference_task_at_a_constant_rate_with_clipping_at_1_and_no_weight_decay()
    {
        var train = Pairs(20, 1);
        using var fitted = Fresh();
        var fit = fitted.Fit(train, Pad, steps: 6, batchSize: 8, learningRate: 3e-3, seed: 5);

        var options = PreferenceTask.Options(steps: 6, batchSize: 8, learningRate: 3e-3);
        Assert.Equal((3e-3, 3e-3, 0, 0.0, 1.0, 0.9, 0.999), (options.MaxLr, options.MinLr, options.WarmupSteps, options.WeightDecay, options.GradClip, options.Beta1, options.Beta2));
        using var rm = Fresh();
        var task = new PreferenceTask(train, null, Pad);
        using var trainer = new Trainer(rm, task, options with { Seed = 5 });
        trainer.Run();

        Assert.Equal(task.History, fit);
        SameWeights(fitted, rm);
        Assert.Equal(Enumerable.Range(0, 6), fit.Select(s => s.Step));
        Assert.Equal(trainer.History.Train.Select(s => s.Loss), task.History.Select(s => s.Loss));   // the Trainer's log and the task's are one
        Assert.All(trainer.History.Train, s => Assert.Equal(3e-3, s.LearningRate));                  // the same rate at every step
    }

    [Fact]
    public void The_trainer_options_schedule_and_grad_clip_apply_to_the_reward_model()
    {
        var train = Pairs(20, 2);
        using var start = Fresh();
        using var scheduled = Fresh();
        var options = PreferenceTask.Options(steps: 6, batchSize: 8, learningRate: 1e-2) with { MinLr = 1e-3, WarmupSteps = 2 };
        using (var trainer = new Trainer(scheduled, new PreferenceTask(train, null, Pad), options))
        {
            trainer.Run();
            Assert.Equal(Enumerable.Range(0, 6).Select(s => options.Schedule.At(s)), trainer.History.Train.Select(s => s.LearningRate));
            Assert.True(trainer.History.Train.All(s => s.GradNorm > 1e-6), "the recorded norms are the gradients' before clipping");
        }
        // gradients clipped to a norm of 1e-12 are far below AdamW's ε of 1e-8: nothing moves
        using var clipped = Fresh();
        using (var trainer = new Trainer(clipped, new PreferenceTask(train, null, Pad), options with { GradClip = 1e-12 })) trainer.Run();
        Assert.True(MaxChange(clipped, start) < 1e-5, $"with GradClip 1e-12 the largest change is {MaxChange(clipped, start)}");
        Assert.True(MaxChange(scheduled, start) > 1e-3, $"with GradClip 1 the largest change is {MaxChange(scheduled, start)}");
    }

    static double MaxChange(nn.Module a, nn.Module b) =>
        a.parameters().Zip(b.parameters()).Max(p => (p.First - p.Second).abs().max().item<float>());

    [Fact]
    public void A_run_resumed_from_a_checkpoint_equals_the_uninterrupted_run()
    {
        // 20 pairs, 8 per step: steps 2 and 4 straddle an epoch boundary, and the run is cut between them
        var task = new PreferenceTask(Pairs(20, 3), Pairs(6, 4), Pad);
        var options = PreferenceTask.Options(steps: 6, batchSize: 8, learningRate: 3e-3) with { EvalEvery = 2, EvalBatches = 2 };
        using var straight = Fresh();
        using var whole = new Trainer(straight, task, options);
        whole.Run();

        string path = Path.Combine(_folder, "rm.safetensors");
        using (var first = Fresh())
        using (var interrupted = new Trainer(first, task, options with { CheckpointPath = path, CheckpointEvery = 3 }))
            interrupted.Run(stopAfter: 4);                                    // the last checkpoint is after step 3
        using var rebuilt = Fresh(seed: 99);                                  // other weights: the checkpoint brings them back
        using var resumed = Trainer.Resume(path, rebuilt, task);
        Assert.Equal(3, resumed.CompletedSteps);
        resumed.Run();
        Assert.Equal(whole.History.Train, resumed.History.Train);
        Assert.Equal(whole.History.Validation, resumed.History.Validation);
        SameWeights(straight, rebuilt);

        var other = new PreferenceTask(Pairs(20, 5), Pairs(6, 4), Pad);
        using var another = Fresh();
        Assert.Contains("was trained on different data", Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, another, other)).Message);
    }

    [Fact]
    public void Gradient_accumulation_equals_one_large_batch()
    {
        var train = Pairs(12, 6);
        var options = PreferenceTask.Options(steps: 1, batchSize: 8, learningRate: 3e-3);
        // One step: the accumulated gradient is the large batch's gradient (what the update is computed from).
        using (var large = Fresh())
        using (var accumulated = Fresh())
        using (var one = new Trainer(large, new PreferenceTask(train, null, Pad), options with { GradClip = 0 }))
        using (var two = new Trainer(accumulated, new PreferenceTask(train, null, Pad), options with { GradClip = 0, BatchSize = 4, GradientAccumulation = 2 }))
        {
            one.Run();
            two.Run();
            Assert.Equal(one.History.Train[0].Loss, two.History.Train[0].Loss, 1e-6);
            double worst = large.parameters().Zip(accumulated.parameters()).Max(p => (p.First.grad! - p.Second.grad!).abs().max().item<float>());
            Assert.True(worst < 1e-6, $"gradients differ by up to {worst:E2}");
        }
        // Four steps over an epoch boundary: the same losses, step by step. (The head's bias has a gradient of exactly 0
        // in exact arithmetic, since adding a constant to every reward changes no difference; Adam turns its rounding
        // noise into steps of the learning rate, so weights are not compared.)
        using (var large = Fresh())
        using (var accumulated = Fresh())
        using (var one = new Trainer(large, new PreferenceTask(train, null, Pad), options with { Steps = 4 }))
        using (var two = new Trainer(accumulated, new PreferenceTask(train, null, Pad), options with { Steps = 4, BatchSize = 4, GradientAccumulation = 2 }))
        {
            one.Run();
            two.Run();
            foreach (var (a, b) in one.History.Train.Zip(two.History.Train)) Assert.Equal(a.Loss, b.Loss, 1e-5);
        }
    }

    [Fact]
    public void A_step_s_loss_and_accuracy_are_the_bradley_terry_loss_and_pair_accuracy_of_its_pairs_by_hand()
    {
        // one step over all 10 pairs (one epoch): its pairs are all of them, whatever the order
        var train = Pairs(10, 7);
        using var rm = Fresh(3);
        var byHand = BradleyTerryByHand(rm, train);
        var (c, r) = rm.Score(train, Pad);
        var task = new PreferenceTask(train, null, Pad);
        using var trainer = new Trainer(rm, task, PreferenceTask.Options(steps: 1, batchSize: 10));
        trainer.Run();
        Assert.Equal(byHand.Average(), task.History[0].Loss, 5);
        Assert.Equal(c.Zip(r).Count(p => p.First > p.Second) / 10.0, task.History[0].Accuracy, 12);
        Assert.Equal(byHand.Average(), trainer.History.Train[0].Loss, 5);
    }

    [Fact]
    public void The_library_s_bradley_terry_loss_is_the_formula_written_by_hand()
    {
        var random = new Random(8);
        var chosen = Enumerable.Range(0, 16).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray();
        var rejected = Enumerable.Range(0, 16).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray();
        double byHand = chosen.Zip(rejected, (x, y) => -Math.Log(1 / (1 + Math.Exp(-(x - y))))).Average();
        Assert.Equal(byHand, RewardModel.BradleyTerryLoss(tensor(chosen), tensor(rejected)).item<float>(), 5);
    }

    [Fact]
    public void Pairs_come_in_a_seeded_shuffle_that_reads_each_one_once_per_epoch()
    {
        // Which pair a step reads, found by its loss: each pair's Bradley–Terry loss under one fixed model is its own.
        var train = Pairs(6, 9).Select((p, i) => p with { Chosen = [.. p.Chosen.SkipLast(1), 5 + i % 3, 3] }).ToList();
        using var rm = Fresh(4);
        rm.eval();
        var losses = BradleyTerryByHand(rm, train);
        Assert.Equal(6, losses.Select(l => Math.Round(l, 4)).Distinct().Count());
        var task = new PreferenceTask(train, null, Pad);
        int PairOf(int step, int part = 0, int parts = 1, long seed = 1)
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            double loss = task.TrainLoss(rm, step, part, parts, 1, seed).Sum.item<float>();
            return Enumerable.Range(0, 6).Single(i => Math.Abs(losses[i] - loss) < 1e-4);
        }
        var run = Enumerable.Range(0, 18).Select(s => PairOf(s)).ToList();
        for (int epoch = 0; epoch < 3; epoch++)
            Assert.Equal(Enumerable.Range(0, 6), run.Skip(6 * epoch).Take(6).Order());      // every pair once per epoch
        Assert.NotEqual(run.Take(6), run.Skip(6).Take(6));                                  // a new shuffle each epoch
        Assert.Equal(run, Enumerable.Range(0, 18).Select(s => PairOf(s)));                  // the same seed, the same order
        Assert.NotEqual(run, Enumerable.Range(0, 18).Select(s => PairOf(s, seed: 2)));      // another seed, another order
        // micro-batch 1 of 2 of step 4 is example 9 of the run, the same pair as step 9 of a run of one-pair steps
        Assert.Equal(run[9], PairOf(4, part: 1, parts: 2));
    }

    [Fact]
    public void The_task_refuses_what_it_cannot_train_saying_what_to_change()
    {
        var pairs = Pairs(4, 10);
        Assert.Contains("A reward model needs at least one preference pair", Assert.Throws<ArgumentException>(() => new PreferenceTask([], null, Pad)).Message);
        Assert.Contains("pass null for no validation", Assert.Throws<ArgumentException>(() => new PreferenceTask(pairs, [], Pad)).Message);
        Assert.Contains("Training pair 1 is missing or has an empty prompt",
                        Assert.Throws<ArgumentException>(() => new PreferenceTask([pairs[0], pairs[1] with { Prompt = [] }], null, Pad)).Message);
        using var rm = Fresh();
        var tooLong = new PreferenceTask([pairs[0], new PairTokens([1], [2], [2, 3, 4, 5, 6, 7, 1, 2])], null, Pad);
        var e = Assert.Throws<ArgumentException>(() => new Trainer(rm, tooLong, PreferenceTask.Options(1)));
        Assert.StartsWith("The rejected response of training pair 1 is 1 prompt + 8 response = 9 tokens, longer than the reward model's context window of 8 tokens.", e.Message);
        var outside = new PreferenceTask([new PairTokens([1], [9], [2])], null, Pad);
        Assert.Contains("holds token id 9 at position 0 of the response (position 1 of prompt + response), outside the reward model's vocabulary [0, 8) (valid ids are 0 to 7)", Assert.Throws<ArgumentException>(() => new Trainer(rm, outside, PreferenceTask.Options(1))).Message);
        manual_seed(1);
        using var gpt = new Gpt(Small);
        Assert.Contains("A PreferenceTask trains a RewardModel; got a Gpt", Assert.Throws<ArgumentException>(() => new Trainer(gpt, new PreferenceTask(pairs, null, Pad), PreferenceTask.Options(1))).Message);
    }

    [Fact]
    public void Fit_puts_back_the_mode_it_found_and_a_nan_weight_stops_it_naming_the_weight()
    {
        var train = Pairs(8, 11);
        using var rm = Fresh();
        rm.eval();
        rm.Fit(train, Pad, steps: 2, batchSize: 4);
        Assert.False(rm.training);
        rm.train();
        rm.Fit(train, Pad, steps: 2, batchSize: 4);
        Assert.True(rm.training);

        using (no_grad()) rm.parameters().Last().fill_(float.NaN);             // the head's bias
        var e = Assert.Throws<TrainingDivergedException>(() => rm.Fit(train, Pad, steps: 2, batchSize: 4));
        Assert.Equal(0, e.Step);
        Assert.Contains("the model handed to the Trainer already holds non-finite weights ('head.bias')", e.Message);
    }
}
