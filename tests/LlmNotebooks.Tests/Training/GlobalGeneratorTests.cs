using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using LlmNotebooks.Recipe;
using LlmNotebooks.Scaling;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Training;

/// <summary>Library calls that need repeatable draws from torch's global generator leave it where the caller left it.</summary>
public class GlobalGeneratorTests
{
    static float[] NextDraws(Action call)
    {
        manual_seed(99);
        call();
        using var draws = rand(5);
        return draws.data<float>().ToArray();
    }

    static readonly float[] Untouched = NextDraws(() => { });

    [Fact]
    public void CourseModel_CreateModel_is_repeatable_and_does_not_reseed_the_callers_generator()
    {
        Gpt? first = null, second = null;
        try
        {
            Assert.Equal(Untouched, NextDraws(() => first = CourseModel.CreateModel()));
            manual_seed(5);
            second = CourseModel.CreateModel();
            foreach (var (a, b) in first!.parameters().Zip(second.parameters())) Assert.True(a.eq(b).all().item<bool>());
        }
        finally { first?.Dispose(); second?.Dispose(); }
    }

    [Fact]
    public void ScalingSweep_does_not_reseed_the_callers_generator()
    {
        var text = Enumerable.Range(0, 600).Select(i => i * 5 % 11).ToArray();
        var data = new TokenBatches(text, 8);
        var options = new TrainerOptions { Steps = 2, BatchSize = 2, WarmupSteps = 1, EvalEvery = 2, EvalBatches = 1 };
        Assert.Equal(Untouched, NextDraws(() => ScalingSweep.Run([GptConfig.Tiny with { Dropout = 0.1 }], data, data, options)));
    }
}
