using LlmNotebooks.Training;
using Plotly.NET;
using CsChart = Plotly.NET.CSharp.Chart;

namespace LlmNotebooks.Charts;

public static partial class Plot
{
    /// <summary>
    /// One colour per run for the charts that pair two lines of a run (<see cref="RunCurves(string, string, int, ValueTuple{string, TrainingHistory}[])"/>,
    /// <see cref="PairedLines"/>): the colours of Plotly.NET's default template, in its order, so that a run keeps the
    /// colour it has in the course's other charts.
    /// </summary>
    static readonly string[] RunColours = ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52"];

    /// <summary>
    /// The loss curves of several <see cref="Trainer"/> runs on one chart, one colour per run: its training loss as a solid
    /// line (a moving average over <paramref name="smooth"/> steps, since single batches are noisy) and its validation loss
    /// as a dashed line with markers. The two traces of a run share a legend group, so clicking either hides both.
    /// Example: Plot.RunCurves("Fine-tuning runs", "loss (nats per token)", 20, ("full", full.History), ("LoRA", lora.History)).
    /// </summary>
    /// <exception cref="ArgumentException">No runs, a smoothing window below 1, or a <c>yMax</c> that is not finite and above 0.</exception>
    public static GenericChart RunCurves(string title, string yTitle, int smooth, params (string Name, TrainingHistory History)[] runs) =>
        RunCurves(title, yTitle, smooth, null, runs);

    /// <summary>
    /// <see cref="RunCurves(string, string, int, ValueTuple{string, TrainingHistory}[])"/> with the value axis shown from 0 to
    /// <paramref name="yMax"/> (when not null): the first steps of a fine-tuning run can start far above where the runs
    /// differ, and would flatten the part worth seeing.
    /// </summary>
    public static GenericChart RunCurves(string title, string yTitle, int smooth, double? yMax, params (string Name, TrainingHistory History)[] runs)
    {
        if (runs.Length == 0) throw new ArgumentException("Plot.RunCurves needs at least one run to draw.", nameof(runs));
        if (smooth < 1) throw new ArgumentException($"The smoothing window is a number of steps, at least 1; got {smooth}.", nameof(smooth));
        if (yMax is double cap && !(double.IsFinite(cap) && cap > 0))
            throw new ArgumentException($"yMax is the top of the loss axis, a finite number above 0 (or null for the whole range); got {cap}.", nameof(yMax));
        var traces = new List<GenericChart>();
        for (int r = 0; r < runs.Length; r++)
        {
            var (name, history) = runs[r];
            string color = RunColours[r % RunColours.Length];
            var losses = history.Train.Select(s => s.Loss).ToArray();
            var smoothed = losses.Select((_, i) => losses[Math.Max(0, i - smooth + 1)..(i + 1)].Average());
            var train = CsChart.Line<int, double, string>(x: history.Train.Select(s => s.Step + 1), y: smoothed, Name: $"{name}: training");
            var validation = CsChart.Line<int, double, string>(x: history.Validation.Select(v => v.Step), y: history.Validation.Select(v => v.Loss),
                                                               Name: $"{name}: validation", ShowMarkers: true);
            SetLine(train, color, "solid", name);
            SetLine(validation, color, "dash", name);
            traces.Add(train);
            traces.Add(validation);
        }
        var chart = Style(CsChart.Combine(traces), title, "step", yTitle);
        if (yMax is double top && GenericChart.getLayout(chart).TryGetPropertyValue("yaxis") is { } axis && axis.Value is DynamicObj.DynamicObj yAxis)
            yAxis.SetProperty("range", new[] { 0.0, top });
        return chart;
    }

    /// <summary>Gives a chart's traces one colour, a line pattern and a legend group (clicking one entry of the group hides all).</summary>
    static void SetLine(GenericChart chart, string color, string dash, string group)
    {
        foreach (var trace in GenericChart.getTraces(chart))
        {
            trace.SetProperty("line", new Dictionary<string, object> { ["color"] = color, ["dash"] = dash });
            trace.SetProperty("marker", new Dictionary<string, object> { ["color"] = color });
            trace.SetProperty("legendgroup", group);
        }
    }
}
