using LlmNotebooks.Alignment;
using LlmNotebooks.Tensors;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Alignment;

/// <summary>
/// DPO trains through the <see cref="Trainer"/> as a <see cref="DpoTask"/> holding the frozen reference: its loss is
/// <see cref="Dpo.Loss"/> of the step's pairs, the options' schedule and clipping apply, a resumed run equals an
/// uninterrupted one, a divergence is named and leaves the weights alone, and the policy's mode comes back.
/// </summary>
public class DpoTaskTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("llmnb-dpo-").FullName;
    public void Dispose() => Directory.Delete(_folder, recursive: true);

    static readonly GptConfig Small = new(VocabSize: 8, BlockSize: 8, Layers: 1, Heads: 2, Channels: 16);
    const int Pad = 0;

    static Gpt Fresh(int seed)
    {
        manual_seed(seed);
        return new Gpt(Small);
    }

    static List<PairTokens> Pairs(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var body = Enumerable.Range(0, random.Next(1, 4)).Select(_ => random.Next(5, 8)).ToList();
            return new PairTokens([1, 2], [.. body, 3], [.. body, 4]);
        }).ToList();
    }

    static double MaxChange(nn.Module a, nn.Module b) =>
        a.parameters().Zip(b.parameters()).Max(p => (p.First - p.Second).abs().max().item<float>());

    /// <summary>log π(response | prompt) of one sequence, in doubles, token by token from the model's logits.</summary>
    static double LogProb(Gpt model, IReadOnlyList<int> prompt, IReadOnlyList<int> response)
    {
        using var scope = NewDisposeScope();
        using var eval = model.EvalScope();
        var ids = prompt.Concat(response).Select(t => (long)t).ToArray();
        var logp = nn.functional.log_softmax(model.forward(tensor(ids, [1, ids.Length])), -1).to(float64);
        return Enumerable.Range(0, response.Count).Sum(i => logp[0, prompt.Count - 1 + i, response[i]].item<double>());
    }

    [Fact]
    public void A_step_s_loss_is_the_dpo_loss_of_its_pairs_written_by_hand()
    {
        // the policy differs from the reference, so the margins are not 0; one step over all 6 pairs (one epoch)
        var pairs = Pairs(6, 1);
        using var policy = Fresh(1);
        using var reference = Fresh(2);
        foreach (var p in reference.parameters()) p.requires_grad = false;
        const double beta = 0.5;
        var margins = pairs.Select(p => beta * ((LogProb(policy, p.Prompt, p.Chosen) - LogProb(reference, p.Prompt, p.Chosen)) -
                                                (LogProb(policy, p.Prompt, p.Rejected) - LogProb(reference, p.Prompt, p.Rejected)))).ToArray();
        double loss = margins.Average(m => Math.Log(1 + Math.Exp(-m)));          // −log σ(m)
        Assert.True(margins.Max() - margins.Min() > 1e-3, "the pairs' margins differ");

        var task = new DpoTask(reference, pairs, null, Pad, beta);
        using var trainer = new Trainer(policy, task, DpoTask.Options(steps: 1, batchSize: 6));
        trainer.Run();
        var step = task.History[0];
        Assert.Equal(loss, step.Loss, 5);
        Assert.Equal(loss, trainer.History.Train[0].Loss, 5);
        Assert.Equal(margins.Average(), step.Margin, 5);
        Assert.Equal(margins.Count(m => m > 0) / 6.0, step.Accuracy, 12);
        Assert.Equal(step.Margin, step.ChosenReward - step.RejectedReward, 5);
    }

    [Fact]
    public void The_options_are_a_constant_rate_with_clipping_at_1_and_the_schedule_and_grad_clip_are_honoured()
    {
        var options = DpoTask.Options(steps: 4, batchSize: 4);
        Assert.Equal((1e-4, 1e-4, 0, 0.0, 1.0, 0.999, "DPO"), (options.MaxLr, options.MinLr, options.WarmupSteps, options.WeightDecay, options.GradClip, options.Beta2, options.Title));

        var pairs = Pairs(8, 2);
        using var start = Fresh(3);
        using var reference = start.Copy(frozen: true);
        using var scheduled = start.Copy();
        var cosine = options with { MaxLr = 1e-2, MinLr = 1e-3, WarmupSteps = 1 };
        using (var trainer = new Trainer(scheduled, new DpoTask(reference, pairs, null, Pad), cosine))
        {
            trainer.Run();
            Assert.Equal(Enumerable.Range(0, 4).Select(s => cosine.Schedule.At(s)), trainer.History.Train.Select(s => s.LearningRate));
        }
        using var clipped = start.Copy();
        using (var trainer = new Trainer(clipped, new DpoTask(reference, pairs, null, Pad), cosine with { GradClip = 1e-12 })) trainer.Run();
        Assert.True(MaxChange(clipped, start) < 1e-5, $"with GradClip 1e-12 the largest change is {MaxChange(clipped, start)}");
        Assert.True(MaxChange(scheduled, start) > 1e-3, $"with GradClip 1 the largest change is {MaxChange(scheduled, start)}");
    }

    [Fact]
    public void A_run_resumed_from_a_checkpoint_equals_the_uninterrupted_run_and_another_beta_is_refused()
    {
        var pairs = Pairs(10, 3);
        using var reference = Fresh(4);
        foreach (var p in reference.parameters()) p.requires_grad = false;
        var task = new DpoTask(reference, pairs, Pairs(4, 5), Pad, beta: 0.3);
        var options = DpoTask.Options(steps: 6, batchSize: 4, learningRate: 3e-3) with { EvalEvery = 2, EvalBatches = 2 };
        using var straight = Fresh(5);
        using var whole = new Trainer(straight, task, options);
        whole.Run();

        string path = Path.Combine(_folder, "dpo.safetensors");
        using (var first = Fresh(5))
        using (var interrupted = new Trainer(first, task, options with { CheckpointPath = path, CheckpointEvery = 2 }))
            interrupted.Run(stopAfter: 3);                                    // the last checkpoint is after step 2
        using var rebuilt = Fresh(6);
        using var resumed = Trainer.Resume(path, rebuilt, task);
        Assert.Equal(2, resumed.CompletedSteps);
        resumed.Run();
        Assert.Equal(whole.History.Train, resumed.History.Train);
        Assert.Equal(whole.History.Validation, resumed.History.Validation);
        Assert.Equal(0, MaxChange(straight, rebuilt));

        using var again = Fresh(5);
        var e = Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, again, new DpoTask(reference, pairs, Pairs(4, 5), Pad, beta: 0.1)));
        Assert.Contains("β 0.3", e.Message);
        Assert.Contains("β 0.1", e.Message);
    }

    [Fact]
    public void A_non_finite_loss_stops_the_run_names_the_cause_and_leaves_the_policy_as_it_was()
    {
        // β = 1e300 overflows every float32 margin: the loss is not finite although every weight is
        var pairs = Pairs(4, 6);
        using var policy = Fresh(7);
        using var before = policy.Copy();
        using var reference = Fresh(8);
        using var trainer = new Trainer(policy, new DpoTask(reference, pairs, null, Pad, beta: 1e300), DpoTask.Options(steps: 3, batchSize: 4));
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run());
        Assert.Equal(0, e.Step);
        Assert.StartsWith("Training stopped at step 0 of 3 (0-based): the loss is ", e.Message);
        Assert.Contains("although the weights are finite: the logits overflowed", e.Message);
        Assert.Equal(0, MaxChange(policy, before));
        Assert.Empty(trainer.History.Train);
    }

    [Fact]
    public void The_policy_comes_back_in_the_mode_it_was_handed_over_in()
    {
        var pairs = Pairs(4, 7);
        using var policy = Fresh(9);
        using var reference = policy.Copy(frozen: true);
        using var trainer = new Trainer(policy, new DpoTask(reference, pairs, null, Pad), DpoTask.Options(steps: 2, batchSize: 2));
        policy.eval();
        trainer.Run(stopAfter: 1);
        Assert.False(policy.training);
        policy.train();
        trainer.Run();
        Assert.True(policy.training);
        Assert.False(reference.training, "the reference stays in eval mode");
    }

    [Fact]
    public void The_task_refuses_the_policy_itself_a_reference_of_another_shape_and_pairs_that_do_not_fit()
    {
        var pairs = Pairs(4, 8);
        using var policy = Fresh(10);
        using var reference = policy.Copy(frozen: true);
        var options = DpoTask.Options(steps: 1);
        Assert.Contains("separate frozen copy", Assert.Throws<ArgumentException>(() => new Trainer(policy, new DpoTask(policy, pairs, null, Pad), options)).Message);
        manual_seed(1);
        using var wider = new Gpt(Small with { Channels = 32 });
        Assert.StartsWith("The reference model's shape", Assert.Throws<ArgumentException>(() => new Trainer(policy, new DpoTask(wider, pairs, null, Pad), options)).Message);
        var tooLong = new DpoTask(reference, [new PairTokens([1, 2, 3], [4, 5, 6, 7, 5, 6], [3])], null, Pad);
        Assert.StartsWith("The chosen response of training pair 0 is 3 prompt + 6 response = 9 tokens, longer than the policy's context window of 8 tokens.",
                          Assert.Throws<ArgumentException>(() => new Trainer(policy, tooLong, options)).Message);
        Assert.Contains("DPO needs at least one preference pair", Assert.Throws<ArgumentException>(() => new DpoTask(reference, [], null, Pad)).Message);
        Assert.Equal("reference", Assert.Throws<ArgumentNullException>(() => new DpoTask(null!, pairs, null, Pad)).ParamName);
    }
}
