using Plotly.NET;
using CsChart = Plotly.NET.CSharp.Chart;

namespace LlmNotebooks.Charts;

public static partial class Plot
{
    /// <summary>
    /// Labelled points, one colour (and one legend entry) per group: for instance token vectors projected to 2-D, each
    /// point written with its token and coloured by the token's kind. Groups keep the order of their first point.
    /// Example: Plot.Groups("words", "x", "y", [("unit", 0.1, 0.2, "seven"), ("tens", -0.4, 0.0, "seventy")]).
    /// </summary>
    public static GenericChart Groups(string title, string xTitle, string yTitle, IEnumerable<(string Group, double X, double Y, string Label)> points)
    {
        var all = points.ToList();
        if (all.Count == 0) throw new ArgumentException("Plot.Groups needs at least one point to draw.", nameof(points));
        var traces = all.GroupBy(p => p.Group).Select(g => CsChart.Point<double, double, string>(
            x: g.Select(p => p.X), y: g.Select(p => p.Y), Name: g.Key,
            MultiText: g.Select(p => p.Label).ToArray(), TextPosition: StyleParam.TextPosition.TopCenter));
        return Style(CsChart.Combine(traces), title, xTitle, yTitle);
    }
}
