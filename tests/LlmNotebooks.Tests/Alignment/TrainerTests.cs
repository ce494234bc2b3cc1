using LlmNotebooks.Alignment;
using LlmNotebooks.Generation;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Transformer;
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
    public void Dpo_starts_at_log_2_and_raises_the_margin_and_the_chosen_answers_probability()
    {
        using var policy = Fresh();
        using var reference = policy.Copy(frozen: true);
        var pairs = new List<PairTokens> { new([2, 3], [2, 2, Stop], [5, 5, Stop]), new([4, 5], [2, 3, Stop], [5, 4, Stop]) };
        using var dpo = new DpoTrainer(policy, reference, pairs, Pad, new DpoOptions { Beta = 0.5, BatchSize = 2, LearningRate = 3e-3 });
        var first = dpo.Step(0);
        Assert.Equal(Math.Log(2), first.Loss, 5);                       // policy = reference: every margin is 0
        Assert.Equal(0, first.Margin, 6);
        for (int s = 1; s < 30; s++) dpo.Step(s);
        var last = dpo.History[^1];
        Assert.True(last.Margin > 1, $"margin {last.Margin:F3}");
        Assert.Equal(1.0, last.Accuracy);
        Assert.True(last.Loss < 0.4, $"loss {last.Loss:F3}");
        Assert.True(last.ChosenReward > last.RejectedReward);
        Assert.Contains("Beta must be a finite number > 0", Assert.Throws<ArgumentException>(() => new DpoOptions { Beta = 0 }.Validate()).Message);
    }
}
