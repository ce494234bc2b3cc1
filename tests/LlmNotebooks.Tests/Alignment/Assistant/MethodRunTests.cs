using LlmNotebooks.Alignment.Assistant;
using LlmNotebooks.Transformer;

namespace LlmNotebooks.Tests.Alignment.Assistant;

public class MethodRunTests
{
    static readonly AssistantQuestion France = AssistantTask.Questions[0];
    static PolicyReport Report(double score) => new([new AnswerSample(France, "…", true, score, score + 1, 0.1 * score)]);
    static Gpt Tiny() => new(new GptConfig(VocabSize: 8, BlockSize: 4, Layers: 1, Heads: 1, Channels: 4));

    [Fact]
    public void Runs_every_step_in_order_and_evaluates_after_every_k_th_with_step_0_the_start()
    {
        using var policy = Tiny();
        var stepsRun = new List<int>();
        int evaluations = 0;
        var run = MethodRun.Run("m", policy, s => stepsRun.Add(s), p => { Assert.Same(policy, p); return Report(++evaluations); }, Report(0),
                                stateBytes: 123, steps: 6, evalEvery: 2);
        Assert.Equal([0, 1, 2, 3, 4, 5], stepsRun);
        Assert.Equal([0, 2, 4, 6], run.Curve.Select(c => c.Step));
        Assert.Equal([0.0, 1, 2, 3], run.Curve.Select(c => c.Report.TrueScore));
        Assert.Equal(3, run.Final.TrueScore);
        Assert.Equal(123, run.StateBytes);
        Assert.Equal("m", run.Method);
        Assert.True(run.Seconds >= 0);
    }

    [Fact]
    public void Refuses_steps_evaluation_intervals_and_byte_counts_that_make_no_sense()
    {
        using var policy = Tiny();
        Assert.Contains("at least 1 step", Assert.Throws<ArgumentOutOfRangeException>(() => MethodRun.Run("m", policy, _ => { }, _ => Report(0), Report(0), 0, 0, 1)).Message);
        Assert.Contains("every 1 to 4 steps", Assert.Throws<ArgumentOutOfRangeException>(() => MethodRun.Run("m", policy, _ => { }, _ => Report(0), Report(0), 0, 4, 5)).Message);
        Assert.Contains("non-negative", Assert.Throws<ArgumentOutOfRangeException>(() => MethodRun.Run("m", policy, _ => { }, _ => Report(0), Report(0), -1, 4, 2)).Message);
    }
}
