using LlmNotebooks.Notebook;

namespace LlmNotebooks.Tests.Notebook;

public class LiveProgressTests
{
    [Fact]
    public void Outside_a_notebook_it_prints_plain_lines_and_a_final_one()
    {
        var previous = Console.Out;
        var sw = new StringWriter();
        Console.SetOut(sw);
        try
        {
            using (var p = LiveProgress.Start("training", 4, consoleEvery: TimeSpan.FromHours(1)))
                for (int i = 1; i <= 4; i++) p.Report(i, loss: 4.0 / i, tokens: 1000);
        }
        finally { Console.SetOut(previous); }
        var lines = sw.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length); // the first report and the last, nothing in between
        Assert.StartsWith("training 1/4 (25%) loss 4.0000", lines[0]);
        Assert.StartsWith("training 4/4 (100%) loss 1.0000", lines[1]);
        Assert.Contains("tok/s", lines[1]);
    }

    [Fact]
    public void Stopping_early_is_reported()
    {
        var previous = Console.Out;
        var sw = new StringWriter();
        Console.SetOut(sw);
        try { using var p = LiveProgress.Start("loop", 10); p.Report(3); }
        finally { Console.SetOut(previous); }
        Assert.Contains("(stopped early)", sw.ToString());
    }

    [Fact]
    public void Zero_steps_is_an_error() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => LiveProgress.Start("x", 0));
}
