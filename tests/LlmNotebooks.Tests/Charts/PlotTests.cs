using LlmNotebooks.Autograd;
using LlmNotebooks.Charts;
using Plotly.NET;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Charts;

public class PlotTests
{
    static string Json(GenericChart chart) => GenericChart.toJson(chart);

    [Fact]
    public void Every_course_chart_builds_with_its_trace_type()
    {
        double[] x = [1, 2, 3];
        var z = new double[,] { { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } };
        Assert.Contains("\"type\":\"scatter\"", Json(Plot.Lines("t", "x", "y", ("a", x, x))));
        Assert.Contains("\"type\":\"scatter\"", Json(Plot.Points("t", "x", "y", x, x)));
        Assert.Contains("\"type\":\"bar\"", Json(Plot.Bars("t", ["a", "b", "c"], x)));
        Assert.Contains("\"type\":\"heatmap\"", Json(Plot.Heatmap(z, ["a", "b", "c"], ["x", "y", "z"])));
        Assert.Contains("\"type\":\"contour\"", Json(Plot.Contour(x, x, z)));
        Assert.Contains("\"type\":\"surface\"", Json(Plot.Surface(x, x, z)));
        Assert.Contains("\"type\":\"log\"", Json(Plot.LogLogFit(x, [3.0, 1.5, 1.0]).Chart));
        Assert.Contains("validation", Json(Plot.LossCurves([(1, 3.0), (2, 2.0)], [(2, 2.5)], floor: 1.0)));
    }

    [Fact]
    public void Title_is_set() => Assert.Contains("My title", Json(Plot.Lines("My title", "x", "y", ("a", [1.0], [2.0]))));

    [Fact]
    public void Heatmap_rejects_label_counts_that_do_not_match()
    {
        var e = Assert.Throws<ArgumentException>(() => Plot.Heatmap(new double[2, 3], ["a", "b"], ["x", "y"]));
        Assert.Contains("2×3", e.Message);
    }

    [Fact]
    public void Heatmap_of_a_tensor_needs_two_dimensions()
    {
        using var t = zeros(2, 2, 2);
        var e = Assert.Throws<ArgumentException>(() => Plot.Heatmap(t, ["a", "b"], ["x", "y"]));
        Assert.Contains("(2, 2, 2)", e.Message);
    }

    [Fact]
    public void Repeated_token_labels_stay_distinct_rows()
    {
        string json = Json(Plot.Heatmap(new double[2, 2], ["the", "the"], ["a", "b"]));
        Assert.Contains("\"the\"", json);
        Assert.Contains("\"the\u200B\"", json.Replace("\\u200B", "\u200B"));
    }

    [Fact]
    public void ToArray2D_copies_values_in_row_major_order()
    {
        using var t = arange(6, dtype: float32).reshape(2, 3);
        var a = Plot.ToArray2D(t);
        Assert.Equal(5.0, a[1, 2]);
        Assert.Equal(1.0, a[0, 1]);
    }

    [Fact]
    public void Computation_graph_shows_every_node_with_data_and_grad()
    {
        var x = new Value(0.5, "x");
        var y = (2 * x + 1).Tanh();
        y.Label = "y";
        y.Backward();
        string json = Json(Plot.ComputationGraph(y));
        Assert.Contains("x<br>data 0.5<br>grad 0.1413", json);
        Assert.Contains("y (tanh)<br>data 0.964", json);
    }

    [Fact]
    public void Slider_shows_one_frame_at_a_time()
    {
        double[] x = [0, 1];
        var frames = new[] { 1.0, 2.0, 3.0 }.Select(k => ($"{k}", Plotly.NET.CSharp.Chart.Line<double, double, string>(x: x, y: x.Select(v => k * v)))).ToList();
        string json = Json(Plot.Slider("s", "x", "y", "k = ", Plotly.NET.CSharp.Chart.Point<double, double, string>(x: x, y: x), frames, initial: 1));
        Assert.Contains("\"sliders\"", json);
        Assert.Contains("\"visible\":[true,false,true,false]", json); // background + frame 2 of 3
        Assert.Equal(2, json.Split("\"visible\":false").Length - 1); // frames 1 and 3 start hidden
        Assert.Throws<ArgumentOutOfRangeException>(() => Plot.Slider("s", "x", "y", "k", null, frames, initial: 3));
    }
}
