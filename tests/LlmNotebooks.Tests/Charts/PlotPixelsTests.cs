using LlmNotebooks.Charts;
using Plotly.NET;

namespace LlmNotebooks.Tests.Charts;

public class PlotPixelsTests
{
    static string Json(GenericChart chart) => GenericChart.toJson(chart);

    [Fact]
    public void Draws_images_side_by_side_as_one_heatmap_with_gaps_and_labels()
    {
        string json = Json(Plot.Pixels("Two", 2, new[] { new[] { 1, -1, -1, 1 }, new[] { -1, 1, 1, -1 } }, ["a", "b"]));
        Assert.Contains("\"type\":\"heatmap\"", json);
        Assert.Contains("[1.0,-1.0,null,-1.0,1.0]", json);          // image row 1 of both images, a blank column between
        Assert.Contains("\"text\":\"a\"", json);
        Assert.Contains("\"text\":\"b\"", json);
        Assert.Contains("\"scaleanchor\":\"x\"", json);              // square pixels
    }

    [Fact]
    public void Wraps_into_rows_and_clamps_values_to_the_range()
    {
        var images = Enumerable.Range(0, 5).Select(k => (IReadOnlyList<double>)new double[] { k, 5 }).ToArray();
        string json = Json(Plot.Pixels("", 1, images, columns: 2, min: 0, max: 2));
        Assert.Contains("\"zmax\":2.0", json);
        Assert.DoesNotContain("5.0", json);                          // clamped to max
        Assert.Contains("[2.0,null,2.0]", json);                     // second pixel row of the first image row
    }

    [Fact]
    public void Rejects_inconsistent_images()
    {
        Assert.Contains("cannot be 2 pixels wide", Assert.Throws<ArgumentException>(() => Plot.Pixels("", 2, new[] { new[] { 1, 1, 1 } })).Message);
        Assert.Contains("image 1 has 2", Assert.Throws<ArgumentException>(() => Plot.Pixels("", 2, new[] { new[] { 1, 1, 1, 1 }, new[] { 1, 1 } })).Message);
        Assert.Contains("2 images but 1 labels", Assert.Throws<ArgumentException>(() => Plot.Pixels("", 1, new[] { new[] { 1 }, new[] { 1 } }, ["a"])).Message);
        Assert.Contains("at least one image", Assert.Throws<ArgumentException>(() => Plot.Pixels("", 1, Array.Empty<int[]>())).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Plot.Pixels("", 0, new[] { new[] { 1 } }));
    }
}
