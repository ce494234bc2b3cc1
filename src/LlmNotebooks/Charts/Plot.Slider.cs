using Plotly.NET;
using CsChart = Plotly.NET.CSharp.Chart;

namespace LlmNotebooks.Charts;

public static partial class Plot
{
    /// <summary>
    /// An interactive chart: a fixed <paramref name="background"/> plus one frame per slider position, only the chosen
    /// frame visible. Example: a function as background, its tangent at x₀ = −2 … 2 as frames; or a softmax at several
    /// temperatures. Everything is drawn up front, so the slider works offline and without a kernel.
    /// </summary>
    public static GenericChart Slider(string title, string xTitle, string yTitle, string sliderPrefix,
        GenericChart? background, IReadOnlyList<(string Label, GenericChart Frame)> frames, int initial = 0)
    {
        if (frames.Count == 0) throw new ArgumentException("A slider needs at least one frame.", nameof(frames));
        if (initial < 0 || initial >= frames.Count)
            throw new ArgumentOutOfRangeException(nameof(initial), $"initial must be a frame index in [0, {frames.Count - 1}], got {initial}.");
        int fixedTraces = background is null ? 0 : GenericChart.countTrace(background);
        int[] counts = frames.Select(f => GenericChart.countTrace(f.Frame)).ToArray();

        var parts = new List<GenericChart>();
        if (background is not null) parts.Add(background);
        for (int i = 0; i < frames.Count; i++)
            parts.Add(i == initial ? frames[i].Frame
                : Plotly.NET.CSharp.GenericChartExtensions.WithTraceInfo(frames[i].Frame, Visible: StyleParam.Visible.False));

        var steps = frames.Select((f, i) =>
        {
            var visible = Enumerable.Repeat(true, fixedTraces)
                .Concat(counts.SelectMany((c, j) => Enumerable.Repeat(i == j, c))).ToArray();
            return new Dictionary<string, object>
            {
                ["label"] = f.Label,
                ["method"] = "restyle",
                ["args"] = new object[] { new Dictionary<string, object> { ["visible"] = visible } },
            };
        }).ToArray();
        var layout = new Layout();
        layout.SetProperty("sliders", new object[]
        {
            new Dictionary<string, object>
            {
                ["active"] = initial,
                ["currentvalue"] = new Dictionary<string, object> { ["prefix"] = sliderPrefix },
                ["steps"] = steps,
            },
        });
        return GenericChart.addLayout(layout, Style(CsChart.Combine(parts), title, xTitle, yTitle));
    }
}
