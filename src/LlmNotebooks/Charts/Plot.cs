using Plotly.NET;
using Plotly.NET.LayoutObjects;
using TorchSharp;
using static TorchSharp.torch;
using CsChart = Plotly.NET.CSharp.Chart;
using LlmNotebooks.Scaling;

namespace LlmNotebooks.Charts;

/// <summary>
/// The course's charts, built on Plotly.NET: each returns a <see cref="GenericChart"/> that a notebook displays inline.
/// For anything else, use Plotly.NET.CSharp's <c>Chart</c> directly.
/// </summary>
public static partial class Plot
{
    /// <summary>One or more lines on shared axes. Example: Plot.Lines("f(x) = x²", "x", "y", ("x²", xs, ys)).</summary>
    public static GenericChart Lines(string title, string xTitle, string yTitle, params (string Name, IEnumerable<double> X, IEnumerable<double> Y)[] series)
    {
        var charts = series.Select(s => CsChart.Line<double, double, string>(x: s.X, y: s.Y, Name: s.Name));
        return Style(CsChart.Combine(charts), title, xTitle, yTitle);
    }

    /// <summary>
    /// Two measurements of several runs on shared axes, one colour per run: <paramref name="solidName"/> drawn solid and
    /// <paramref name="dashedName"/> dashed (say, each method's true score solid and its reward-model score dashed), so
    /// that a run's two lines are told apart by their pattern and runs by their colour. Legend entries read
    /// "run: solidName" and "run: dashedName".
    /// </summary>
    public static GenericChart PairedLines(string title, string xTitle, string yTitle, string solidName, string dashedName,
        params (string Name, IEnumerable<double> X, IEnumerable<double> Solid, IEnumerable<double> Dashed)[] runs)
    {
        if (runs.Length > RunColours.Length)
            throw new ArgumentException($"Expected at most {RunColours.Length} runs (one colour each), got {runs.Length}.", nameof(runs));
        var traces = new List<GenericChart>();
        for (int i = 0; i < runs.Length; i++)
        {
            var (name, x, solid, dashed) = runs[i];
            var first = CsChart.Line<double, double, string>(x: x, y: solid, Name: $"{name}: {solidName}");
            var second = CsChart.Line<double, double, string>(x: x, y: dashed, Name: $"{name}: {dashedName}");
            SetLine(first, RunColours[i], "solid", name);
            SetLine(second, RunColours[i], "dash", name);
            traces.Add(first);
            traces.Add(second);
        }
        return Style(CsChart.Combine(traces), title, xTitle, yTitle);
    }

    /// <summary>Points (a scatter plot) with optional hover labels.</summary>
    public static GenericChart Points(string title, string xTitle, string yTitle, IEnumerable<double> x, IEnumerable<double> y, IEnumerable<string>? labels = null, string name = "")
    {
        var chart = labels is null
            ? CsChart.Point<double, double, string>(x: x, y: y, Name: name)
            : CsChart.Point<double, double, string>(x: x, y: y, Name: name, MultiText: labels.ToArray(), TextPosition: StyleParam.TextPosition.TopCenter);
        return Style(chart, title, xTitle, yTitle);
    }

    /// <summary>
    /// Vertical bars, one per label. With <paramref name="logY"/> the value axis is logarithmic, for values that differ by
    /// orders of magnitude (say so in <paramref name="yTitle"/>): ticks are powers of ten, the axis starts a decade
    /// below the smallest bar so that even that one has a visible height, and every bar is labelled with its value.
    /// Values ≤ 0 have no place on a log axis and are not drawn. <paramref name="xTitle"/> names what the labels are, where
    /// they are numbers or otherwise not self-explanatory.
    /// </summary>
    public static GenericChart Bars(string title, IEnumerable<string> labels, IEnumerable<double> values, string yTitle = "", bool logY = false, string xTitle = "")
    {
        var v = values.ToArray();
        var chart = Style(CsChart.Column<double, string, string>(values: v, Keys: labels.ToArray()), title, xTitle, yTitle);
        if (!logY) return chart;
        chart = Plotly.NET.CSharp.GenericChartExtensions.WithYAxisStyle<double, double, string>(chart, AxisType: StyleParam.AxisType.Log);
        foreach (var trace in GenericChart.getTraces(chart))
        {
            trace.SetProperty("text", v.Select(ShortNumber).ToArray());
            trace.SetProperty("textposition", "outside");
        }
        if (GenericChart.getLayout(chart).TryGetPropertyValue("yaxis") is { } axis && axis.Value is DynamicObj.DynamicObj yAxis)
        {
            yAxis.SetProperty("exponentformat", "power");   // 10⁻⁶ rather than SI prefixes (1µ), which read oddly here
            var positive = v.Where(x => x > 0 && double.IsFinite(x)).ToArray();
            if (positive.Length > 0)                        // a log axis's range is in decades: log10 of the values
                yAxis.SetProperty("range", new[] { Math.Floor(Math.Log10(positive.Min())) - 1, Math.Ceiling(Math.Log10(positive.Max()) + 0.3) });
        }
        return chart;
    }

    /// <summary>A value in three significant digits, very small or large ones as 9.65e-7 or 1.2e+6.</summary>
    static string ShortNumber(double x) =>
        x != 0 && double.IsFinite(x) && (Math.Abs(x) < 1e-3 || Math.Abs(x) >= 1e5)
            ? x.ToString("0.##e+0", System.Globalization.CultureInfo.InvariantCulture)
            : x.ToString("G3", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Bars for several series side by side, one group per label (e.g. a model's probabilities beside the true ones).</summary>
    public static GenericChart GroupedBars(string title, IReadOnlyList<string> labels, string yTitle, params (string Name, IEnumerable<double> Values)[] series)
        => Style(CsChart.Combine(series.Select(s => CsChart.Column<double, string, string>(values: s.Values, Keys: labels.ToArray(), Name: s.Name))), title, "", yTitle);

    /// <summary>
    /// Training (and optionally validation) loss against step, with an optional horizontal floor such as the
    /// entropy of the data, below which no model can go. <paramref name="yTitle"/> names the loss and its unit, say
    /// "cross-entropy (nats per token)".
    /// </summary>
    public static GenericChart LossCurves(IReadOnlyList<(int Step, double Loss)> train, IReadOnlyList<(int Step, double Loss)>? validation = null, double? floor = null, string title = "Loss",
                                          string yTitle = "loss")
    {
        var charts = new List<GenericChart> { CsChart.Line<int, double, string>(x: train.Select(p => p.Step), y: train.Select(p => p.Loss), Name: "train") };
        if (validation is { Count: > 0 })
            charts.Add(CsChart.Line<int, double, string>(x: validation.Select(p => p.Step), y: validation.Select(p => p.Loss), Name: "validation", ShowMarkers: true));
        if (floor is double f && train.Count > 0)
            charts.Add(CsChart.Line<int, double, string>(x: [train[0].Step, train[^1].Step], y: [f, f], Name: $"floor {f:G4}"));
        return Style(CsChart.Combine(charts), title, "step", yTitle);
    }

    /// <summary>
    /// The loss curves of a <see cref="LlmNotebooks.Training.Trainer"/> run: the training loss (a moving average over
    /// <paramref name="smooth"/> steps, since single batches are noisy), the validation loss, and an optional floor.
    /// </summary>
    public static GenericChart LossCurves(LlmNotebooks.Training.TrainingHistory history, double? floor = null, string title = "Loss", int smooth = 20,
                                          string yTitle = "loss")
    {
        var losses = history.Train.Select(s => s.Loss).ToArray();
        var train = history.Train.Select((s, i) => (s.Step + 1, losses[Math.Max(0, i - smooth + 1)..(i + 1)].Average())).ToList();
        var validation = history.Validation.Select(v => (v.Step, v.Loss)).ToList();
        return LossCurves(train, validation, floor, title, yTitle);
    }

    /// <summary>
    /// A heatmap of a matrix with labelled rows and columns, row 0 at the top (the way attention weights are read:
    /// row = the query token, column = the key token). Values are written in the cells when <paramref name="showValues"/>.
    /// </summary>
    public static GenericChart Heatmap(double[,] values, IReadOnlyList<string> rowLabels, IReadOnlyList<string> columnLabels, string title = "", bool showValues = true, string xTitle = "", string yTitle = "")
    {
        int rows = values.GetLength(0), cols = values.GetLength(1);
        if (rowLabels.Count != rows || columnLabels.Count != cols)
            throw new ArgumentException($"Heatmap: the matrix is {rows}×{cols} but there are {rowLabels.Count} row labels and {columnLabels.Count} column labels.");
        return Style(HeatmapTrace(values, rowLabels, columnLabels, showValues, showScale: true), title, xTitle, yTitle);
    }

    /// <summary>
    /// The heatmaps' colours: Plotly's default sequential scale (plasma, dark blue → yellow), set explicitly on every
    /// heatmap so that the value labels' colours, which <see cref="LabelColor"/> derives from it, always match the cells.
    /// </summary>
    static readonly (double At, string Hex)[] HeatmapColors =
    [
        (0.0, "#0d0887"), (1 / 9.0, "#46039f"), (2 / 9.0, "#7201a8"), (3 / 9.0, "#9c179e"), (4 / 9.0, "#bd3786"),
        (5 / 9.0, "#d8576b"), (6 / 9.0, "#ed7953"), (7 / 9.0, "#fb9f3a"), (8 / 9.0, "#fdca26"), (1.0, "#f0f921"),
    ];

    /// <summary>Colour of a value label written on a heatmap cell.</summary>
    public const string LightLabel = "#ffffff", DarkLabel = "#000000";

    /// <summary>
    /// The heatmap itself, row 0 drawn at the top (rows are passed bottom-up, which also works inside grids). The colour
    /// range is [<paramref name="range"/>] when given (e.g. one range shared by several heatmaps), else the data's own.
    /// Value labels are layout annotations on the axes "x" and "y", so only single heatmaps (not grid cells) show them.
    /// </summary>
    static GenericChart HeatmapTrace(double[,] values, IReadOnlyList<string> rowLabels, IReadOnlyList<string> columnLabels, bool showValues, bool showScale,
                                     (double Min, double Max)? range = null)
    {
        int rows = values.GetLength(0), cols = values.GetLength(1);
        // Plotly identifies categories by name: make repeated labels (two "the" tokens) distinct with invisible suffixes.
        var ys = Unique(rowLabels).Reverse().ToArray();
        var xs = Unique(columnLabels);
        var z = Enumerable.Range(0, rows).Reverse().Select(i => Enumerable.Range(0, cols).Select(j => values[i, j]).ToArray()).ToArray();
        var (zMin, zMax) = ColorRange(range ?? ValueRange(values));
        var chart = CsChart.Heatmap<double, string, string, string>(zData: z, X: xs, Y: ys, ShowScale: showScale);
        foreach (var trace in GenericChart.getTraces(chart))
        {
            trace.SetProperty("colorscale", HeatmapColors.Select(c => new object[] { c.At, c.Hex }).ToArray());
            trace.SetProperty("zmin", zMin);
            trace.SetProperty("zmax", zMax);
        }
        if (!showValues) return chart;

        // Each label is an annotation centred on its cell (x, y = the cell's category indices), in white on dark
        // cells and black on light ones.
        var labels = new List<Dictionary<string, object>>();
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++)
            {
                double v = z[r][j];
                if (!double.IsFinite(v)) continue;
                labels.Add(new Dictionary<string, object>
                {
                    ["x"] = j, ["y"] = r, ["xref"] = "x", ["yref"] = "y", ["showarrow"] = false,
                    ["text"] = v.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture),
                    ["font"] = new Dictionary<string, object> { ["color"] = LabelColor((v - zMin) / (zMax - zMin)) },
                });
            }
        var layout = new Layout();
        layout.SetProperty("annotations", labels);
        return GenericChart.addLayout(layout, chart);
    }

    /// <summary>Smallest and largest finite value (0, 1 when there is none).</summary>
    static (double Min, double Max) ValueRange(double[,] values)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (double v in values)
            if (double.IsFinite(v)) { min = Math.Min(min, v); max = Math.Max(max, v); }
        return min <= max ? (min, max) : (0, 1);
    }

    /// <summary>A colour range that is never empty: a constant matrix gets its value ± 0.5 (as Plotly does), drawn mid-scale.</summary>
    static (double Min, double Max) ColorRange((double Min, double Max) r) => r.Max > r.Min ? r : (r.Min - 0.5, r.Min + 0.5);

    /// <summary>
    /// The label colour for a cell at position <paramref name="t"/> (0 to 1) of the heatmap colour scale: whichever of
    /// white and black has the higher WCAG contrast ratio with the cell's colour.
    /// </summary>
    public static string LabelColor(double t)
    {
        double l = RelativeLuminance(HeatmapColorAt(t));
        return (l + 0.05) / 0.05 > 1.05 / (l + 0.05) ? DarkLabel : LightLabel;
    }

    /// <summary>The heatmap colour at position <paramref name="t"/> (clamped to 0…1), interpolated in RGB between the scale's stops as Plotly does.</summary>
    static (double R, double G, double B) HeatmapColorAt(double t)
    {
        t = double.IsNaN(t) ? 0 : Math.Clamp(t, 0, 1);
        int k = 1;
        while (k < HeatmapColors.Length - 1 && HeatmapColors[k].At < t) k++;
        var (a, b) = (HeatmapColors[k - 1], HeatmapColors[k]);
        double f = (t - a.At) / (b.At - a.At);
        var (ca, cb) = (Rgb(a.Hex), Rgb(b.Hex));
        return (ca.R + f * (cb.R - ca.R), ca.G + f * (cb.G - ca.G), ca.B + f * (cb.B - ca.B));
    }

    static (double R, double G, double B) Rgb(string hex) =>
        (Convert.ToInt32(hex[1..3], 16), Convert.ToInt32(hex[3..5], 16), Convert.ToInt32(hex[5..7], 16));

    /// <summary>WCAG relative luminance of an sRGB colour with 0…255 channels: 0 for black, 1 for white.</summary>
    static double RelativeLuminance((double R, double G, double B) c)
    {
        static double Linear(double channel)
        {
            double s = channel / 255;
            return s <= 0.04045 ? s / 12.92 : Math.Pow((s + 0.055) / 1.055, 2.4);
        }
        return 0.2126 * Linear(c.R) + 0.7152 * Linear(c.G) + 0.0722 * Linear(c.B);
    }

    /// <summary>A heatmap of a 2-D tensor (moved to the CPU).</summary>
    public static GenericChart Heatmap(Tensor matrix, IReadOnlyList<string> rowLabels, IReadOnlyList<string> columnLabels, string title = "", bool showValues = true, string xTitle = "", string yTitle = "")
    {
        if (matrix.dim() != 2) throw new ArgumentException($"Heatmap needs a 2-D tensor, got shape ({string.Join(", ", matrix.shape)}).", nameof(matrix));
        return Heatmap(ToArray2D(matrix), rowLabels, columnLabels, title, showValues, xTitle, yTitle);
    }

    /// <summary>Contour lines of z[i, j] = f(x[j], y[i]), e.g. a loss surface over two weights.</summary>
    public static GenericChart Contour(double[] x, double[] y, double[,] z, string title = "", string xTitle = "x", string yTitle = "y")
    {
        var rows = Enumerable.Range(0, y.Length).Select(i => Enumerable.Range(0, x.Length).Select(j => z[i, j]).ToArray()).ToArray();
        return Style(CsChart.Contour<double, double, double, string>(zData: rows, X: x, Y: y), title, xTitle, yTitle);
    }

    /// <summary>A 3-D surface z[i, j] = f(x[j], y[i]).</summary>
    public static GenericChart Surface(double[] x, double[] y, double[,] z, string title = "")
    {
        var rows = Enumerable.Range(0, y.Length).Select(i => Enumerable.Range(0, x.Length).Select(j => z[i, j]).ToArray()).ToArray();
        return Style(CsChart.Surface<double, double, double, string>(zData: rows, X: x, Y: y), title, "", "");
    }

    /// <summary>
    /// Points on log-log axes with a fitted power law drawn through them. Returns the chart and the fit
    /// (<see cref="PowerLawFit.FitWithFloor(IReadOnlyList{double}, IReadOnlyList{double}, int)"/> when <paramref name="withFloor"/>).
    /// </summary>
    public static (GenericChart Chart, PowerLawFit Fit) LogLogFit(IReadOnlyList<double> x, IReadOnlyList<double> y, string title = "", string xTitle = "x", string yTitle = "y", bool withFloor = false)
    {
        var fit = withFloor ? PowerLawFit.FitWithFloor(x, y) : PowerLawFit.Fit(x, y);
        double lo = Math.Log10(x.Min()), hi = Math.Log10(x.Max());
        var fx = Enumerable.Range(0, 50).Select(i => Math.Pow(10, lo + (hi - lo) * i / 49)).ToArray();
        var chart = CsChart.Combine([
            CsChart.Point<double, double, string>(x: x, y: y, Name: "measured"),
            CsChart.Line<double, double, string>(x: fx, y: fx.Select(fit.Predict), Name: fit.ToString()),
        ]);
        chart = Style(chart, title, xTitle, yTitle);
        chart = Plotly.NET.CSharp.GenericChartExtensions.WithXAxisStyle<double, double, string>(chart, TitleText: xTitle, AxisType: StyleParam.AxisType.Log);
        chart = Plotly.NET.CSharp.GenericChartExtensions.WithYAxisStyle<double, double, string>(chart, TitleText: yTitle, AxisType: StyleParam.AxisType.Log);
        return (chart, fit);
    }

    /// <summary>Sets the title and axis titles.</summary>
    public static GenericChart Style(GenericChart chart, string title, string xTitle, string yTitle)
    {
        if (!string.IsNullOrEmpty(title))
        {
            var layout = new Layout();
            layout.SetProperty("title", new Dictionary<string, object> { ["text"] = title });
            chart = GenericChart.addLayout(layout, chart);
        }
        if (!string.IsNullOrEmpty(xTitle)) chart = Plotly.NET.CSharp.GenericChartExtensions.WithXAxisStyle<double, double, string>(chart, TitleText: xTitle);
        if (!string.IsNullOrEmpty(yTitle)) chart = Plotly.NET.CSharp.GenericChartExtensions.WithYAxisStyle<double, double, string>(chart, TitleText: yTitle);
        return chart;
    }

    /// <summary>Copies a 2-D tensor into a double[rows, cols].</summary>
    public static double[,] ToArray2D(Tensor matrix)
    {
        using var scope = NewDisposeScope();
        var m = matrix.detach().cpu().to(float64).contiguous();
        long rows = m.shape[0], cols = m.shape[1];
        var flat = m.data<double>().ToArray();
        var result = new double[rows, cols];
        for (long i = 0; i < rows; i++) for (long j = 0; j < cols; j++) result[i, j] = flat[i * cols + j];
        return result;
    }

    static string[] Unique(IReadOnlyList<string> labels)
    {
        var seen = new Dictionary<string, int>();
        return labels.Select(l =>
        {
            int n = seen.TryGetValue(l, out int c) ? c + 1 : 0;
            seen[l] = n;
            return n == 0 ? l : l + new string('\u200B', n);
        }).ToArray();
    }
}
