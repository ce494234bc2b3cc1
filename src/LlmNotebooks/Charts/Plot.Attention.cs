using LlmNotebooks.Tensors;
using Plotly.NET;
using TorchSharp;
using static TorchSharp.torch;
using CsChart = Plotly.NET.CSharp.Chart;

namespace LlmNotebooks.Charts;

public static partial class Plot
{
    /// <summary>
    /// Attention weights (T, S) as a heatmap: one row per query token (who is looking), one column per key token
    /// (who is looked at); each row sums to 1.
    /// </summary>
    public static GenericChart Attention(Tensor weights, IReadOnlyList<string> queryTokens, IReadOnlyList<string>? keyTokens = null, string title = "Attention weights", bool showValues = true)
    {
        keyTokens ??= queryTokens;
        if (weights.dim() != 2 || weights.shape[0] != queryTokens.Count || weights.shape[1] != keyTokens.Count)
            throw new ArgumentException(
                $"Attention weights must be (T, S) = ({queryTokens.Count}, {keyTokens.Count}) for {queryTokens.Count} query and {keyTokens.Count} key tokens, got {ShapeGuard.Format(weights.shape)}.", nameof(weights));
        return Heatmap(weights, queryTokens, keyTokens, title, showValues, "key (looked at)", "query (looking)");
    }

    /// <summary>
    /// Per-head attention weights (H, T, S) as a grid of heatmaps, one per head, all on one colour scale. The cells are
    /// too small for value labels; hover over a cell to read its weight.
    /// </summary>
    public static GenericChart AttentionHeads(Tensor weights, IReadOnlyList<string> queryTokens, IReadOnlyList<string>? keyTokens = null, string title = "Attention weights per head", int columns = 4)
    {
        keyTokens ??= queryTokens;
        if (weights.dim() != 3 || weights.shape[1] != queryTokens.Count || weights.shape[2] != keyTokens.Count)
            throw new ArgumentException(
                $"Per-head attention weights must be (H, T, S) with T = {queryTokens.Count}, S = {keyTokens.Count}, got {ShapeGuard.Format(weights.shape)}.", nameof(weights));
        int heads = (int)weights.shape[0];
        int cols = Math.Min(columns, heads), rows = (heads + cols - 1) / cols;
        // One colour range for all heads, so that the single colour bar (the first head's) reads right for every one.
        var matrices = Enumerable.Range(0, heads).Select(h => ToArray2D(weights[h])).ToArray();
        var range = (matrices.Min(m => ValueRange(m).Min), matrices.Max(m => ValueRange(m).Max));
        var charts = matrices.Select((m, h) => HeatmapTrace(m, queryTokens, keyTokens, showValues: false, showScale: h == 0, range));
        var grid = CsChart.Grid(charts, rows, cols,
            SubPlotTitles: Enumerable.Range(1, heads).Select(h => $"head {h}").ToArray(),
            Pattern: StyleParam.LayoutGridPattern.Independent);
        grid = Style(grid, title, "", "");
        return Plotly.NET.CSharp.GenericChartExtensions.WithSize(grid, Width: 260 * cols + 120, Height: 250 * rows + 100);
    }
}
