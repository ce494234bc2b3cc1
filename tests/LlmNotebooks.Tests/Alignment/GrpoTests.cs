using LlmNotebooks.Alignment;
using LlmNotebooks.Generation;
using LlmNotebooks.Tensors;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Alignment;

/// <summary>
/// GRPO's pieces and its trainer: the guards say what is wrong, the formulas match hand computations, and one
/// <see cref="GrpoTrainer.Step"/> matches the same step written out in the test (sampling seed, rewards, advantages,
/// inner epochs with AdamW, and every number it logs).
/// </summary>
public class GrpoTests
{
    const int Stop = 10, Pad = 0;
    static readonly CharTokenizer Digits = new(Enumerable.Range(0, 11).Select(i => i < 10 ? i.ToString() : "$"));
    static readonly IReadOnlyList<IReadOnlyList<int>> Prompts = [[1, 2], [3, 4], [5, 6]];

    static Gpt Untrained(long seed, GptConfig? config = null)
    {
        manual_seed(seed);
        return new Gpt(config ?? GptConfig.Tiny);
    }

    // ---------- PolicyGradient ----------

    [Fact]
    public void The_ratio_is_taken_against_the_old_log_probs()
    {
        // log π_old = −2 (not 0, so log π − log π_old and log π + log π_old differ): ratios 1.5 and 0.5 with A = 2
        var old = full(2, -2.0, float64);
        var logp = tensor(new[] { Math.Log(1.5) - 2, Math.Log(0.5) - 2 });
        var s = PolicyGradient.ClippedSurrogate(logp, old, full(2, 2.0, float64), 0.2).data<double>().ToArray();
        Assert.Equal(2.4, s[0], 12);   // clipped at 1.2·2
        Assert.Equal(1.0, s[1], 12);   // 0.5·2, below the clipped 1.6
    }

    [Fact]
    public void K3_by_hand_and_its_missing_arguments_are_named()
    {
        // π = 0.5, π_ref = 0.25: d = log 0.25 − log 0.5 = −log 2, k3 = ½ + log 2 − 1
        var k3 = PolicyGradient.KlK3(tensor(new[] { Math.Log(0.5) }), tensor(new[] { Math.Log(0.25) }));
        Assert.Equal(0.5 + Math.Log(2) - 1, k3.item<double>(), 12);
        var x = zeros(2);
        Assert.Equal("logProbPolicy", Assert.Throws<ArgumentNullException>(() => PolicyGradient.KlK3(null!, x)).ParamName);
        Assert.Equal("logProbReference", Assert.Throws<ArgumentNullException>(() => PolicyGradient.KlK3(x, null!)).ParamName);
    }

    [Fact]
    public void Clip_and_beta_refusals_name_the_setting()
    {
        var x = zeros(2);
        var clip = Assert.Throws<ArgumentException>(() => PolicyGradient.ClippedSurrogate(x, x, x, 0));
        Assert.Equal("epsilon", clip.ParamName);
        Assert.StartsWith("epsilon must be a finite number in [", clip.Message);
        var beta = Assert.Throws<ArgumentException>(() => new GrpoOptions { Beta = -0.1 }.Validate());
        Assert.Equal("beta", beta.ParamName);
        Assert.StartsWith("beta must be a finite number in [0, 1000000], got -0.1.", beta.Message);
    }

    // ---------- Grpo.Loss ----------

    [Fact]
    public void The_loss_is_the_per_answer_mean_of_surrogate_minus_beta_k3_by_hand()
    {
        // Two answers; log π = log π_old, so every ratio is 1 and the surrogate is the advantage. β = 0.5.
        // Answer 0 (A = 1, two tokens): at token 0 the reference has log 2 more, d = ln 2, k3 = 2 − ln 2 − 1 = 0.3068528;
        //   per token −(1 − 0.5·0.3068528) = −0.8465736 and −1; mean over its 2 tokens −0.9232868.
        // Answer 1 (A = −2, one token, then a masked position whose reference value 5 must not count): 2 over 1 token.
        // Loss: the mean over the answers, (−0.9232868 + 2)/2 = 0.5383566.
        var logp = zeros(2, 2);
        var reference = tensor(new[] { MathF.Log(2), 0f, 0f, 5f }, [2, 2]);
        var mask = tensor(new[] { 1f, 1f, 1f, 0f }, [2, 2]);
        var loss = Grpo.Loss(logp, zeros(2, 2), reference, tensor(new[] { 1f, -2f }, [2, 1]), mask, epsilon: 0.2, beta: 0.5);
        Assert.Equal(0.5383566, loss.item<float>(), 6);
        Assert.Equal("beta", Assert.Throws<ArgumentException>(() => Grpo.Loss(logp, logp, logp, zeros(2, 1), mask, 0.2, -1)).ParamName);
    }

    // ---------- Grpo.GroupAdvantages ----------

    [Fact]
    public void Group_advantages_divide_by_std_plus_epsilon()
    {
        // rewards 1, 0: mean ½, std ½; with ε = 0.25: ±½ / (½ + ¼) = ±2/3
        var a = Grpo.GroupAdvantages([1, 0], 2, epsilon: 0.25);
        Assert.Equal(2.0 / 3, a[0], 12);
        Assert.Equal(-2.0 / 3, a[1], 12);
    }

    [Fact]
    public void Group_advantages_do_not_move_when_every_reward_is_shifted_by_1e15()
    {
        // The variance is summed from the deviations rᵢ − mean. Written as Σ rᵢ² − G·mean² (algebraically the same) it cancels
        // catastrophically: around 10^15 a double's spacing is 0.25, and Σ (rᵢ + mean)(rᵢ − mean) comes out 6 instead of 5.
        double[] small = [0, 1, 2, 3];
        var expected = Grpo.GroupAdvantages(small, 4, epsilon: 0);
        var shifted = Grpo.GroupAdvantages(small.Select(r => 1e15 + r).ToArray(), 4, epsilon: 0);
        Assert.Equal(-1.5 / Math.Sqrt(1.25), expected[0], 12);
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], shifted[i], 12);
    }

    [Fact]
    public void Group_advantages_refuse_a_missing_list_a_negative_epsilon_and_explain_the_group_size()
    {
        Assert.Equal("rewards", Assert.Throws<ArgumentNullException>(() => Grpo.GroupAdvantages(null!, 2)).ParamName);
        var eps = Assert.Throws<ArgumentException>(() => Grpo.GroupAdvantages([1, 0], 2, epsilon: -1));
        Assert.Equal("epsilon", eps.ParamName);
        Assert.StartsWith("epsilon must be a finite number ≥ 0, got -1.", eps.Message);
        Assert.StartsWith("epsilon must be a finite number ≥ 0, got NaN.", Assert.Throws<ArgumentException>(() => Grpo.GroupAdvantages([1, 0], 2, double.NaN)).Message);
        var one = Assert.Throws<ArgumentOutOfRangeException>(() => Grpo.GroupAdvantages([1, 2], 1));
        Assert.Contains("a group of one has nothing to compare with (its advantage is always 0). Use 4–16.", one.Message);
    }

    // ---------- GrpoOptions and the trainer's constructor ----------

    [Fact]
    public void Every_option_out_of_range_is_refused_by_its_name()
    {
        new GrpoOptions().Validate();   // the defaults are valid
        void Refused(string name, string message, GrpoOptions options)
        {
            var e = Assert.Throws<ArgumentException>(options.Validate);
            Assert.Equal(name, e.ParamName);
            Assert.StartsWith(message, e.Message);
        }
        Refused("PromptsPerStep", "PromptsPerStep must be positive, got 0.", new GrpoOptions { PromptsPerStep = 0 });
        Refused("InnerEpochs", "InnerEpochs must be positive, got 0.", new GrpoOptions { InnerEpochs = 0 });
        Refused("LearningRate", "LearningRate must be a finite number in [", new GrpoOptions { LearningRate = 0 });
        Refused("LearningRate", "LearningRate must be a finite number in [", new GrpoOptions { LearningRate = 11 });
        Refused("GradClip", "GradClip must be a finite number ≥ 0, got -1.", new GrpoOptions { GradClip = -1 });
        Refused("MaxNewTokens", "MaxNewTokens must be positive, got 0.", new GrpoOptions { MaxNewTokens = 0 });
    }

    [Fact]
    public void The_trainer_refuses_missing_parts_bad_options_and_a_reference_that_cannot_serve()
    {
        using var policy = Untrained(3);
        using var reference = policy.Copy(frozen: true);
        static IReadOnlyList<double> Reward(IReadOnlyList<Completion> cs) => new double[cs.Count];
        var options = new GrpoOptions { GroupSize = 2 };
        string? Missing(Action a) => Assert.Throws<ArgumentNullException>(a).ParamName;
        Assert.Equal("policy", Missing(() => new GrpoTrainer(null!, reference, Reward, Digits, Stop, Pad, options)));
        Assert.Equal("reference", Missing(() => new GrpoTrainer(policy, null!, Reward, Digits, Stop, Pad, options)));
        Assert.Equal("reward", Missing(() => new GrpoTrainer(policy, reference, null!, Digits, Stop, Pad, options)));
        Assert.Equal("tokenizer", Missing(() => new GrpoTrainer(policy, reference, Reward, null!, Stop, Pad, options)));
        Assert.Equal("options", Missing(() => new GrpoTrainer(policy, reference, Reward, Digits, Stop, Pad, null!)));

        var groupOfOne = Assert.Throws<ArgumentOutOfRangeException>(() => new GrpoTrainer(policy, reference, Reward, Digits, Stop, Pad, new GrpoOptions { GroupSize = 1 }));
        Assert.Contains("at least 2 samples per prompt, got 1", groupOfOne.Message);

        var itself = Assert.Throws<ArgumentException>(() => new GrpoTrainer(policy, policy, Reward, Digits, Stop, Pad, options));
        Assert.Equal("reference", itself.ParamName);
        Assert.StartsWith("The reference must be a separate, frozen copy of the policy (policy.Copy(frozen: true))", itself.Message);

        using var narrower = Untrained(3, GptConfig.Tiny with { Channels = 8 });
        var shape = Assert.Throws<ArgumentException>(() => new GrpoTrainer(policy, narrower, Reward, Digits, Stop, Pad, options));
        Assert.Equal("reference", shape.ParamName);
        Assert.StartsWith($"The reference model's shape {narrower.Config} differs from the policy's {policy.Config}: the KL penalty compares", shape.Message);

        using var frozen = policy.Copy(frozen: true);
        var nothing = Assert.Throws<ArgumentException>(() => new GrpoTrainer(frozen, reference, Reward, Digits, Stop, Pad, options));
        Assert.Equal("policy", nothing.ParamName);
        Assert.StartsWith("Every parameter of the policy is frozen: there is nothing for GRPO to train.", nothing.Message);
    }

    // ---------- GrpoTrainer.Step ----------

    /// <summary>What the test's own version of one GRPO step sampled, computed and logged.</summary>
    sealed record Replayed(IReadOnlyList<Completion> Completions, double MeanReward, double AllEqualGroups, double FinishedFraction,
                           double MeanLength, double Loss, double Kl, double ClippedFraction);

    /// <summary>
    /// One GRPO step written out from the paper's formulas on <paramref name="twin"/> (a copy of the policy): the same
    /// seed StreamSeed(Seed, RolloutStream, step), group advantages (r − mean)/(std + 1e-4), and InnerEpochs AdamW updates on
    /// −1/G Σᵢ 1/|oᵢ| Σₜ [min(ρ·A, clip(ρ)·A) − β·k3].
    /// </summary>
    static Replayed Replay(Gpt twin, Gpt reference, int step, GrpoOptions o, Func<Completion, double> reward)
    {
        int G = o.GroupSize;
        using var rollouts = Rollouts.Sample(twin, Prompts, G, o.MaxNewTokens, Stop, Pad, o.Temperature, seed: Hashes.StreamSeed(o.Seed, Hashes.RolloutStream, step));
        var completions = rollouts.Completions;
        var r = completions.Select(reward).ToArray();
        var advantages = new float[r.Length];
        int equalGroups = 0;
        for (int g = 0; g < Prompts.Count; g++)
        {
            var group = r.Skip(g * G).Take(G).ToArray();
            double mean = group.Average(), std = Math.Sqrt(group.Select(x => (x - mean) * (x - mean)).Average());
            if (group.Distinct().Count() == 1) equalGroups++;
            for (int k = 0; k < G; k++) advantages[g * G + k] = std == 0 ? 0 : (float)((group[k] - mean) / (std + 1e-4));
        }
        using var optimizer = optim.AdamW(twin.parameters(), lr: o.LearningRate, weight_decay: 0);
        using var scope = NewDisposeScope();
        var mask = rollouts.Batch.ResponseMask;
        var A = tensor(advantages).unsqueeze(1);
        Tensor referenceLogProbs;
        using (reference.EvalScope()) referenceLogProbs = SequenceLogProbs.PerToken(reference, rollouts.Batch);
        double eps = o.ClipEpsilon, loss = 0, kl = 0, clipped = 0, tokens = mask.sum().item<float>();
        twin.train();
        for (int epoch = 0; epoch < o.InnerEpochs; epoch++)
        {
            optimizer.zero_grad();
            var logp = SequenceLogProbs.PerToken(twin, rollouts.Batch);
            var ratio = exp(logp - rollouts.OldLogProbs);
            var surrogate = minimum(ratio * A, ratio.clamp(1 - eps, 1 + eps) * A);
            var d = referenceLogProbs - logp;
            var k3 = exp(d) - d - 1;
            var perResponse = ((surrogate - o.Beta * k3) * mask).sum(1) / mask.sum(1);
            var objective = -perResponse.mean();
            objective.backward();
            if (o.GradClip > 0) nn.utils.clip_grad_norm_(twin.parameters(), o.GradClip);
            optimizer.step();
            loss = objective.item<float>();
            kl = (k3.detach() * mask).sum().item<float>() / tokens;
            clipped = (((ratio.detach() - 1).abs() > eps).to(float32) * mask).sum().item<float>() / tokens;
        }
        var lengths = completions.Select(c => c.Response.Count).ToArray();   // as scored: the stop token included
        return new Replayed(completions, r.Average(), equalGroups / (double)Prompts.Count, completions.Count(c => c.Finished) / (double)completions.Count,
                            lengths.Average(), loss, kl, clipped);
    }

    static double MaxChange(Gpt a, Gpt b) =>
        a.parameters().Zip(b.parameters()).Max(p => (p.First - p.Second).abs().max().item<float>());

    /// <summary>Prompt 0 always scores 1 (an all-equal group); the others score the sum of their digits, which varies.</summary>
    static double Reward(Completion c) => c.PromptIndex == 0 ? 1 : c.Content.Sum() / 10.0 + (c.Finished ? 0.5 : 0);
    static readonly RewardFunction Rewarded = Rewards.Each(Reward);

    [Fact]
    public void A_step_equals_the_same_step_written_out_and_logs_what_it_saw()
    {
        using var policy = Untrained(31);
        using var reference = policy.Copy(frozen: true);
        using var twin = policy.Copy();
        var options = new GrpoOptions { GroupSize = 4, MaxNewTokens = 4, InnerEpochs = 2, Beta = 0.5, ClipEpsilon = 0.1, LearningRate = 3e-2, GradClip = 0 };
        var seen = new List<Completion>();
        using var grpo = new GrpoTrainer(policy, reference, Rewards.Each(c => { seen.Add(c); return Reward(c); }), Digits, Stop, Pad, options);
        var start = policy.Copy();
        var record = grpo.Step(Prompts, 3);
        var expected = Replay(twin, reference, 3, options, Reward);

        // Step 3 sampled with seed StreamSeed(Seed, RolloutStream, 3): the reward saw exactly the replay's completions.
        Assert.Equal(expected.Completions.Select(c => (c.PromptIndex, string.Join(',', c.Response), c.Finished)),
                     seen.Select(c => (c.PromptIndex, string.Join(',', c.Response), c.Finished)));
        // the case is one that can tell the numbers apart: a mix of groups, finished samples and lengths
        Assert.Equal(1.0 / 3, expected.AllEqualGroups, 12);
        Assert.InRange(expected.FinishedFraction, 0.05, 0.95);
        Assert.NotEqual(expected.MeanLength, expected.Completions.Min(c => c.Response.Count));
        Assert.InRange(expected.ClippedFraction, 0.05, 0.95);
        Assert.NotEqual(0.5, expected.ClippedFraction);
        Assert.True(expected.Kl > 1e-4, $"KL {expected.Kl}");

        Assert.Equal(3, record.Step);
        Assert.Equal(expected.MeanReward, record.MeanReward, 12);
        Assert.Equal(expected.AllEqualGroups, record.AllEqualGroups, 12);
        Assert.Equal(expected.FinishedFraction, record.FinishedFraction, 12);
        Assert.Equal(expected.MeanLength, record.MeanLength, 12);
        Assert.Equal(expected.Loss, record.Loss, 5);
        Assert.Equal(expected.Kl, record.Kl, 6);
        Assert.Equal(expected.ClippedFraction, record.ClippedFraction, 6);
        Assert.Same(record, grpo.History[^1]);
        // and the update itself: the policy moved, to where the written-out AdamW steps took the twin
        Assert.True(MaxChange(policy, start) > 1e-2, $"largest change {MaxChange(policy, start)}");
        Assert.True(MaxChange(policy, twin) < 1e-5, $"trainer and replay differ by {MaxChange(policy, twin)}");
        start.Dispose();
    }

    [Fact]
    public void With_one_inner_epoch_the_ratio_is_exactly_1_so_nothing_is_clipped_and_the_kl_is_0()
    {
        using var policy = Untrained(32);
        using var reference = policy.Copy(frozen: true);
        using var grpo = new GrpoTrainer(policy, reference, Rewarded, Digits, Stop, Pad,
                                         new GrpoOptions { GroupSize = 4, MaxNewTokens = 4, InnerEpochs = 1, ClipEpsilon = 1e-3, LearningRate = 3e-2 });
        var record = grpo.Step(Prompts, 0);
        // the only epoch runs on the policy that sampled (ratio 1) and still equals the reference (k3 = 0);
        // its loss is −mean(A), and group-relative advantages sum to 0
        Assert.Equal(0, record.ClippedFraction);
        Assert.Equal(0, record.Kl, 7);
        Assert.Equal(0, record.Loss, 6);
        // a second step starts from the moved policy: now the reference differs
        Assert.True(grpo.Step(Prompts, 1).Kl > 0);
    }

    [Fact]
    public void The_inner_epochs_run_in_training_mode_and_the_step_restores_the_mode_it_found()
    {
        // With dropout 0.5, training mode changes the log-probs against the rollouts' (taken in eval mode), so even the
        // first epoch's ratio leaves [1 − ε, 1 + ε] for tiny ε.
        var dropout = GptConfig.Tiny with { Dropout = 0.5 };
        using var policy = Untrained(33, dropout);
        using var reference = policy.Copy(frozen: true);
        using var grpo = new GrpoTrainer(policy, reference, Rewarded, Digits, Stop, Pad,
                                         new GrpoOptions { GroupSize = 4, MaxNewTokens = 4, InnerEpochs = 1, ClipEpsilon = 1e-3 });
        policy.eval();
        var record = grpo.Step(Prompts, 0);
        Assert.True(record.ClippedFraction > 0.5, $"clipped fraction {record.ClippedFraction}");
        Assert.False(policy.training);
        policy.train();
        grpo.Step(Prompts, 1);
        Assert.True(policy.training);
    }

    [Fact]
    public void Grad_clip_0_means_no_clipping_and_a_tiny_grad_clip_freezes_the_update()
    {
        // AdamW divides by the gradient's own size plus 1e-8: gradients clipped to a global norm of 1e-12 are far below that,
        // so the parameters hardly move; without clipping they move by about the learning rate.
        using var policy = Untrained(34);
        using var start = policy.Copy();
        using var reference = policy.Copy(frozen: true);
        var options = new GrpoOptions { GroupSize = 4, MaxNewTokens = 4, LearningRate = 1e-2 };
        using (var free = new GrpoTrainer(policy, reference, Rewarded, Digits, Stop, Pad, options with { GradClip = 0 }))
            free.Step(Prompts, 0);
        Assert.True(MaxChange(policy, start) > 5e-3, $"without clipping the largest change is {MaxChange(policy, start)}");

        using var policy2 = start.Copy();
        using (var tight = new GrpoTrainer(policy2, reference, Rewarded, Digits, Stop, Pad, options with { GradClip = 1e-12 }))
            tight.Step(Prompts, 0);
        Assert.True(MaxChange(policy2, start) < 1e-5, $"with GradClip 1e-12 the largest change is {MaxChange(policy2, start)}");
    }

    [Fact]
    public void A_diverging_step_stops_with_the_step_and_the_learning_rate()
    {
        using var policy = Untrained(35);
        using var reference = policy.Copy(frozen: true);
        using var grpo = new GrpoTrainer(policy, reference, Rewarded, Digits, Stop, Pad,
                                         new GrpoOptions { GroupSize = 4, MaxNewTokens = 4, InnerEpochs = 3, LearningRate = 10, GradClip = 0 });
        var e = Assert.Throws<TrainingDivergedException>(() => grpo.Step(Prompts, 0));
        Assert.Equal(0, e.Step);
        Assert.StartsWith("GRPO stopped at step 0 (0-based): the policy's ", e.Message);
        Assert.Contains("This update was not applied.", e.Message);
        Assert.EndsWith("Likely cause: the learning rate (10) is too high and clipping is off (GradClip = 0); lower LearningRate or set GradClip = 1.", e.Message);
        // the check ran before the optimizer: the weights the earlier inner epochs left are still finite
        Assert.All(policy.parameters(), p => Assert.True(isfinite(p).all().item<bool>()));
    }

    [Fact]
    public void A_nan_reward_says_to_check_the_reward_function()
    {
        using var policy = Untrained(36);
        using var reference = policy.Copy(frozen: true);
        using var grpo = new GrpoTrainer(policy, reference, Rewards.Each(_ => double.NaN), Digits, Stop, Pad, new GrpoOptions { GroupSize = 2, MaxNewTokens = 3 });
        var e = Assert.Throws<InvalidOperationException>(() => grpo.Step([Digits.Encode("12")], 0));
        Assert.EndsWith("A reward must be a finite number: check the reward function on this input.", e.Message);
        using var infinite = new GrpoTrainer(policy, reference, Rewards.Each(_ => double.PositiveInfinity), Digits, Stop, Pad, new GrpoOptions { GroupSize = 2, MaxNewTokens = 3 });
        Assert.Contains("returned +∞ for prompt «12»", Assert.Throws<InvalidOperationException>(() => infinite.Step([Digits.Encode("12")], 0)).Message);
        using var miscounted = new GrpoTrainer(policy, reference, cs => new double[cs.Count - 1], Digits, Stop, Pad, new GrpoOptions { GroupSize = 2, MaxNewTokens = 3 });
        Assert.Equal("The reward function returned 1 rewards for 2 completions: it must return one per completion, in order.",
                     Assert.Throws<InvalidOperationException>(() => miscounted.Step([Digits.Encode("12")], 0)).Message);
    }

    [Fact]
    public void The_reward_function_sees_the_whole_batch_at_once()
    {
        using var policy = Untrained(37);
        using var reference = policy.Copy(frozen: true);
        var calls = new List<int>();
        using var grpo = new GrpoTrainer(policy, reference, cs => { calls.Add(cs.Count); return new double[cs.Count]; }, Digits, Stop, Pad,
                                         new GrpoOptions { GroupSize = 4, MaxNewTokens = 3 });
        grpo.Step([Digits.Encode("12"), Digits.Encode("3"), Digits.Encode("45")], 0);
        Assert.Equal([12], calls);                                                     // one call for 3 prompts × 4 samples
    }
}
