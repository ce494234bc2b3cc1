using Plotly.NET;
using Plotly.NET.LayoutObjects;

namespace LlmNotebooks.Charts;

public static partial class Plot
{
    /// <summary>
    /// Small images side by side in one chart, each with its label above it: the Hopfield patterns of chapter 0, or any
    /// pixel grid. Every image is a flat list of pixels read row by row, <paramref name="width"/> pixels wide; values
    /// from <paramref name="min"/> (white) to <paramref name="max"/> (black). Images wrap after
    /// <paramref name="columns"/> per row (0 = all in one row).
    /// <code>
    /// Plot.Pixels("Two 2×2 images", 2, new[] { new[] { 1, -1, -1, 1 }, new[] { -1, 1, 1, -1 } }, new[] { "\\", "/" })
    /// </code>
    /// </summary>
    public static GenericChart Pixels(string title, int width, IReadOnlyList<IReadOnlyList<double>> images,
        IReadOnlyList<string>? labels = null, int columns = 0, double min = -1, double max = 1, int pixelSize = 18)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) throw new ArgumentException("Expected at least one image.", nameof(images));
        if (width <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"Width must be positive, got {width}.");
        if (!(max > min)) throw new ArgumentException($"Expected min < max, got min = {min}, max = {max}.", nameof(max));
        if (labels is not null && labels.Count != images.Count)
            throw new ArgumentException($"Got {images.Count} images but {labels.Count} labels.", nameof(labels));
        int pixels = images[0].Count;
        if (pixels == 0 || pixels % width != 0)
            throw new ArgumentException($"An image of {pixels} pixels cannot be {width} pixels wide.", nameof(images));
        int bad = images.Select((im, k) => (im, k)).FirstOrDefault(p => p.im.Count != pixels, (null!, -1)).k;
        if (bad >= 0) throw new ArgumentException($"All images must have {pixels} pixels; image {bad} has {images[bad].Count}.", nameof(images));

        int height = pixels / width, n = images.Count;
        int cols = columns <= 0 ? n : Math.Min(columns, n), rows = (n + cols - 1) / cols;
        const int gapX = 1, gapY = 2;                                   // blank pixels between images (room for labels)
        int mosaicW = cols * width + (cols - 1) * gapX, mosaicH = rows * (height + gapY);
        var z = new object?[mosaicH][];                                 // null = no pixel (drawn as background)
        for (int y = 0; y < mosaicH; y++) z[y] = new object?[mosaicW];
        var annotations = new List<Dictionary<string, object>>();
        for (int k = 0; k < n; k++)
        {
            int left = k % cols * (width + gapX), top = k / cols * (height + gapY) + gapY;
            for (int r = 0; r < height; r++)
                for (int c = 0; c < width; c++)
                    z[top + r][left + c] = Math.Clamp(images[k][r * width + c], min, max);
            if (labels is not null)
                annotations.Add(new()
                {
                    ["x"] = left + (width - 1) / 2.0, ["y"] = top - 0.6, ["xref"] = "x", ["yref"] = "y",
                    ["text"] = labels[k], ["showarrow"] = false, ["yanchor"] = "bottom",
                });
        }

        var trace = new Trace("heatmap");
        trace.SetProperty("z", z);
        trace.SetProperty("zmin", min);
        trace.SetProperty("zmax", max);
        trace.SetProperty("colorscale", "Greys");
        trace.SetProperty("reversescale", true);                        // Greys runs black → white; we want max = black
        trace.SetProperty("showscale", false);
        trace.SetProperty("hoverongaps", false);
        var chart = GenericChart.ofTraceObject(true, trace);

        var hidden = new Dictionary<string, object> { ["visible"] = false, ["constrain"] = "domain" };
        var layout = new Layout();
        layout.SetProperty("xaxis", hidden);
        layout.SetProperty("yaxis", new Dictionary<string, object>
        {
            ["visible"] = false, ["autorange"] = "reversed", ["scaleanchor"] = "x", ["constrain"] = "domain",
        });
        layout.SetProperty("annotations", annotations);
        layout.SetProperty("plot_bgcolor", "white");
        if (!string.IsNullOrEmpty(title)) layout.SetProperty("title", new Dictionary<string, object> { ["text"] = title });
        layout.SetProperty("width", Math.Max(300, mosaicW * pixelSize + 80));
        layout.SetProperty("height", mosaicH * pixelSize + (string.IsNullOrEmpty(title) ? 40 : 90));
        layout.SetProperty("margin", new Dictionary<string, object> { ["l"] = 40, ["r"] = 40, ["t"] = string.IsNullOrEmpty(title) ? 20 : 60, ["b"] = 20 });
        return GenericChart.addLayout(layout, chart);
    }

    /// <summary><see cref="Pixels(string, int, IReadOnlyList{IReadOnlyList{double}}, IReadOnlyList{string}?, int, double, double, int)"/> for ±1 (or 0/1) integer images.</summary>
    public static GenericChart Pixels(string title, int width, IReadOnlyList<IReadOnlyList<int>> images,
        IReadOnlyList<string>? labels = null, int columns = 0, double min = -1, double max = 1, int pixelSize = 18)
    {
        ArgumentNullException.ThrowIfNull(images);
        return Pixels(title, width, images.Select(im => (IReadOnlyList<double>)im.Select(v => (double)v).ToArray()).ToArray(),
            labels, columns, min, max, pixelSize);
    }
}
