using LlmNotebooks.Autograd;
using LlmNotebooks.Charts;
using Plotly.NET;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Browser;

/// <summary>
/// Every chart kind the course uses, drawn by a real browser from the HTML the notebook formatter writes, in the
/// situations learners meet: the notebook's first cell delivered plotly.js (offline, with and without require.js), a
/// live kernel online without it (VS Code, JupyterLab: a script tag; classic Jupyter, nbviewer: require.js), and
/// offline without it (a message, not a blank).
/// </summary>
public class ChartBrowserTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llmnb-charts-").FullName;

    public void Dispose() { if (Environment.GetEnvironmentVariable("LLMNB_KEEP_PAGES") is null) Directory.Delete(_dir, recursive: true); else output.WriteLine($"pages kept in {_dir}"); }

    /// <summary>Debian's require.js (package libjs-requirejs), which nbconvert's HTML also loads; CI installs it.</summary>
    static readonly string? RequireJs = new[] { Environment.GetEnvironmentVariable("LLMNB_REQUIREJS"), "/usr/share/javascript/requirejs/require.min.js" }
        .FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p));

    static IReadOnlyList<GenericChart> EveryKind()
    {
        double[] x = [1, 2, 3, 4];
        var z = new double[,] { { 0.1, 0.9, 0.5 }, { 0.7, 0.2, 0.3 }, { 0.0, 1.0, 0.4 } };
        var a = new Value(2, "a"); var b = new Value(-3, "b"); var c = a * b + a; c.Label = "c";
        using var weights = softmax(arange(48, dtype: float32).reshape(3, 4, 4) / 10, -1);
        return [
            Plot.Lines("lines", "x", "y", ("a", x, x), ("b", x, x.Select(v => v * v))),
            Plot.Points("points", "x", "y", x, x, labels: ["p", "q", "r", "s"]),
            Plot.Bars("bars", ["a", "b", "c"], [1, 2, 3]),
            Plot.GroupedBars("grouped", ["a", "b"], "p", ("model", [0.2, 0.8]), ("truth", [0.25, 0.75])),
            Plot.LossCurves([(1, 3.0), (2, 2.0), (3, 1.5)], [(2, 2.5)], floor: 1.0),
            Plot.Heatmap(z, ["r1", "r2", "r3"], ["c1", "c2", "c3"], "heatmap"),
            Plot.AttentionHeads(weights, ["w", "x", "y", "z"], title: "heads", columns: 3),
            Plot.Contour(x[..3], x[..3], z, "contour"),
            Plot.Surface(x[..3], x[..3], z, "surface"),
            Plot.LogLogFit(x, [8.0, 4.1, 2.9, 2.0], "loglog").Chart,
            Plot.Slider("slider", "x", "y", "k = ", null, [("1", Plot.Lines("", "x", "y", ("k1", x, x))), ("2", Plot.Lines("", "x", "y", ("k2", x, x.Select(v => 2 * v))))]),
            Plot.ComputationGraph(c),
            Plot.Pixels("pixels", 2, new IReadOnlyList<double>[] { [1, -1, -1, 1], [-1, 1, 1, -1] }, ["x", "o"]),
        ];
    }

    string Page(string name, bool withPlotly, bool withRequire, IReadOnlyList<GenericChart>? charts = null)
    {
        if (withRequire && RequireJs is null)
            throw new InvalidOperationException("require.js not found: install Debian's libjs-requirejs or set LLMNB_REQUIREJS.");
        var html = new System.Text.StringBuilder("<!DOCTYPE html><html><head><meta charset=\"utf-8\">");
        if (withRequire) html.Append($"<script src=\"{new Uri(RequireJs!).AbsoluteUri}\"></script>");
        html.Append("</head><body>");
        if (withPlotly) html.Append("<div class=\"output\">").Append(PlotlyJs.InlineScript()).Append("</div>");
        foreach (var chart in charts ?? EveryKind()) html.Append("<div class=\"output\">").Append(ChartHtml.Render(chart)).Append("</div>");
        html.Append("</body></html>");
        string path = Path.Combine(_dir, name + ".html");
        File.WriteAllText(path, html.ToString());
        return path;
    }

    static string? ServeCdn(string url) => url == PlotlyJs.CdnUrl ? PlotlyJs.Source() : null;

    async Task<PageReport> Open(string page, Func<string, string?>? serve = null)
    {
        var report = await HeadlessBrowser.OpenAsync(page, serve);
        output.WriteLine(report.ToString());
        return report;
    }

    [BrowserTheory]
    [InlineData(false)] // VS Code, JupyterLab, the book
    [InlineData(true)]  // classic Jupyter, nbconvert, nbviewer
    public async Task Offline_with_the_first_cells_plotly_every_chart_draws(bool withRequire)
    {
        var r = await Open(Page(withRequire ? "offline-require" : "offline", withPlotly: true, withRequire));
        Assert.Equal(EveryKind().Count, r.ChartDivs);
        Assert.Equal(r.ChartDivs, r.DrawnCharts);
        Assert.Empty(r.ScriptErrors);
        Assert.Empty(r.ExternalRequests);
        Assert.Empty(r.ClippedTitles);
    }

    /// <summary>The check the notebook and book tests rely on: a title or axis title cut at its chart's edge is reported, a fitting one is not.</summary>
    [BrowserFact]
    public async Task A_title_or_axis_title_longer_than_its_chart_is_reported_as_clipped()
    {
        double[] x = [1, 2, 3];
        string longTitle = string.Concat(Enumerable.Repeat("a title far too long for any chart ", 8)).Trim();
        string longAxis = string.Concat(Enumerable.Repeat("an axis title too long ", 6)).Trim();
        var r = await Open(Page("titles", withPlotly: true, withRequire: false,
            [Plot.Lines("a short title", "x", "y (unit)", ("a", x, x)), Plot.Lines(longTitle, "x", "y", ("a", x, x)), Plot.Lines("fits", "x", longAxis, ("a", x, x))]));
        Assert.Equal(3, r.DrawnCharts);
        Assert.Equal(2, r.ClippedTitles.Count);
        Assert.StartsWith(longTitle, r.ClippedTitles[0]);
        Assert.StartsWith(longAxis, r.ClippedTitles[1]);
    }

    [BrowserTheory]
    [InlineData(false)] // a script tag for the pinned CDN copy, added once
    [InlineData(true)]  // require.js of the pinned CDN copy, as Plotly.NET.Interactive does
    public async Task Online_without_it_the_charts_load_the_pinned_cdn_copy_once(bool withRequire)
    {
        var r = await Open(Page(withRequire ? "online-require" : "online", withPlotly: false, withRequire), ServeCdn);
        Assert.Equal(EveryKind().Count, r.ChartDivs);
        Assert.Equal(r.ChartDivs, r.DrawnCharts);
        Assert.Empty(r.ScriptErrors);
        Assert.Equal([PlotlyJs.CdnUrl], r.ExternalRequests);
        Assert.Equal("2.28.0", PlotlyJs.Version);
    }

    [BrowserFact]
    public async Task Offline_without_it_each_chart_says_how_to_get_plotly_instead_of_staying_blank()
    {
        var r = await Open(Page("nothing", withPlotly: false, withRequire: false));
        Assert.Equal(0, r.DrawnCharts);
        Assert.Contains("run the notebook's first cell", r.ChartMessages);
        Assert.Equal([PlotlyJs.CdnUrl], r.ExternalRequests); // tried once, and was refused
    }
}
