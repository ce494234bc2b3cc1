using System.Diagnostics;
using System.Text.Json.Nodes;
using LlmNotebooks.Runner;
using LlmNotebooks.Tests.Browser;
using Xunit.Abstractions;

namespace LlmNotebooks.Tests.Runner;

/// <summary>The runner's export of notebooks as .NET file-based apps (AppExporter), on small notebooks written here.</summary>
public class AppExporterTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llmnb-apps-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    AppExport Export(params string[] cells)
    {
        string path = Path.Combine(_dir, "nb.ipynb");
        File.WriteAllText(path, TestNotebooks.Build(cells));
        return AppExporter.Export(NotebookDocument.Load(path), "../../src/LlmNotebooks", "notebooks/nb.ipynb");
    }

    static int At(string source, string text)
    {
        int i = source.IndexOf(text, StringComparison.Ordinal);
        Assert.True(i >= 0, $"'{text}' in:\n{source}");
        return i;
    }

    [Fact]
    public void The_setup_cell_becomes_project_directives_and_a_shown_summary()
    {
        var app = Export(TestNotebooks.SetupCell);
        Assert.Empty(app.Violations);
        Assert.Contains("#:project ../../src/LlmNotebooks\n", app.Source);
        Assert.Contains("#:package TorchSharp-cpu\n", app.Source);
        Assert.Contains("#:property PublishAot=false\n", app.Source);
        Assert.DoesNotContain("#r ", app.Source);
        Assert.Contains("Course.Show(Course.Setup());", app.Source);
        Assert.True(At(app.Source, "using static TorchSharp.torch;") < At(app.Source, "Course.Show(Course.Setup())"));
    }

    [Fact]
    public void Trailing_expressions_and_display_calls_go_to_Course_Show_and_statements_stay()
    {
        var app = Export(TestNotebooks.SetupCell, "var a = 1;\ndisplay(a + 1);\na * 3", "Console.WriteLine(a);", "a // a comment after");
        Assert.Contains("Course.Show(a + 1);", app.Source);
        Assert.Contains("Course.Show(a * 3);", app.Source);
        Assert.Contains("Console.WriteLine(a);", app.Source);
        Assert.DoesNotContain("Course.Show(Console", app.Source);
        Assert.Contains("Course.Show(a);", app.Source);
    }

    [Fact]
    public void Usings_go_to_the_top_types_after_the_statements_and_methods_stay_as_local_functions()
    {
        var app = Export(TestNotebooks.SetupCell,
            "record Point(double X, double Y);\nvar p = new Point(1, 2);",
            "using System.Numerics;\npublic static double Twice(double x) => 2 * x;\nTwice(p.X)",
            "class Box { public int Size = 3; }\nnew Box().Size");
        Assert.Empty(app.Violations);
        Assert.True(At(app.Source, "using System.Numerics;") < At(app.Source, "var p = new Point(1, 2);"));
        Assert.Contains("static double Twice(double x) => 2 * x;", app.Source);
        Assert.DoesNotContain("public static double Twice", app.Source);
        int lastStatement = At(app.Source, "Course.Show(new Box().Size);");
        Assert.True(At(app.Source, "record Point(double X, double Y);") > lastStatement);
        Assert.True(At(app.Source, "class Box") > lastStatement);
    }

    [Fact]
    public void A_variable_declared_again_is_renamed_from_that_cell_on_keeping_inferred_names()
    {
        var app = Export(TestNotebooks.SetupCell, "var x = 1;\nvar y = x;", "var x = 2;\nvar t = (x, y);\nvar o = new { x };", "x + t.x + o.x");
        Assert.Contains("var x = 1;", app.Source);
        Assert.Contains("var y = x;", app.Source);
        Assert.Contains("var x_3 = 2;", app.Source);
        Assert.Contains("var t = (x: x_3, y);", app.Source);
        Assert.Contains("new { x = x_3 }", app.Source);
        Assert.Contains("Course.Show(x_3 + t.x + o.x);", app.Source);
        Assert.Equal(["cell 3: x → x_3 (declared again; a program declares a name once)"], app.Renames);
    }

    [Fact]
    public void A_loop_variable_with_a_top_level_name_is_renamed_inside_its_loop_only_and_lambdas_may_shadow()
    {
        var app = Export(TestNotebooks.SetupCell,
            "foreach (var n in new[] { 1, 2 }) Console.WriteLine(n);",
            "var n = 5;\nvar squares = new[] { 1, 2 }.Select(n => n * n).ToList();\nn");
        Assert.Contains("foreach (var n_in2 in new[] { 1, 2 }) Console.WriteLine(n_in2);", app.Source);
        Assert.Contains("var n = 5;", app.Source);
        Assert.Contains(".Select(n => n * n)", app.Source);
        Assert.Contains("Course.Show(n);", app.Source);
    }

    [Fact]
    public void Kernel_directives_outside_the_first_cell_and_other_languages_are_violations()
    {
        string path = Path.Combine(_dir, "fs.ipynb");
        var root = JsonNode.Parse(TestNotebooks.Build([TestNotebooks.SetupCell, "#r \"nuget: Humanizer, 3.0.10\"\nvar h = 1;", "let x = 1"]))!;
        root["cells"]![2]!["metadata"]!["polyglot_notebook"]!["kernelName"] = "fsharp";
        File.WriteAllText(path, root.ToJsonString());
        var app = AppExporter.Export(NotebookDocument.Load(path), "../../src/LlmNotebooks", "fs.ipynb");
        Assert.Equal(2, app.Violations.Count);
        Assert.Contains("cell 2: kernel directive '#r \"nuget: Humanizer, 3.0.10\"' outside the first cell", app.Violations[0]);
        Assert.Contains("cell 3: a fsharp cell", app.Violations[1]);
        Assert.Contains("var h = 1;", app.Source);
    }

    [Fact]
    public void A_nuget_reference_in_the_first_cell_becomes_a_package_directive()
    {
        var app = Export("#r \"nuget: Humanizer, 3.0.10\"\n" + TestNotebooks.SetupCell);
        Assert.Empty(app.Violations);
        Assert.Contains("#:package Humanizer@3.0.10\n", app.Source);
    }

    /// <summary>The rules that make the export exact hold for every chapter (renames are allowed and listed).</summary>
    [Theory]
    [MemberData(nameof(CourseAppTests.Notebooks), MemberType = typeof(CourseAppTests))]
    public void Every_course_notebook_exports_exactly(string notebook)
    {
        var doc = NotebookDocument.Load(Path.Combine(TestSetup.RepoRoot, "notebooks", notebook));
        var app = AppExporter.Export(doc, "../../src/LlmNotebooks", "notebooks/" + notebook);
        Assert.True(app.Violations.Count == 0, string.Join("\n", app.Violations));
        // The renames the course's notebooks need today (a notebook may reuse a name; see AppExporter).
        var known = new Dictionary<string, string[]>
        {
            ["04-pretraining.ipynb"] = ["cell 17: pieces → pieces_in17 inside a ForEachStatement (a top-level variable has that name)"],
        };
        Assert.Equal(known.GetValueOrDefault(notebook, []), app.Renames);
    }
}

/// <summary>
/// A chapter exported as a file-based app and run with <c>dotnet run</c> (no kernel) prints the same check lines as the
/// notebook run in the real kernel, and writes a page whose charts draw offline. Slow (the notebook, then the app's
/// build and run): about a minute and a half for chapter 1 on two cores.
/// </summary>
public class CourseAppTests(ITestOutputHelper output)
{
    public static TheoryData<string> Notebooks() =>
        new(NotebookRunner.DefaultNotebooks(TestSetup.RepoRoot).Select(Path.GetFileName)!);

    /// <summary>
    /// Every chapter runs as an app. Set LLMNB_APP_CHAPTERS to a comma-separated list of prefixes ("00,01") to run only
    /// those (a quick local check); unset or "all", every chapter.
    /// </summary>
    public static TheoryData<string> AppNotebooks()
    {
        string? only = Environment.GetEnvironmentVariable("LLMNB_APP_CHAPTERS");
        var prefixes = string.IsNullOrWhiteSpace(only) || only == "all" ? null : only.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return new(NotebookRunner.DefaultNotebooks(TestSetup.RepoRoot).Select(p => Path.GetFileName(p))
                                 .Where(n => prefixes is null || prefixes.Any(n.StartsWith)));
    }

    [Theory]
    [MemberData(nameof(AppNotebooks))]
    public async Task Runs_as_an_app_with_the_notebooks_checks_and_charts(string notebook)
    {
        string root = TestSetup.RepoRoot;
        var (result, _) = await LlmNotebooks.Tests.Notebooks.KernelRuns.Of(notebook);   // shared with the notebook's own test: the kernel runs once
        Assert.True(result.Succeeded, $"{notebook} failed in the kernel at cell {result.FailedCell?.Number}: {result.Error}");
        var executed = JsonNode.Parse(result.ExecutedText)!["cells"]!.AsArray();
        var outputs = executed.SelectMany(c => c!["outputs"]?.AsArray() ?? []).ToList();
        var notebookChecks = outputs.SelectMany(o => (o!["text"]?.ToString() ?? "").Split('\n')).Select(l => l.TrimEnd('\r'))
            .Where(l => l.StartsWith('✓')).ToList();
        int notebookCharts = outputs.Count(o => o!["data"]?["text/html"]?.ToString().Contains(LlmNotebooks.Charts.ChartHtml.DivClass) == true);

        var clock = Stopwatch.StartNew();
        string apps = Path.Combine(root, "artifacts", "test-apps");
        var (app, export) = AppExporter.ExportTo(Path.Combine(root, "notebooks", notebook), apps, root);
        Assert.Empty(export.Violations);
        string page = Path.ChangeExtension(app, ".html");
        File.Delete(page);
        var run = Process.Start(new ProcessStartInfo("dotnet", ["run", app]) { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stderr = run.StandardError.ReadToEndAsync();
        string stdout = await run.StandardOutput.ReadToEndAsync();
        await run.WaitForExitAsync();
        output.WriteLine($"export + build + run of {Path.GetFileName(app)}: {clock.Elapsed.TotalSeconds:F1} s (notebook in the kernel: {result.Duration.TotalSeconds:F1} s)");
        Assert.True(run.ExitCode == 0, $"dotnet run {app} exited {run.ExitCode}:\n{stdout[^Math.Min(stdout.Length, 3000)..]}\n{await stderr}");
        var appChecks = stdout.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith('✓')).ToList();
        Assert.NotEmpty(notebookChecks);
        // Timings and machine-dependent numbers appear in some check lines: compare what was checked, in order.
        Assert.Equal(notebookChecks.Select(Stable), appChecks.Select(Stable));
        output.WriteLine($"{appChecks.Count} check lines, the same as the notebook's");

        Assert.True(File.Exists(page), $"the app wrote its page {page}");
        string html = File.ReadAllText(page);
        int pageCharts = html.Split("class=\"" + LlmNotebooks.Charts.ChartHtml.DivClass + "\"").Length - 1;
        Assert.Equal(notebookCharts, pageCharts);
        Assert.All(appChecks, l => Assert.Contains(System.Net.WebUtility.HtmlEncode(l), html));   // the console's text is on the page

        if (HeadlessBrowser.ExecutablePath is null)
        {
            Assert.False(HeadlessBrowser.Required, HeadlessBrowser.SkipReason);
            output.WriteLine(HeadlessBrowser.SkipReason);
            return;
        }
        var report = await HeadlessBrowser.OpenAsync(page);
        output.WriteLine(report.ToString());
        Assert.Equal(pageCharts, report.ChartDivs);
        Assert.True(report.DrawnCharts == report.ChartDivs, $"every chart of the app's page is drawn: {report}");
        Assert.True(report.ScriptErrors.Count == 0 && report.ExternalRequests.Count == 0, report.ToString());
        Assert.True(report.ClippedTitles.Count == 0, $"every chart's title fits its chart: {report}");
    }

    /// <summary>A check line without its numbers (timings and speeds differ from run to run).</summary>
    static string Stable(string line) => System.Text.RegularExpressions.Regex.Replace(line, @"[-+]?\d[\d.,]*(E[-+]?\d+)?", "#");
}
