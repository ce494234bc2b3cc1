using CsCheck;
using LlmNotebooks.Alignment;
using LlmNotebooks.Generation;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Alignment;

/// <summary>The chapter-6 core: packing responses, scoring them, sampling them, and the shared policy-gradient formulas.</summary>
public class PolicyCoreTests
{
    static Gpt Untrained(long seed = 3)
    {
        manual_seed(seed);
        return new Gpt(GptConfig.Tiny);
    }

    static IReadOnlyList<int> L(params int[] ids) => ids;

    [Fact]
    public void ResponseBatchMarksExactlyThePredictionsOfResponseTokens()
    {
        using var batch = ResponseBatch.Create([L(1, 2, 3), L(4)], [L(5, 6), L(7, 8, 9)], padToken: 0, blockSize: 8);
        Assert.Equal(new long[] { 2, 5 }, batch.Tokens.shape);
        Assert.Equal(new long[] { 1, 2, 3, 5, 6, 4, 7, 8, 9, 0 }, batch.Tokens.data<long>().ToArray());
        // Row 0: tokens 5 and 6 sit at positions 3 and 4, predicted from positions 2 and 3. Row 1: 7, 8, 9 from 0, 1, 2.
        Assert.Equal(new float[] { 0, 0, 1, 1, 1, 1, 1, 0 }, batch.ResponseMask.data<float>().ToArray());
        Assert.Equal(new long[] { 4, 3 }, batch.LastIndex.data<long>().ToArray());
        Assert.Equal([3, 1], batch.PromptLengths);
        Assert.Equal([2, 3], batch.ResponseLengths);
    }

    [Fact]
    public void ResponseBatchRefusesWhatAModelCannotRead()
    {
        var tooLong = Assert.Throws<ArgumentException>(() => ResponseBatch.Create([L(1, 2, 3)], [L(4, 5, 6)], 0, blockSize: 5));
        Assert.Contains("3 prompt + 3 response = 6 tokens, longer than the model's context window of 5", tooLong.Message);
        var empty = Assert.Throws<ArgumentException>(() => ResponseBatch.Create([L()], [L(4)], 0, 5));
        Assert.Contains("Prompt 0 is empty", empty.Message);
        var count = Assert.Throws<ArgumentException>(() => ResponseBatch.Create([L(1), L(2)], [L(4)], 0, 5));
        Assert.Contains("2 prompts and 1 responses", count.Message);
        var negative = Assert.Throws<ArgumentException>(() => ResponseBatch.Create([L(1)], [L(-4)], 0, 5));
        Assert.Contains("negative token id -4", negative.Message);
    }

    [Fact]
    public void SequenceLogProbsEqualAPrefixByPrefixLoopAndIgnorePadding()
    {
        using var model = Untrained();
        model.eval();
        var prompt = L(1, 4, 2);
        var response = L(7, 3, 9);
        double expected = 0;
        using (no_grad())
        {
            for (int i = 0; i < response.Count; i++)          // score token i from the prompt and the response's first i tokens, one forward each
            {
                using var scope = NewDisposeScope();
                var prefix = prompt.Concat(response.Take(i)).Select(t => (long)t).ToArray();
                var logits = model.forward(tensor(prefix, int64).unsqueeze(0))[0, -1];
                expected += nn.functional.log_softmax(logits.to(float64), 0)[response[i]].item<double>();
            }
        }
        // The same pair alone and next to a longer row (so it is padded) must score the same.
        using var alone = ResponseBatch.Create([prompt], [response], 0, 8);
        using var padded = ResponseBatch.Create([prompt, L(5)], [response, L(1, 2, 3, 4, 5, 6)], 10, 8);
        using (no_grad())
        {
            Assert.Equal(expected, SequenceLogProbs.Summed(model, alone).item<float>(), 4);
            Assert.Equal(expected, SequenceLogProbs.Summed(model, padded)[0].item<float>(), 4);
            var perToken = SequenceLogProbs.PerToken(model, padded);
            Assert.Equal(0f, (perToken * (1 - padded.ResponseMask)).abs().sum().item<float>());
        }
    }

    [Fact]
    public void GreedyRolloutsEqualTheSamplersGreedyDecodingForEveryPrompt()
    {
        using var model = Untrained(5);
        var prompts = new[] { L(1, 2), L(3), L(4, 5), L(6, 7, 8) };
        using var rollouts = Rollouts.Sample(model, prompts, samplesPerPrompt: 2, maxNewTokens: 4, stopToken: 10, padToken: 0, temperature: 0);
        Assert.Equal(8, rollouts.Completions.Count);
        for (int k = 0; k < 8; k++)
        {
            var c = rollouts.Completions[k];
            Assert.Equal(k / 2, c.PromptIndex);
            var reference = Sampler.Generate(model, prompts[k / 2], Math.Min(4, 8 - prompts[k / 2].Count), SamplingOptions.Greedy, stopToken: 10);
            Assert.Equal(reference, c.Content);
        }
    }

    [Fact]
    public void SampledRolloutsRepeatForASeedAndCarryTheirOwnLogProbs()
    {
        using var model = Untrained(6);
        var prompts = new[] { L(1, 2), L(3, 4), L(5) };
        using var a = Rollouts.Sample(model, prompts, 4, 5, stopToken: 2, padToken: 0, temperature: 1, seed: 9);
        using var b = Rollouts.Sample(model, prompts, 4, 5, stopToken: 2, padToken: 0, temperature: 1, seed: 9);
        using var c = Rollouts.Sample(model, prompts, 4, 5, stopToken: 2, padToken: 0, temperature: 1, seed: 10);
        Assert.Equal(a.Completions.Select(x => string.Join(',', x.Response)), b.Completions.Select(x => string.Join(',', x.Response)));
        Assert.NotEqual(a.Completions.Select(x => string.Join(',', x.Response)), c.Completions.Select(x => string.Join(',', x.Response)));
        foreach (var (comp, i) in a.Completions.Select((x, i) => (x, i)))
        {
            Assert.DoesNotContain(2, comp.Content);                                       // the stop token is not part of the text
            Assert.Equal(comp.Finished, comp.Response.Count > 0 && comp.Response[^1] == 2);   // but it is part of the response as scored
            Assert.Equal(comp.Response.Count, a.Batch.ResponseLengths[i]);
            if (!comp.Finished) Assert.True(comp.Response.Count == 5 || comp.Prompt.Count + comp.Response.Count == 8);
        }
        using (no_grad())
            Assert.Equal(0, (SequenceLogProbs.PerToken(model, a.Batch) - a.OldLogProbs).abs().max().item<float>(), 5);
        Assert.Contains(a.Completions, x => x.Finished);                                 // an untrained model over 11 tokens stops now and then
    }

    [Fact]
    public void RolloutsRefusePromptsThatLeaveNoRoom()
    {
        using var model = Untrained();
        var full = Assert.Throws<ArgumentException>(() => Rollouts.Sample(model, [L(1, 2, 3, 4, 5, 6, 7, 8)], 2, 3, 10, 0));
        Assert.Contains("fills the model's 8-token context window", full.Message);
        var stop = Assert.Throws<ArgumentOutOfRangeException>(() => Rollouts.Sample(model, [L(1)], 2, 3, 11, 0));
        Assert.Contains("[0, 11)", stop.Message);
    }

    [Fact]
    public void GroupAdvantagesMatchAHandComputation()
    {
        // Group 1: rewards 1, 0, 0, 0 → mean 0.25, std √(3/16) = 0.4330; group 2: all 0.5 → no signal, advantages 0.
        var a = Grpo.GroupAdvantages([1, 0, 0, 0, 0.5, 0.5, 0.5, 0.5], groupSize: 4, epsilon: 0);
        Assert.Equal(0.75 / Math.Sqrt(3.0 / 16), a[0], 12);
        Assert.Equal(-0.25 / Math.Sqrt(3.0 / 16), a[1], 12);
        Assert.Equal(1.7320508075688772, a[0], 12);
        Assert.All(a[4..], x => Assert.Equal(0, x));
        Assert.Equal(0, a[..4].Sum(), 12);
        Assert.True(Grpo.AllEqual([1, 0, 0, 0, 0.5, 0.5, 0.5, 0.5], 4, 4));
        Assert.False(Grpo.AllEqual([1, 0, 0, 0, 0.5, 0.5, 0.5, 0.5], 0, 4));
    }

    [Fact]
    public void GroupAdvantagesRefuseGroupsOfOneAndBrokenRewards()
    {
        var one = Assert.Throws<ArgumentOutOfRangeException>(() => Grpo.GroupAdvantages([1, 2], 1));
        Assert.Contains("at least 2 samples per prompt, got 1", one.Message);
        var uneven = Assert.Throws<ArgumentException>(() => Grpo.GroupAdvantages([1, 2, 3], 2));
        Assert.Contains("3 rewards do not split into groups of 2", uneven.Message);
        var nan = Assert.Throws<ArgumentException>(() => Grpo.GroupAdvantages([1, double.NaN], 2));
        Assert.Contains("Reward 1 is NaN", nan.Message);
    }

    [Fact]
    public void K3IsNeverNegativeAndAveragesToTheExactKl()
    {
        Gen.Double[-20, 20].Array[2, 12].Sample(logits =>
        {
            int n = logits.Length;
            var p = softmax(tensor(logits, float64), 0);
            var q = softmax(tensor(logits.Reverse().Select((x, i) => x * 0.5 + i).ToArray(), float64), 0);
            var k3 = PolicyGradient.KlK3(p.log(), q.log());
            Assert.True(k3.min().item<double>() >= 0);
            double exact = (p * (p.log() - q.log())).sum().item<double>();                    // KL(p ‖ q)
            double expectation = (p * k3).sum().item<double>();                               // E_p[k3]: summed over every token
            Assert.Equal(exact, expectation, 9);
        }, iter: 200);
    }

    [Fact]
    public void ClippedSurrogateMatchesTheFormulaByHand()
    {
        var logp = tensor(new[] { Math.Log(1.5), Math.Log(0.5), Math.Log(1.1), Math.Log(0.7) });
        var old = zeros(4, float64);
        var adv = tensor(new[] { 2.0, 2.0, -1.0, -1.0 });
        var s = PolicyGradient.ClippedSurrogate(logp, old, adv, 0.2).data<double>().ToArray();
        Assert.Equal(1.2 * 2, s[0], 12);     // ratio 1.5 > 1.2 with A > 0: clipped to 1.2·A
        Assert.Equal(0.5 * 2, s[1], 12);     // ratio 0.5 with A > 0: the unclipped 0.5·A is smaller, kept
        Assert.Equal(-1.1, s[2], 12);        // ratio 1.1 inside the range
        Assert.Equal(-0.8, s[3], 12);        // ratio 0.7 < 0.8 with A < 0: min(−0.7, −0.8) = −0.8
        var bad = Assert.ThrowsAny<ArgumentException>(() => PolicyGradient.ClippedSurrogate(logp, old, adv, 0));
        Assert.Contains("clip the probability ratio", bad.Message);
    }

    [Fact]
    public void GrpoOptionsRefuseBadSettingsWithTheirReason()
    {
        Assert.Contains("at least 2 samples", Assert.ThrowsAny<ArgumentException>(() => new GrpoOptions { GroupSize = 1 }.Validate()).Message);
        Assert.Contains("negative β would reward drifting", Assert.ThrowsAny<ArgumentException>(() => new GrpoOptions { Beta = -0.1 }.Validate()).Message);
        Assert.Contains("clip the probability ratio", Assert.ThrowsAny<ArgumentException>(() => new GrpoOptions { ClipEpsilon = 0 }.Validate()).Message);
        Assert.Contains("temperature must be above 0", Assert.ThrowsAny<ArgumentException>(() => new GrpoOptions { Temperature = 0 }.Validate()).Message);
    }

    static readonly CharTokenizer Digits = new(Enumerable.Range(0, 11).Select(i => i < 10 ? i.ToString() : "$"));

    [Fact]
    public void GrpoStopsOnANanRewardNamingThePromptAndCompletion()
    {
        using var policy = Untrained();
        using var reference = policy.Copy(frozen: true);
        using var grpo = new GrpoTrainer(policy, reference, Rewards.Each(c => c.Response.Count > 100 ? 0 : double.NaN), Digits, 10, 0, new GrpoOptions { GroupSize = 2, MaxNewTokens = 3 });
        var e = Assert.Throws<InvalidOperationException>(() => grpo.Step([Digits.Encode("12")], 0));
        Assert.True(e.Message.Contains("returned NaN for prompt «12» and completion «"), e.Message);
    }

    [Fact]
    public void GrpoRaisesTheRewardOfAToyTaskAndLeavesTheReferenceAlone()
    {
        // Reward: the share of response tokens that are 7. An untrained model writes 7 about 1 time in 11.
        using var policy = Untrained(21);
        using var reference = policy.Copy(frozen: true);
        var before = reference.parameters().Select(p => p.clone()).ToList();
        double Reward(Completion c) => c.Content.Count == 0 ? 0 : c.Content.Count(t => t == 7) / (double)c.Content.Count;
        using var grpo = new GrpoTrainer(policy, reference, Rewards.Each(Reward), Digits, stopToken: 10, padToken: 0,
                                         new GrpoOptions { GroupSize = 8, MaxNewTokens = 4, LearningRate = 3e-3, InnerEpochs = 2, Beta = 0.01 });
        var prompts = new[] { L(1, 2), L(3, 4), L(5, 6), L(8, 9) };
        for (int s = 0; s < 25; s++) grpo.Step(prompts, s);
        double early = grpo.History.Take(3).Average(h => h.MeanReward), late = grpo.History.TakeLast(3).Average(h => h.MeanReward);
        Assert.True(late > early + 0.3, $"mean reward {early:F3} → {late:F3}");
        Assert.True(grpo.History[^1].Kl > 0);
        Assert.All(reference.parameters().Zip(before), pair => Assert.True(pair.First.equal(pair.Second).all().item<bool>()));
    }

    [Fact]
    public void ResponseTaskScoresOnlyTheResponseAndTrainsWithTheTrainer()
    {
        // The response is the prompt's tokens reversed, then the end token 10.
        var random = new Random(4);
        var pairs = Enumerable.Range(0, 64).Select(_ =>
        {
            var p = Enumerable.Range(0, 3).Select(_ => random.Next(10)).ToArray();
            return ((IReadOnlyList<int>)p, (IReadOnlyList<int>)p.Reverse().Append(10).ToArray());
        }).ToList();
        var task = new ResponseTask(pairs, pairs.Take(16).ToList(), padToken: 0);
        using var model = Untrained(8);
        var loss = task.TrainLoss(model, step: 0, part: 0, parts: 1, batchSize: 4, seed: 1);
        Assert.Equal(16, loss.Count);                                                        // 4 pairs × (3 reversed + end)
        using var trainer = new Trainer(model, task, new TrainerOptions { Steps = 150, BatchSize = 16, MaxLr = 1e-2, WarmupSteps = 10, EvalEvery = 150 });
        trainer.Run();
        Assert.True(trainer.History.Validation[^1].Loss < 0.5 * Math.Log(11), $"validation loss {trainer.History.Validation[^1].Loss:F3}");
        var tooLong = Assert.Throws<ArgumentException>(() => new Trainer(model, new ResponseTask([(L(1, 2, 3, 4, 5), L(1, 2, 3, 4, 5))], null, 0), new TrainerOptions()));
        Assert.Contains("5 + 5 = 10 tokens: the model would read 9 of them (all but the last, which is only predicted), more than its context window (8)", tooLong.Message);
    }

    [Fact]
    public void CopyIsIndependentAndFrozenWhenAsked()
    {
        using var model = Untrained();
        using var frozen = model.Copy(frozen: true);
        using var free = model.Copy();
        Assert.All(frozen.parameters(), p => Assert.False(p.requires_grad));
        Assert.False(frozen.training);
        Assert.All(free.parameters(), p => Assert.True(p.requires_grad));
        using (no_grad()) foreach (var p in model.parameters()) p.add_(1);
        var x = tensor(new long[] { 1, 2, 3 }).unsqueeze(0);
        using (no_grad()) Assert.True(frozen.forward(x).allclose(free.forward(x)));
        using (no_grad()) Assert.False(frozen.forward(x).allclose(model.forward(x)));
    }
}
