using LlmNotebooks.Charts;
using LlmNotebooks.Notebook;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Notebook;

public class HtmlPageSinkTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llmnb-page-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_page_holds_each_shown_value_as_the_notebook_shows_it_with_plotly_beside_it()
    {
        string page = Path.Combine(_dir, "01-test.html");
        var sink = new HtmlPageSink(page, "01-test", captureConsole: false);
        sink.Show(Plot.Lines("a line", "x", "y", ("y = x", new double[] { 0, 1 }, new double[] { 0, 1 })));
        sink.Show(ones(2, 2));
        sink.Show("a <string>");
        sink.Show(3.5);
        string html = File.ReadAllText(page);
        Assert.Contains($"<script src=\"assets/{PlotlyJs.FileName}\"", html);
        Assert.True(File.Exists(Path.Combine(_dir, "assets", PlotlyJs.FileName)));
        Assert.Equal(1, html.Split($"class=\"{ChartHtml.DivClass}\"").Length - 1);
        Assert.Contains(TensorView.ToHtml(ones(2, 2)), html);
        Assert.Contains("<pre>a &lt;string&gt;</pre>", html);
        Assert.Contains("<pre>3.5</pre>", html);
        Assert.Equal("[chart: a line]", ConsoleDisplaySink.Text(Plot.Lines("a line", "x", "y", ("y = x", new double[] { 0, 1 }, new double[] { 0, 1 }))));
    }
}
