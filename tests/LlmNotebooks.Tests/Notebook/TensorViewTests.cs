using LlmNotebooks.Notebook;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Notebook;

public class TensorViewTests
{
    [Fact]
    public void Header_names_shape_dtype_and_device()
    {
        using var t = zeros(2, 3, 4);
        Assert.Equal("Tensor (2, 3, 4) float32 cpu", TensorView.Header(t));
    }

    [Fact]
    public void Small_matrices_show_every_value()
    {
        using var t = tensor(new float[,] { { 1, 2 }, { 3, 4.5f } });
        string html = TensorView.ToHtml(t);
        foreach (var v in new[] { ">1<", ">2<", ">3<", ">4.5<" }) Assert.Contains(v, html);
        Assert.DoesNotContain("…", html);
    }

    [Fact]
    public void Large_tensors_are_truncated_with_first_and_last_entries()
    {
        using var t = arange(10_000, dtype: float32).reshape(100, 100);
        string html = TensorView.ToHtml(t);
        Assert.Contains("…", html);
        Assert.Contains(">9999<", html);   // last element
        Assert.Contains(">0<", html);      // first element
        Assert.DoesNotContain(">5050<", html); // a middle one
        Assert.True(html.Length < 20_000, $"HTML is {html.Length} characters");
    }

    [Fact]
    public void Rank_three_shows_leading_slices()
    {
        using var t = arange(24, dtype: int64).reshape(2, 3, 4);
        string html = TensorView.ToHtml(t);
        Assert.Contains("[0, :, :]", html);
        Assert.Contains("[1, :, :]", html);
        Assert.Contains(">23<", html);
    }

    [Fact]
    public void Scalars_and_booleans_display()
    {
        using var s = tensor(2.5);
        using var b = tensor(new[] { true, false });
        Assert.Contains("2.5", TensorView.ToHtml(s));
        Assert.Contains("true", TensorView.ToHtml(b));
        Assert.StartsWith("Tensor () float64 cpu", TensorView.ToText(s));
    }
}
