using LlmNotebooks.Alignment;
using LlmNotebooks.Generation;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Alignment;

/// <summary>PPO and DPO trainers on a tiny model and a reward anyone can compute: they must improve it, and refuse bad settings.</summary>
public class TrainerTests
{
    // characters: 0 = '.', the stop token; 1 = '_', padding; 2..5 = 'a'..'d'
    static readonly CharTokenizer Chars = new([".", "_", "a", "b", "c", "d"]);
    static readonly GptConfig Small = new(VocabSize: 6, BlockSize: 12, Layers: 1, Heads: 2, Channels: 16);
    const int Stop = 0, Pad = 1;
    static readonly IReadOnlyList<IReadOnlyList<int>> Prompts = [[2, 3], [4, 5], [3, 2], [5, 4]];

    static Gpt Fresh(int seed = 1)
    {
        manual_seed(seed);
        return new Gpt(Small);
    }

    /// <summary>The fraction of the response's tokens that are 'a' (id 2).</summary>
    static double FractionOfA(Completion c) => c.Content.Count == 0 ? 0 : c.Content.Count(t => t == 2) / (double)c.Content.Count;
    static readonly RewardFunction FractionOfAEach = Rewards.Each(FractionOfA);

    [Fact]
    public void Ppo_raises_a_simple_reward_and_logs_each_step()
    {
        using var policy = Fresh();
        using var reference = policy.Copy(frozen: true);
        manual_seed(2);
        using var critic = new ValueModel(new Gpt(Small));
        using var ppo = new PpoTrainer(policy, reference, critic, FractionOfAEach, Chars, Stop, Pad,
                                       new PpoOptions { SamplesPerPrompt = 8, LearningRate = 1e-2, ValueLearningRate = 1e-2, MaxNewTokens = 4, Epochs = 2, Beta = 0.01 });
        for (int s = 0; s < 10; s++) ppo.Step(Prompts, s);
        Assert.Equal(10, ppo.History.Count);
        double first = ppo.History.Take(3).Average(h => h.MeanReward), last = ppo.History.TakeLast(3).Average(h => h.MeanReward);
        Assert.True(last > first + 0.2, $"mean reward {first:F3} → {last:F3}");
        Assert.True(ppo.History[^1].Kl > 0, "the policy moved away from the reference");
        Assert.True(ppo.History[^1].ValueLoss < ppo.History[0].ValueLoss, "the critic learned");
    }

    [Fact]
    public void Ppo_settings_are_checked()
    {
        Assert.Contains("Beta must be a finite number ≥ 0", Assert.Throws<ArgumentException>(() => new PpoOptions { Beta = -0.1 }.Validate()).Message);
        Assert.Contains("ClipEpsilon must be a finite number > 0", Assert.Throws<ArgumentException>(() => new PpoOptions { ClipEpsilon = 0 }.Validate()).Message);
        using var policy = Fresh();
        manual_seed(2);
        using var critic = new ValueModel(new Gpt(Small));
        Assert.Contains("separate frozen copy", Assert.Throws<ArgumentException>(() => new PpoTrainer(policy, policy, critic, FractionOfAEach, Chars, Stop, Pad, new PpoOptions())).Message);
    }

    [Fact]
    public void A_nan_reward_stops_ppo_with_the_prompt_and_completion()
    {
        using var policy = Fresh();
        using var reference = policy.Copy(frozen: true);
        manual_seed(2);
        using var critic = new ValueModel(new Gpt(Small));
        using var ppo = new PpoTrainer(policy, reference, critic, Rewards.Each(_ => double.NaN), Chars, Stop, Pad, new PpoOptions { MaxNewTokens = 3 });
        var e = Assert.Throws<InvalidOperationException>(() => ppo.Step(Prompts, 0));
        Assert.Contains("returned NaN for prompt «ab» and completion «", e.Message);
    }

    [Fact]
    public void Ppo_restores_the_modes_it_found_and_trains_both_models_in_training_mode()
    {
        // With dropout the training-mode log-probs differ from the rollouts' (taken in eval mode), so clipping shows
        // that the updates ran in training mode; the modes handed over come back either way.
        var dropout = Small with { Dropout = 0.5 };
        manual_seed(1);
        using var policy = new Gpt(dropout);
        using var reference = policy.Copy(frozen: true);
        manual_seed(2);
        using var critic = new ValueModel(new Gpt(dropout));
        using var ppo = new PpoTrainer(policy, reference, critic, FractionOfAEach, Chars, Stop, Pad,
                                       new PpoOptions { SamplesPerPrompt = 2, MaxNewTokens = 3, Epochs = 1, ClipEpsilon = 1e-3, Seed = 0 });
        policy.eval();
        critic.eval();
        var step = ppo.Step(Prompts, 0);
        Assert.True(step.ClipFraction > 0.3, $"clip fraction {step.ClipFraction}: the policy's update ran in training mode");
        Assert.False(policy.training, "the policy comes back in eval mode");
        Assert.False(critic.training, "and so does the critic");
        policy.train();
        critic.train();
        ppo.Step(Prompts, 1);
        Assert.True(policy.training);
        Assert.True(critic.training);
    }

    static double MaxChange(nn.Module a, nn.Module b) =>
        a.parameters().Zip(b.parameters()).Max(p => (p.First - p.Second).abs().max().item<float>());

    [Fact]
    public void Ppo_clips_with_the_grad_clip_of_its_options_and_refuses_a_bad_one()
    {
        // AdamW divides by the gradient's own size plus 1e-8: gradients clipped to a global norm of 1e-12 are far below
        // that, so neither model moves; with the default clip of 1 both do.
        foreach (var (clip, moves) in new[] { (1.0, true), (1e-12, false) })
        {
            using var policy = Fresh();
            using var start = policy.Copy();
            using var reference = policy.Copy(frozen: true);
            manual_seed(2);
            using var critic = new ValueModel(new Gpt(Small));
            manual_seed(2);
            using var criticStart = new ValueModel(new Gpt(Small));
            using var ppo = new PpoTrainer(policy, reference, critic, FractionOfAEach, Chars, Stop, Pad,
                                           new PpoOptions { SamplesPerPrompt = 4, MaxNewTokens = 3, LearningRate = 1e-2, ValueLearningRate = 1e-2, GradClip = clip });
            ppo.Step(Prompts, 0);
            Assert.Equal(moves, MaxChange(policy, start) > 1e-3);
            Assert.Equal(moves, MaxChange(critic, criticStart) > 1e-3);
        }
        Assert.Equal(1.0, new PpoOptions().GradClip);
        var e = Assert.Throws<ArgumentException>(() => new PpoOptions { GradClip = -1 }.Validate());
        Assert.Equal("GradClip", e.ParamName);
        Assert.StartsWith("GradClip must be a finite number ≥ 0, got -1.", e.Message);
        Assert.StartsWith("GradClip must be a finite number ≥ 0, got NaN.", Assert.Throws<ArgumentException>(() => new PpoOptions { GradClip = double.NaN }.Validate()).Message);
    }

    [Fact]
    public void A_diverging_ppo_update_stops_before_the_optimizer_and_names_the_option_to_lower()
    {
        // A critic learning rate of 1e30: its first update (epoch 0) throws its weights far out, and its second loss
        // overflows. The policy's own updates are fine.
        using var policy = Fresh();
        using var start = policy.Copy();
        using var reference = policy.Copy(frozen: true);
        manual_seed(2);
        using var critic = new ValueModel(new Gpt(Small));
        using var ppo = new PpoTrainer(policy, reference, critic, FractionOfAEach, Chars, Stop, Pad,
                                       new PpoOptions { SamplesPerPrompt = 2, MaxNewTokens = 3, Epochs = 2, ValueLearningRate = 1e30 });
        var e = Assert.Throws<TrainingDivergedException>(() => ppo.Step(Prompts, 4));
        Assert.Equal(4, e.Step);
        Assert.StartsWith("PPO stopped at step 4 (0-based): the critic's ", e.Message);
        Assert.EndsWith("This update was not applied. Likely cause: the learning rate (1E+30) is too high for this model; lower ValueLearningRate.", e.Message);
        Assert.All(critic.parameters(), p => Assert.True(isfinite(p).all().item<bool>(), "the failed update was not applied"));
        Assert.True(MaxChange(policy, start) > 0, "the policy's updates before it were");
    }

    [Fact]
    public void Dpo_through_the_trainer_starts_at_log_2_and_raises_the_margin_and_the_chosen_answers_probability()
    {
        using var policy = Fresh();
        using var reference = policy.Copy(frozen: true);
        var pairs = new List<PairTokens> { new([2, 3], [2, 2, Stop], [5, 5, Stop]), new([4, 5], [2, 3, Stop], [5, 4, Stop]) };
        var dpo = new DpoTask(reference, pairs, null, Pad, beta: 0.5);
        using var trainer = new Trainer(policy, dpo, DpoTask.Options(steps: 30, batchSize: 2, learningRate: 3e-3));
        trainer.Run();
        var first = dpo.History[0];
        Assert.Equal(Math.Log(2), first.Loss, 5);                       // policy = reference: every margin is 0
        Assert.Equal(0, first.Margin, 6);
        var last = dpo.History[^1];
        Assert.Equal(30, dpo.History.Count);
        Assert.True(last.Margin > 1, $"margin {last.Margin:F3}");
        Assert.Equal(1.0, last.Accuracy);
        Assert.True(last.Loss < 0.4, $"loss {last.Loss:F3}");
        Assert.True(last.ChosenReward > last.RejectedReward);
        Assert.Equal(trainer.History.Train.Select(s => s.Loss), dpo.History.Select(s => s.Loss));   // the Trainer's log and the task's are one
        Assert.Contains("beta must be a finite number > 0", Assert.Throws<ArgumentException>(() => new DpoTask(reference, pairs, null, Pad, beta: 0)).Message);
    }
}
