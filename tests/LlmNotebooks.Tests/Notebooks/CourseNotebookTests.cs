using System.Text.Json.Nodes;
using LlmNotebooks.Runner;
using LlmNotebooks.Runner.Book;
using LlmNotebooks.Tests.Browser;
using Xunit.Abstractions;

namespace LlmNotebooks.Tests.Notebooks;

/// <summary>
/// Every notebook of the course, executed top to bottom in the real kernel (the pinned dotnet-interactive tool) through
/// the runner's code: its check cells are the assertions. Also keeps the committed notebooks clean and uniform.
/// </summary>
public class CourseNotebookTests(ITestOutputHelper output)
{
    public static TheoryData<string> Notebooks() =>
        new(NotebookRunner.DefaultNotebooks(TestSetup.RepoRoot).Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(Notebooks))]
    public async Task Runs_top_to_bottom_in_the_real_kernel(string notebook)
    {
        var (result, log) = await KernelRuns.Of(notebook);
        output.WriteLine(log);
        Assert.True(result.Succeeded, $"{notebook} failed at code cell {result.FailedCell?.Number}:\n{result.FailedCell?.Source}\n{result.Error}");
        Assert.Equal(result.CellCount, result.CellsRun);
        Assert.Contains("✓", result.ExecutedText); // check cells printed their passes
        await AssertALearnerSeesEveryChart(result.ExecutedCopy);
    }

    /// <summary>
    /// The executed copy as nbviewer shows it (nbconvert's HTML, with require.js and MathJax), opened in a real browser
    /// with the network cut off: every chart drawn, math typeset, no script error, no request off the machine.
    /// </summary>
    async Task AssertALearnerSeesEveryChart(string executedCopy)
    {
        if (HeadlessBrowser.ExecutablePath is null || Nbconvert.Executable is null)
        {
            string why = HeadlessBrowser.ExecutablePath is null ? HeadlessBrowser.SkipReason : Nbconvert.SkipReason;
            Assert.False(HeadlessBrowser.Required, why);
            output.WriteLine(why);
            return;
        }
        var notebook = JsonNode.Parse(File.ReadAllText(executedCopy))!;
        var cells = notebook["cells"]!.AsArray();
        int charts = cells.Sum(c => (c!["outputs"]?.AsArray() ?? []).Count(o => o!["data"]?["text/html"]?.ToString().Contains(LlmNotebooks.Charts.ChartHtml.DivClass) == true));
        bool hasMath = cells.Any(c => c!["cell_type"]!.GetValue<string>() == "markdown" && c["source"]!.ToString().Contains('$'));
        Assert.Equal("C#", notebook["metadata"]!["language_info"]!["name"]!.GetValue<string>());

        string html = Nbconvert.ToHtml(executedCopy, Path.Combine(Path.GetDirectoryName(executedCopy)!, "html"));
        var page = await HeadlessBrowser.OpenAsync(html, expectMath: hasMath);
        output.WriteLine(page.ToString());
        Assert.True(charts > 0, "the executed copy has chart outputs");
        Assert.Equal(charts, page.ChartDivs);
        Assert.True(page.DrawnCharts == page.ChartDivs, $"every chart is drawn: {page}");
        Assert.True(page.ScriptErrors.Count == 0, $"no script errors: {page}");
        Assert.True(page.ExternalRequests.Count == 0, $"no request leaves the machine: {page}");
        Assert.True(page.ClippedTitles.Count == 0, $"every chart's title fits its chart: {page}");
        if (hasMath) Assert.True(page.MathJaxRendered > 0, $"math is typeset: {page}");

        await AssertTheBookPageShowsIt(executedCopy, charts, hasMath);
    }

    /// <summary>
    /// The same executed copy as a page of the offline book (the runner's BookBuilder), opened from file:// with the
    /// network cut off: every chart drawn by the book's own plotly.js, KaTeX rendered every formula (none left as
    /// source, no KaTeX error), no script error, no request off the machine. Where KaTeX could not be fetched from the
    /// npm registry the book leaves math as TeX source, as the course command does, and says so; then only that is checked.
    /// </summary>
    async Task AssertTheBookPageShowsIt(string executedCopy, int charts, bool hasMath)
    {
        string bookDir = Path.Combine(Path.GetDirectoryName(executedCopy)!, "book-" + Path.GetFileNameWithoutExtension(executedCopy));
        var log = new StringWriter();
        var pages = BookBuilder.Build([new BookChapter(executedCopy, ChapterStatus.Ran)], bookDir, log);
        output.WriteLine(log.ToString());
        Assert.Equal(2, pages.Count);
        bool katex = File.Exists(Path.Combine(bookDir, BookBuilder.AssetsFolder, "katex", "katex.min.js"));

        var page = await HeadlessBrowser.OpenAsync(pages[1], expectMath: hasMath && katex);
        output.WriteLine("book: " + page);
        Assert.Equal(charts, page.ChartDivs);
        Assert.True(page.DrawnCharts == page.ChartDivs, $"every chart of the book page is drawn: {page}");
        Assert.True(page.ScriptErrors.Count == 0, $"no script errors on the book page: {page}");
        Assert.True(page.ExternalRequests.Count == 0, $"the book page makes no request off the machine: {page}");
        Assert.True(page.ClippedTitles.Count == 0, $"every chart's title fits its chart on the book page: {page}");
        if (!hasMath) return;
        if (katex)
        {
            Assert.True(page.KatexRendered > 0, $"KaTeX rendered the math: {page}");
            Assert.True(page.KatexErrors == 0 && page.UnrenderedMathSpans == 0, $"every formula rendered, none left as source: {page}");
        }
        else
        {
            Assert.Contains("KaTeX", log.ToString());
            output.WriteLine("KaTeX was not available, so the book page shows its math as TeX source (see the warning above).");
        }
    }

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Is_committed_clean_with_polyglot_metadata_and_the_shared_first_cell(string notebook)
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(TestSetup.RepoRoot, "notebooks", notebook)))!;
        Assert.Equal(".net-csharp", root["metadata"]!["kernelspec"]!["name"]!.GetValue<string>());
        Assert.Equal("csharp", root["metadata"]!["polyglot_notebook"]!["kernelInfo"]!["defaultKernelName"]!.GetValue<string>());
        var code = root["cells"]!.AsArray().Where(c => c!["cell_type"]!.GetValue<string>() == "code").ToList();
        Assert.All(code, c =>
        {
            Assert.Empty(c!["outputs"]!.AsArray());
            Assert.Equal("csharp", c["metadata"]!["polyglot_notebook"]!["kernelName"]!.GetValue<string>());
        });
        var doc = NotebookDocument.Load(Path.Combine(TestSetup.RepoRoot, "notebooks", notebook));
        Assert.Equal(TestNotebooks.SetupCell, doc.CodeCells[0].Source.Replace("\r\n", "\n"));
    }
}
