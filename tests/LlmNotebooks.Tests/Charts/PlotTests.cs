using LlmNotebooks.Autograd;
using LlmNotebooks.Charts;
using Newtonsoft.Json.Linq;
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
    public void RunCurves_draw_a_solid_training_and_a_dashed_validation_line_per_run_in_one_colour()
    {
        var a = new LlmNotebooks.Training.TrainingHistory();
        for (int s = 0; s < 4; s++) a.Train.Add(new LlmNotebooks.Training.TrainStep(s, 4.0 - s, 1e-3, 1));
        a.Validation.Add(new LlmNotebooks.Training.ValidationPoint(2, 2.5));
        a.Validation.Add(new LlmNotebooks.Training.ValidationPoint(4, 1.5));
        var b = new LlmNotebooks.Training.TrainingHistory();
        b.Train.Add(new LlmNotebooks.Training.TrainStep(0, 3.0, 1e-3, 1));
        var traces = JObject.Parse(Json(Plot.RunCurves("t", "loss (nats per token)", 2, ("A", a), ("B", b))))["data"]!.ToList();
        Assert.Equal(["A: training", "A: validation", "B: training", "B: validation"], traces.Select(t => t["name"]!.ToString()));
        Assert.Equal([1.0, 2.0, 3.0, 4.0], traces[0]["x"]!.Select(v => (double)v));
        Assert.Equal([4.0, 3.5, 2.5, 1.5], traces[0]["y"]!.Select(v => (double)v));      // a moving average over 2 steps
        Assert.Equal([2.5, 1.5], traces[1]["y"]!.Select(v => (double)v));
        Assert.Equal(["solid", "dash", "solid", "dash"], traces.Select(t => t["line"]!["dash"]!.ToString()));
        Assert.Equal(traces[0]["line"]!["color"]!.ToString(), traces[1]["line"]!["color"]!.ToString());
        Assert.NotEqual(traces[0]["line"]!["color"]!.ToString(), traces[2]["line"]!["color"]!.ToString());
        Assert.Equal("A", traces[1]["legendgroup"]!.ToString());
        var clipped = JObject.Parse(Json(Plot.RunCurves("t", "y", 2, 3.0, ("A", a))));
        Assert.Equal([0.0, 3.0], clipped["layout"]!["yaxis"]!["range"]!.Select(v => (double)v));
        Assert.Throws<ArgumentException>(() => Plot.RunCurves("t", "y", 1));
        Assert.Throws<ArgumentException>(() => Plot.RunCurves("t", "y", 0, ("A", a)));
        foreach (double bad in new[] { double.NaN, double.PositiveInfinity, 0, -1 })
            Assert.Contains("yMax", Assert.Throws<ArgumentException>(() => Plot.RunCurves("t", "y", 2, bad, ("A", a))).Message);
    }

    [Fact]
    public void Groups_draw_one_labelled_trace_per_group_in_first_seen_order()
    {
        var chart = Plot.Groups("t", "x", "y", [("unit", 1, 2, "seven"), ("tens", 3, 4, "seventy"), ("unit", 5, 6, "two")]);
        var traces = JObject.Parse(Json(chart))["data"]!.ToList();
        Assert.Equal(["unit", "tens"], traces.Select(t => t["name"]!.ToString()));
        Assert.Equal([1.0, 5.0], traces[0]["x"]!.Select(v => (double)v));
        Assert.Equal(["seven", "two"], traces[0]["text"]!.Select(v => v.ToString()));
        Assert.Equal(["seventy"], traces[1]["text"]!.Select(v => v.ToString()));
    }

    [Fact]
    public void Paired_lines_give_each_run_one_colour_solid_for_the_first_measure_and_dashed_for_the_second()
    {
        double[] x = [0, 5, 10];
        var chart = Plot.PairedLines("t", "step", "score", "true score", "reward model",
            ("PPO", x, [0.0, 1, 2], [0.0, 1.5, 2.5]), ("DPO", x, [0.0, 0.5, 1], [0.0, 0.6, 1.2]));
        var traces = JObject.Parse(Json(chart))["data"]!.ToList();
        Assert.Equal(["PPO: true score", "PPO: reward model", "DPO: true score", "DPO: reward model"], traces.Select(t => t["name"]!.ToString()));
        string Colour(int i) => traces[i]["line"]!["color"]!.ToString();
        string? Dash(int i) => traces[i]["line"]?["dash"]?.ToString();
        Assert.Equal(Colour(0), Colour(1));
        Assert.Equal(Colour(2), Colour(3));
        Assert.NotEqual(Colour(0), Colour(2));
        Assert.Equal("solid", Dash(0));
        Assert.Equal("dash", Dash(1));
        Assert.Equal([2.5], traces[1]["y"]!.Skip(2).Select(v => (double)v));
    }

    [Fact]
    public void Groups_without_points_say_what_is_missing()
    {
        var e = Assert.Throws<ArgumentException>(() => Plot.Groups("t", "x", "y", []));
        Assert.Contains("at least one point", e.Message);
    }

    [Fact]
    public void Timeline_draws_one_labelled_marker_per_milestone_coloured_by_era_with_the_shaded_bands()
    {
        Milestone[] ms =
        [
            new(1957, "1957", "Perceptron", "learns", "early", 1),
            new(1975, "1970s", "Winter", "stalls", "early", 2),
            new(2017, "2017", "Transformer", "attends", "modern", 1.5),
            new(2025, "2025", "Now", "here", "now", 3),
        ];
        var json = JObject.Parse(Json(Plot.Timeline("History", ms, (1974, 1980))));
        var eras = json["data"]!.Where(t => (string?)t["mode"] == "markers+text").ToList();
        Assert.Equal(["early", "modern", "now"], eras.Select(t => t["name"]!.ToString()));
        Assert.Equal(["#1f77b4", "#2ca02c", "#d62728"], eras.Select(t => t["marker"]!["color"]!.ToString()));
        Assert.Equal(["<b>Perceptron</b><br>1957", "<b>Winter</b><br>1970s"], eras[0]["text"]!.Select(v => v.ToString()));
        Assert.Equal(["<b>1970s · Winter</b><br>stalls"], eras[0]["hovertext"]!.Skip(1).Select(v => v.ToString()));
        Assert.Equal(["middle right"], eras[2]["textposition"]!.Select(v => v.ToString()));      // the last label, to the right
        Assert.Equal(["top center", "top center"], eras[0]["textposition"]!.Select(v => v.ToString()));
        Assert.Equal(ms.Length + 1, json["data"]!.Count(t => (string?)t["mode"] == "lines"));        // a stem each, and the axis
        var band = Assert.Single(json["layout"]!["shapes"]!);
        Assert.Equal([1974.0, 1980.0], new[] { (double)band["x0"]!, (double)band["x1"]! });
        Assert.Equal([1948.0, 2038.0], json["layout"]!["xaxis"]!["range"]!.Select(v => (double)v));
        Assert.Equal(3.8, (double)json["layout"]!["yaxis"]!["range"]![1]!, 12);
    }

    [Fact]
    public void Timeline_refuses_no_milestones_and_milestones_out_of_order_by_name()
    {
        Assert.Contains("at least one milestone", Assert.Throws<ArgumentException>(() => Plot.Timeline("t", [])).Message);
        var e = Assert.Throws<ArgumentException>(() => Plot.Timeline("t",
            [new(2017, "2017", "Transformer", "", "a", 1), new(1997, "1997", "LSTM", "", "a", 1)]));
        Assert.Contains("\"LSTM\" (1997) comes after \"Transformer\" (2017). Sort them by Year.", e.Message);
        Assert.Contains("\"GPT-3\" needs a finite year and a finite height ≥ 0 for its stem, got year NaN",
            Assert.Throws<ArgumentException>(() => Plot.Timeline("t", [new(double.NaN, "?", "GPT-3", "", "a", 1)])).Message);
        Assert.Contains("height -1", Assert.Throws<ArgumentException>(() => Plot.Timeline("t", [new(2020, "2020", "GPT-3", "", "a", -1)])).Message);
        Assert.Contains("height +∞", Assert.Throws<ArgumentException>(() => Plot.Timeline("t", [new(2020, "2020", "GPT-3", "", "a", double.PositiveInfinity)])).Message);
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

    [Fact]
    public void Heatmap_value_labels_are_light_on_dark_cells_and_dark_on_light_cells()
    {
        // Row 0 is drawn at the top, so the trace's rows (and the annotations' y) run bottom-up: y = 1 is row 0.
        var chart = Plot.Heatmap(new double[,] { { 0.0, 1.0 }, { 0.25, 0.75 } }, ["q1", "q2"], ["k1", "k2"]);
        var json = JObject.Parse(Json(chart));
        var labels = json["layout"]!["annotations"]!.ToDictionary(a => ((int)a["x"]!, (int)a["y"]!));
        Assert.Equal(4, labels.Count);
        Assert.All(labels.Values, a => Assert.False((bool)a["showarrow"]!));
        string Color(int x, int y) => (string)labels[(x, y)]["font"]!["color"]!;
        Assert.Equal("0.00", (string)labels[(0, 1)]["text"]!);
        Assert.Equal(Plot.LightLabel, Color(0, 1));   // 0.0: the darkest colour of the scale (#0d0887)
        Assert.Equal("1.00", (string)labels[(1, 1)]["text"]!);
        Assert.Equal(Plot.DarkLabel, Color(1, 1));    // 1.0: the lightest (#f0f921)
        Assert.Equal(Plot.LightLabel, Color(0, 0));   // 0.25: purple
        Assert.Equal(Plot.DarkLabel, Color(1, 0));    // 0.75: orange

        // The labels' colours are computed for the colour scale and range the trace really uses.
        var trace = json["data"]![0]!;
        Assert.Equal("#0d0887", (string)trace["colorscale"]![0]![1]!);
        Assert.Equal(0.0, (double)trace["zmin"]!);
        Assert.Equal(1.0, (double)trace["zmax"]!);
    }

    [Fact]
    public void Heatmap_label_colours_follow_the_values_range_not_their_size()
    {
        // The same pattern at another scale gives the same colours: what counts is the position between min and max.
        var json = JObject.Parse(Json(Plot.Heatmap(new double[,] { { 100, 200 } }, ["r"], ["a", "b"])));
        var colors = json["layout"]!["annotations"]!.OrderBy(a => (int)a["x"]!).Select(a => (string)a["font"]!["color"]!).ToArray();
        Assert.Equal([Plot.LightLabel, Plot.DarkLabel], colors);
        Assert.Equal(Plot.LightLabel, Plot.LabelColor(0.4));   // about #b02a90, magenta: white reads better
        Assert.Equal(Plot.DarkLabel, Plot.LabelColor(0.6));    // about #e06561, salmon: black reads better
    }

    [Fact]
    public void Heatmap_without_values_has_no_labels_and_a_constant_matrix_still_has_a_colour_range()
    {
        var none = JObject.Parse(Json(Plot.Heatmap(new double[,] { { 1, 2 } }, ["r"], ["a", "b"], showValues: false)));
        Assert.Null(none["layout"]!["annotations"]);
        var flat = JObject.Parse(Json(Plot.Heatmap(new double[,] { { 3, 3 } }, ["r"], ["a", "b"])));
        Assert.Equal(2.5, (double)flat["data"]![0]!["zmin"]!);
        Assert.Equal(3.5, (double)flat["data"]![0]!["zmax"]!);
    }

    [Fact]
    public void Attention_heads_share_one_colour_range()
    {
        using var w = stack(new[] { tensor(new float[,] { { 1, 0 }, { 0.5f, 0.5f } }), tensor(new float[,] { { 0.6f, 0.4f }, { 0.5f, 0.5f } }) });
        var json = JObject.Parse(Json(Plot.AttentionHeads(w, ["a", "b"])));
        var heatmaps = json["data"]!.Where(t => (string?)t["type"] == "heatmap").ToList();
        Assert.Equal(2, heatmaps.Count);
        Assert.All(heatmaps, t => { Assert.Equal(0.0, (double)t["zmin"]!); Assert.Equal(1.0, (double)t["zmax"]!); });
    }

    [Fact]
    public void Bars_can_use_a_log_value_axis()
    {
        var json = JObject.Parse(Json(Plot.Bars("t", ["with", "without"], [136.0, 9.65e-7], "gradient norm (log scale)", logY: true)));
        Assert.Equal("log", (string)json["layout"]!["yaxis"]!["type"]!);
        Assert.Equal("gradient norm (log scale)", (string)json["layout"]!["yaxis"]!["title"]!["text"]!);
        Assert.Equal("power", (string)json["layout"]!["yaxis"]!["exponentformat"]!);
        Assert.Equal([-8.0, 3.0], json["layout"]!["yaxis"]!["range"]!.Select(t => (double)t).ToArray());   // 1e-8 to 1e3
        Assert.Equal(["136", "9.65e-7"], json["data"]![0]!["text"]!.Select(t => (string)t!).ToArray());
        var linear = JObject.Parse(Json(Plot.Bars("t", ["a"], [1.0], "y")));
        Assert.Null(linear["layout"]!["yaxis"]!["type"]);
    }

    [Fact]
    public void A_chart_at_plotly_nets_default_size_takes_the_columns_width_and_one_with_its_own_size_keeps_it()
    {
        var lines = Plot.Lines("A title long enough to need the room of the whole column", "step", "loss", ("a", new double[] { 0, 1 }, new double[] { 1, 0 }));
        var layout = Newtonsoft.Json.Linq.JObject.Parse(ChartHtml.Json(lines).Layout);
        Assert.Null(layout["width"]);
        Assert.Equal(ChartHtml.FullWidthHeight, layout["height"]!.ToObject<int>());
        Assert.True(layout["autosize"]!.ToObject<bool>());
        var sized = Plotly.NET.CSharp.GenericChartExtensions.WithSize(lines, Width: 500, Height: 300);
        var kept = Newtonsoft.Json.Linq.JObject.Parse(ChartHtml.Json(sized).Layout);
        Assert.Equal(500, kept["width"]!.ToObject<int>());
        Assert.Equal(300, kept["height"]!.ToObject<int>());
    }
}
