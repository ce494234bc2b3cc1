using LlmNotebooks.Recipe;
using LlmNotebooks.Scaling;
using LlmNotebooks.Transformer;

namespace LlmNotebooks.Tests.Scaling;

public class ModernBlockLadderTests
{
    [Fact]
    public void EachRungAddsOnePieceAtTheGpt2BlocksParameterCount()
    {
        var ladder = ModernBlockLadder.Build(CourseModel.Config);
        long target = CourseModel.Config.ParameterCount();
        Assert.Equal(6, ladder.Count);
        Assert.Equal(CourseModel.Config, ladder[0].Config);
        Assert.All(ladder, r => Assert.True(Math.Abs(r.Config.ParameterCount() - target) <= 0.005 * target, $"{r.Name}: {r.Config.ParameterCount()} vs {target}"));
        var last = ladder[^1].Config;
        Assert.Equal((NormKind.RmsNorm, PositionKind.Rotary, MlpKind.SwiGlu, false, 2, true),
                     (last.Norm, last.Positions, last.Mlp, last.Bias, last.KeyValueHeads, last.QkNorm));
        // One change per rung (the hidden size aside).
        for (int i = 1; i < ladder.Count; i++)
        {
            GptConfig a = ladder[i - 1].Config with { MlpHidden = null }, b = ladder[i].Config with { MlpHidden = null };
            int differences = new[] { a.Norm != b.Norm, a.Positions != b.Positions, a.Mlp != b.Mlp, a.KvHeads != b.KvHeads, a.QkNorm != b.QkNorm }.Count(d => d);
            Assert.Equal(1, differences);
        }
        Assert.Contains("GPT-2's block", Assert.Throws<ArgumentException>(() => ModernBlockLadder.Build(CourseModel.Config.Modernized())).Message);
    }
}
