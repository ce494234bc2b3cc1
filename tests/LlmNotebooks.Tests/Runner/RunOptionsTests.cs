using LlmNotebooks.Runner;

namespace LlmNotebooks.Tests.Runner;

/// <summary>
/// The course command on a slow machine: no per-cell limit unless asked for (chapter 4's training cell takes ~130 s on a
/// quiet 2-core machine and over 300 s on a busy one), and "still running" lines while a long cell runs.
/// </summary>
public class RunOptionsTests
{
    [Fact]
    public void By_default_a_cell_has_no_time_limit_and_progress_is_shown_every_30_seconds()
    {
        var options = new RunOptions { RepoRoot = "/course" };
        Assert.Equal(Timeout.InfiniteTimeSpan, options.CellTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), options.ProgressEvery);
    }

    [Fact]
    public void A_long_cell_s_progress_line_names_the_cell_and_the_time_so_far()
    {
        var cell = new CodeCell(Index: 9, Number: 4, KernelName: "csharp", Source: "\n  var history = trainer.Run();\nConsole.WriteLine(history);");
        Assert.Equal("  [4/12] still running after 90 s: var history = trainer.Run();", NotebookRunner.StillRunning(cell, 12, TimeSpan.FromSeconds(90.4)));
    }

    [Fact]
    public void The_readme_and_the_usage_line_say_there_is_no_default_limit()
    {
        string readme = File.ReadAllText(Path.Combine(TestSetup.RepoRoot, "README.md"));
        Assert.Contains("per-cell limit in seconds (default: none;", readme);
        Assert.DoesNotContain("default 300", readme);
        string program = File.ReadAllText(Path.Combine(TestSetup.RepoRoot, "src", "LlmNotebooks.Runner", "Program.cs"));
        Assert.Contains("--cell-timeout SECONDS (default: no limit)", program);
    }
}
