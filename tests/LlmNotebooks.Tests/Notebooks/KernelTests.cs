using System.Text.RegularExpressions;
using LlmNotebooks.Runner;
using LlmNotebooks.Tests.Browser;
using Xunit.Abstractions;

namespace LlmNotebooks.Tests.Notebooks;

/// <summary>
/// What learners see, checked in the real kernel: every chart kind the course uses renders (Plotly.NET 6 needs the
/// FSharp.Core fix there), tensors and tables display, live progress updates in place; and the runner stops at a
/// failing cell, enforces the per-cell time limit and reports both clearly.
/// </summary>
public class KernelTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llmnb-kernel-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    async Task<NotebookResult> Run(string[] cells, TimeSpan? cellTimeout = null)
    {
        string path = Path.Combine(_dir, "test.ipynb");
        File.WriteAllText(path, TestNotebooks.Build(cells));
        var log = new StringWriter();
        var result = await NotebookRunner.RunAsync(path, new RunOptions
        {
            RepoRoot = TestSetup.RepoRoot,
            OutputDirectory = Path.Combine(_dir, "executed"),
            WorkingDirectory = Path.Combine(TestSetup.RepoRoot, "notebooks"), // where the shared first cell expects to be
            CellTimeout = cellTimeout ?? TimeSpan.FromMinutes(2),
            Log = log,
        });
        output.WriteLine(log.ToString());
        return result;
    }

    [Fact]
    public async Task Charts_tensors_tables_and_progress_display_in_the_real_kernel()
    {
        var result = await Run([
            TestNotebooks.SetupCell,
            "double[] x = { 1, 2, 3 }; var z = new double[,] { { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } };",
            "Plot.Lines(\"line chart\", \"x\", \"y\", (\"a\", x, x))",
            "Plot.Points(\"scatter chart\", \"x\", \"y\", x, x)",
            "Plot.Bars(\"bar chart\", new[] { \"a\", \"b\", \"c\" }, x)",
            "Plot.Heatmap(z, new[] { \"r1\", \"r2\", \"r3\" }, new[] { \"c1\", \"c2\", \"c3\" }, \"heatmap chart\")",
            "Plot.Contour(x, x, z, \"contour chart\")",
            "Plot.Surface(x, x, z, \"surface chart\")",
            "Plot.LogLogFit(x, new[] { 3.0, 1.5, 1.0 }, \"loglog chart\").Chart",
            "Plot.LossCurves(new[] { (1, 3.0), (2, 2.0) }, new[] { (2, 2.5) }, floor: 1.0, title: \"loss chart\")",
            "arange(10_000, dtype: float32).reshape(100, 100)",
            "new Microsoft.Data.Analysis.DataFrame(new Microsoft.Data.Analysis.Int32DataFrameColumn(\"col\", new[] { 7, 8 }))",
            "using (var p = LiveProgress.Start(\"demo loop\", 5)) for (int i = 1; i <= 5; i++) { System.Threading.Thread.Sleep(100); p.Report(i, 1.0 / i); }",
        ]);
        Assert.True(result.Succeeded, result.Error);
        string text = result.ExecutedText.Replace("\\\"", "\"");
        foreach (string kind in new[] { "scatter", "bar", "heatmap", "contour", "surface" })
            Assert.Contains($"\"type\":\"{kind}\"", text);
        foreach (string title in new[] { "line chart", "scatter chart", "bar chart", "heatmap chart", "contour chart", "surface chart", "loglog chart", "loss chart" })
            Assert.Contains(title, text);
        Assert.Single(Regex.Matches(text, LlmNotebooks.Charts.PlotlyJs.MarkerAttribute + "=")); // plotly.js once, from the first cell
        Assert.Equal(8, Regex.Matches(text, "class=\"" + LlmNotebooks.Charts.ChartHtml.DivClass + "\"").Count);
        Assert.Contains("Tensor (100, 100) float32 cpu", text);
        Assert.Contains("…", text);
        Assert.Contains(">col<", text);
        Assert.Contains("demo loop 5/5 (100%)", text);    // the display was updated in place to its final state
        Assert.DoesNotContain("demo loop 1/5", text);     // ... not appended as new outputs
        Assert.DoesNotContain("FileNotFoundException", text);

        // What a learner sees: the outputs in one page, as VS Code's output view and JupyterLab hold them (no
        // require.js), and as nbconvert/nbviewer show them (require.js), drawn by a real browser with no network.
        if (HeadlessBrowser.ExecutablePath is null) { Assert.False(HeadlessBrowser.Required, HeadlessBrowser.SkipReason); output.WriteLine(HeadlessBrowser.SkipReason); return; }
        var live = await HeadlessBrowser.OpenAsync(OutputsPage.Write(result.ExecutedCopy, Path.Combine(_dir, "live.html")));
        output.WriteLine(live.ToString());
        Assert.Equal(8, live.ChartDivs);
        Assert.Equal(8, live.DrawnCharts);
        Assert.Empty(live.ScriptErrors);
        Assert.Empty(live.ExternalRequests);
        if (Nbconvert.Executable is null) { Assert.False(HeadlessBrowser.Required, Nbconvert.SkipReason); output.WriteLine(Nbconvert.SkipReason); return; }
        var viewer = await HeadlessBrowser.OpenAsync(Nbconvert.ToHtml(result.ExecutedCopy, Path.Combine(_dir, "html")));
        output.WriteLine(viewer.ToString());
        Assert.Equal(8, viewer.DrawnCharts);
        Assert.Empty(viewer.ScriptErrors);
        Assert.Empty(viewer.ExternalRequests);
    }

    [Fact]
    public async Task The_runner_stops_at_the_first_failing_cell_and_reports_it()
    {
        var result = await Run([
            "var ok = 1;",
            "throw new InvalidOperationException(\"boom from cell two\");",
            "System.IO.File.WriteAllText(\"should-not-exist.txt\", \"ran\");",
        ]);
        Assert.False(result.Succeeded);
        Assert.Equal(2, result.FailedCell?.Number);
        Assert.Equal(2, result.CellsRun);
        Assert.Contains("boom from cell two", result.Error);
        Assert.Contains("boom from cell two", result.ExecutedText); // the executed copy keeps the error output
        Assert.False(File.Exists(Path.Combine(TestSetup.RepoRoot, "notebooks", "should-not-exist.txt")));
    }

    [Fact]
    public async Task Compile_errors_are_reported_with_their_message()
    {
        var result = await Run(["int x = \"not a number\";"]);
        Assert.False(result.Succeeded);
        Assert.Contains("CS0029", result.Error);
    }

    [Fact]
    public async Task A_cell_over_the_time_limit_is_stopped_with_a_clear_message()
    {
        // The limit leaves a fresh kernel room to compile its first cell on a busy machine (it took 3.0 s once beside a
        // notebook test), and stays far below the sleep it must stop.
        var result = await Run(["1 + 1", "System.Threading.Thread.Sleep(600_000);"], cellTimeout: TimeSpan.FromSeconds(20));
        Assert.False(result.Succeeded);
        Assert.Equal(2, result.FailedCell?.Number);
        Assert.Contains("did not finish within 20 s", result.Error);
        Assert.Contains("--cell-timeout", result.Error);
    }
}
