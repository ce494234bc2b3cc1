using System.Globalization;
using LlmNotebooks.Autograd;
using Plotly.NET;
using CsChart = Plotly.NET.CSharp.Chart;

namespace LlmNotebooks.Charts;

public static partial class Plot
{
    /// <summary>
    /// Draws the computation graph behind <paramref name="root"/>: inputs on the left, the result on the right, an
    /// arrow-free line from each value to every value computed from it. Each node shows its label or operation,
    /// its data and its gradient. Meant for small graphs (up to a few dozen nodes).
    /// </summary>
    public static GenericChart ComputationGraph(Value root, string title = "Computation graph")
    {
        var order = root.TopologicalOrder();
        var depth = new Dictionary<Value, int>(ReferenceEqualityComparer.Instance);
        foreach (var v in order) depth[v] = v.Children.Count == 0 ? 0 : v.Children.Max(c => depth[c]) + 1;
        var row = new Dictionary<Value, int>(ReferenceEqualityComparer.Instance);
        var perDepth = new Dictionary<int, int>();
        foreach (var v in order)
        {
            int d = depth[v];
            row[v] = perDepth.TryGetValue(d, out int n) ? n : 0;
            perDepth[d] = row[v] + 1;
        }
        double X(Value v) => depth[v];
        double Y(Value v) => -row[v];

        var ex = new List<double>();
        var ey = new List<double>();
        foreach (var v in order)
            foreach (var c in v.Children)
            {
                ex.AddRange([X(c), X(v), double.NaN]);
                ey.AddRange([Y(c), Y(v), double.NaN]);
            }
        string Text(Value v)
        {
            string name = v.Op.Length > 0 ? (v.Label.Length > 0 ? $"{v.Label} ({v.Op})" : v.Op) : v.Label;
            return $"{name}<br>data {v.Data.ToString("G4", CultureInfo.InvariantCulture)}<br>grad {v.Grad.ToString("G4", CultureInfo.InvariantCulture)}";
        }
        var edges = CsChart.Line<double, double, string>(x: ex, y: ey, Name: "edges", ShowLegend: false);
        var nodes = CsChart.Point<double, double, string>(
            x: order.Select(X), y: order.Select(Y), Name: "values", ShowLegend: false,
            MultiText: order.Select(Text).ToArray(), TextPosition: StyleParam.TextPosition.TopCenter);
        var chart = Style(CsChart.Combine([edges, nodes]), title, "depth (inputs → output)", "");
        return Plotly.NET.CSharp.GenericChartExtensions.WithSize(chart, Width: Math.Max(500, 170 * (perDepth.Count + 1)), Height: Math.Max(350, 110 * (perDepth.Values.Max() + 1)));
    }
}
