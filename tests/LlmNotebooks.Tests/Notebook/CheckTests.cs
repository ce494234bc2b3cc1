using LlmNotebooks.Notebook;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Notebook;

public class CheckTests
{
    [Fact]
    public void Close_passes_within_tolerance_and_fails_with_both_values()
    {
        Check.Close(-Math.Log(0.6), 0.5108, 1e-4, "loss");
        var e = Assert.Throws<CheckFailedException>(() => Check.Close(0.6, 0.5108, 1e-4, "loss"));
        Assert.Contains("expected 0.5108", e.Message);
        Assert.Contains("got 0.6", e.Message);
    }

    [Fact]
    public void Shape_failure_names_expected_and_actual()
    {
        using var t = zeros(2, 3);
        Check.Shape(t, "t", 2, 3);
        var e = Assert.Throws<CheckFailedException>(() => Check.Shape(t, "t", 3, 2));
        Assert.Contains("expected shape (3, 2), got (2, 3)", e.Message);
    }

    [Fact]
    public void AllClose_compares_elements_and_shapes()
    {
        using var a = tensor(new float[] { 1, 2, 3 });
        using var b = tensor(new float[] { 1, 2, 3.1f });
        Check.AllClose(a, b, 0.2, "close");
        Assert.Throws<CheckFailedException>(() => Check.AllClose(a, b, 0.01, "far"));
        using var c = zeros(3, 1);
        Assert.Contains("shapes differ", Assert.Throws<CheckFailedException>(() => Check.AllClose(a, c, 1, "shape")).Message);
    }

    [Fact]
    public void That_and_Equal_fail_loudly()
    {
        Assert.Throws<CheckFailedException>(() => Check.That(false, "never"));
        var e = Assert.Throws<CheckFailedException>(() => Check.Equal(new[] { 1, 2 }, new[] { 1, 3 }, "list"));
        Assert.Contains("expected [1, 3], got [1, 2]", e.Message);
    }
}
