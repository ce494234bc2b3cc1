using LlmNotebooks.Scaling;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;

namespace LlmNotebooks.Tests.Scaling;

public class ScalingSweepTests
{
    [Fact]
    public void Each_size_gets_the_same_budget_and_a_validation_curve_against_tokens()
    {
        var rng = new System.Random(3);
        var text = Enumerable.Range(0, 3000).Select(i => i % 7 == 0 ? rng.Next(11) : i % 11).ToArray();
        var train = new TokenBatches(text[..2500], 8);
        var validation = new TokenBatches(text[2500..], 8);
        var options = new TrainerOptions { Steps = 20, BatchSize = 4, WarmupSteps = 2, EvalEvery = 10, EvalBatches = 2 };
        var configs = new[] { GptConfig.Tiny, GptConfig.Tiny with { Channels = 32 } };
        var runs = ScalingSweep.Run(configs, train, validation, options);
        Assert.Equal(2, runs.Count);
        Assert.True(runs[1].NonEmbeddingParameters > runs[0].NonEmbeddingParameters);
        Assert.Equal(GptConfig.Tiny.ParameterCount() - 11 * 16 - 8 * 16, runs[0].NonEmbeddingParameters);
        Assert.Equal(new long[] { 320, 640 }, runs[0].Curve.Select(c => c.Tokens));
        Assert.Equal(runs[0].Curve[^1].Loss, runs[0].ValidationLoss);
        Assert.Equal(runs.Select(r => r.ValidationLoss), ScalingSweep.Run(configs, train, validation, options).Select(r => r.ValidationLoss));
    }
}
