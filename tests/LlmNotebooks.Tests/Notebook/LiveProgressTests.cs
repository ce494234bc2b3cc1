using LlmNotebooks.Notebook;

namespace LlmNotebooks.Tests.Notebook;

[Collection("Console")]   // reads the console: nothing else may print meanwhile
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
        try { using var p = LiveProgress.Start("loop", 10, consoleEvery: TimeSpan.FromHours(1)); p.Report(3, loss: 0.5); }
        finally { Console.SetOut(previous); }
        var lines = sw.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains(", ETA ", lines[0]);                          // while running
        Assert.StartsWith("loop stopped at step 3 of 10 (30%) loss 0.5000", lines[1]);
        Assert.DoesNotContain("ETA", lines[1]);                       // a stopped run has nothing left to wait for
    }

    [Fact]
    public void Stop_ends_the_run_once_and_freezes_its_line()
    {
        var previous = Console.Out;
        var sw = new StringWriter();
        Console.SetOut(sw);
        string afterStop;
        try
        {
            using var p = LiveProgress.Start("early stopping", 100, consoleEvery: TimeSpan.FromHours(1));
            p.Report(40, loss: 1.25);
            p.Stop("validation loss stopped improving");
            afterStop = p.Line();
            p.Report(41);                                               // ignored for the final line: the run is over
            p.Stop();
        }
        finally { Console.SetOut(previous); }
        var lines = sw.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);                                  // first report, then one final line (Dispose adds none)
        Assert.StartsWith("early stopping stopped at step 40 of 100 (40%) loss 1.2500 · validation loss stopped improving · ", lines[1]);
        Assert.DoesNotContain("ETA", afterStop);
    }

    [Fact]
    public void A_finished_run_has_no_ETA_and_no_stop_notice()
    {
        var previous = Console.Out;
        var sw = new StringWriter();
        Console.SetOut(sw);
        try
        {
            using var p = LiveProgress.Start("loop", 2, consoleEvery: TimeSpan.FromHours(1));
            p.Report(1); p.Report(2);
        }
        finally { Console.SetOut(previous); }
        string last = sw.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        Assert.StartsWith("loop 2/2 (100%)", last);
        Assert.DoesNotContain("ETA", last);
        Assert.DoesNotContain("stopped", last);
    }

    [Fact]
    public void A_resumed_run_that_stops_again_says_where()
    {
        var previous = Console.Out;
        var sw = new StringWriter();
        Console.SetOut(sw);
        try { using var p = LiveProgress.Start("training", 500, consoleEvery: TimeSpan.FromHours(1), firstStep: 200); p.Report(201); p.Report(250); }
        finally { Console.SetOut(previous); }
        Assert.StartsWith("training stopped at step 250 of 500 (50%)", sw.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
    }

    [Fact]
    public void Zero_steps_is_an_error() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => LiveProgress.Start("x", 0));
}
