using Plotly.NET;
using CsChart = Plotly.NET.CSharp.Chart;

namespace LlmNotebooks.Charts;

/// <summary>
/// One point of a <see cref="Plot.Timeline"/>: where it sits (<paramref name="Year"/>), the date as written on the
/// chart (<paramref name="When"/>: "1970s"), its name, the sentence shown on hover, its era (one colour and one legend
/// entry per era) and the height of its stem, chosen so that neighbouring labels do not overlap.
/// </summary>
public sealed record Milestone(double Year, string When, string Name, string Why, string Era, double Height);

public static partial class Plot
{
    static readonly string[] EraColors = ["#1f77b4", "#2ca02c", "#d62728", "black", "#9467bd", "#ff7f0e"];

    /// <summary>
    /// A timeline: each milestone a labelled marker on a grey stem above the year axis, coloured by era (eras keep the
    /// order of their first milestone), its <see cref="Milestone.Why"/> on hover; <paramref name="shaded"/> periods
    /// (for instance an "AI winter") as bands behind the markers. The last milestone's label sits to the right of its
    /// marker, where the axis leaves room, so it never covers its neighbour's. Milestones must be in chronological order.
    /// Example: <c>Plot.Timeline("History", [new(1957, "1957", "Perceptron", "learns its weights", "early", 1)])</c>.
    /// </summary>
    public static GenericChart Timeline(string title, IReadOnlyList<Milestone> milestones, params (double From, double To)[] shaded)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        if (milestones.Count == 0) throw new ArgumentException("Plot.Timeline needs at least one milestone to draw.", nameof(milestones));
        foreach (var m in milestones)
            if (!double.IsFinite(m.Year) || !double.IsFinite(m.Height) || m.Height < 0)
                throw new ArgumentException($"Milestone \"{m.Name}\" needs a finite year and a finite height ≥ 0 for its stem, got year {Guard.Show(m.Year)}, height {Guard.Show(m.Height)}.", nameof(milestones));
        for (int i = 1; i < milestones.Count; i++)
            if (milestones[i].Year < milestones[i - 1].Year)
                throw new ArgumentException($"Milestones must be in chronological order: \"{milestones[i].Name}\" ({milestones[i].When}) comes after "
                                            + $"\"{milestones[i - 1].Name}\" ({milestones[i - 1].When}). Sort them by Year.", nameof(milestones));
        var last = milestones[^1];
        var eras = milestones.Select(m => m.Era).Distinct().ToList();

        GenericChart Era(string era, string color)
        {
            var ms = milestones.Where(m => m.Era == era).ToArray();
            var trace = new Trace("scatter");
            trace.SetProperty("x", ms.Select(m => m.Year).ToArray());
            trace.SetProperty("y", ms.Select(m => m.Height).ToArray());
            trace.SetProperty("mode", "markers+text");
            trace.SetProperty("text", ms.Select(m => $"<b>{m.Name}</b><br>{m.When}").ToArray());
            trace.SetProperty("textposition", ms.Select(m => ReferenceEquals(m, last) ? "middle right" : "top center").ToArray());
            trace.SetProperty("cliponaxis", false);                                 // never cut a label at the plot's edge
            trace.SetProperty("hovertext", ms.Select(m => $"<b>{m.When} · {m.Name}</b><br>{m.Why}").ToArray());
            trace.SetProperty("hoverinfo", "text");
            trace.SetProperty("name", era);
            trace.SetProperty("marker", new Dictionary<string, object> { ["size"] = 14, ["color"] = color });
            return GenericChart.ofTraceObject(true, trace);
        }

        double from = milestones[0].Year - 9, to = last.Year + 13;                   // room for the last label on the right
        var stems = milestones.Select(m => CsChart.Line<double, double, string>(
            x: [m.Year, m.Year], y: [0, m.Height], LineColor: Color.fromString("lightgray"), ShowLegend: false));
        var axis = CsChart.Line<double, double, string>(x: [from, to], y: [0.0, 0], LineColor: Color.fromString("gray"), ShowLegend: false);
        var chart = CsChart.Combine(stems.Append(axis).Concat(eras.Select((e, i) => Era(e, EraColors[i % EraColors.Length]))));

        var layout = new Layout();
        layout.SetProperty("shapes", shaded.Select(band => new Dictionary<string, object>
        {
            ["type"] = "rect", ["xref"] = "x", ["yref"] = "paper", ["x0"] = band.From, ["x1"] = band.To, ["y0"] = 0, ["y1"] = 1,
            ["fillcolor"] = "lightblue", ["opacity"] = 0.35, ["layer"] = "below", ["line"] = new Dictionary<string, object> { ["width"] = 0 },
        }).ToArray());
        layout.SetProperty("yaxis", new Dictionary<string, object> { ["visible"] = false, ["range"] = new[] { -0.3, milestones.Max(m => m.Height) + 0.8 } });
        layout.SetProperty("xaxis", new Dictionary<string, object> { ["title"] = new Dictionary<string, object> { ["text"] = "year" }, ["range"] = new[] { from, to } });
        layout.SetProperty("title", new Dictionary<string, object> { ["text"] = title });
        layout.SetProperty("width", 800);                                           // fits a notebook or book column
        layout.SetProperty("legend", new Dictionary<string, object> { ["orientation"] = "h", ["y"] = -0.2 });   // below: the full width for the years
        layout.SetProperty("height", 480);
        return GenericChart.addLayout(layout, chart);
    }
}
