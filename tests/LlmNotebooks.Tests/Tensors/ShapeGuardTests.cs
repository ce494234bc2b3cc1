using LlmNotebooks.Tensors;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Tensors;

public class ShapeGuardTests
{
    [Fact]
    public void Require_accepts_matching_shapes_and_wildcards()
    {
        using var x = zeros(2, 32, 128);
        ShapeGuard.Require(x, "x", "(B, T, C)", -1, 32, 128);
        ShapeGuard.Require(x, "x", null, 2, 32, 128);
    }

    [Fact]
    public void Require_names_expected_and_actual_shapes()
    {
        using var x = zeros(2, 32, 128);
        var e = Assert.Throws<ArgumentException>(() => ShapeGuard.Require(x, "x", "(B, T, C)", -1, 64, 128));
        Assert.StartsWith("x: expected shape (B, T, C) = (*, 64, 128), got (2, 32, 128).", e.Message);
    }

    [Theory]
    [InlineData(new long[] { 3, 2 }, new long[] { 2, 3 })]
    [InlineData(new long[] { 2, 3, 4 }, new long[] { 4, 2 })]
    [InlineData(new long[] { 5, 1, 3, 4 }, new long[] { 7, 4, 2 })]
    [InlineData(new long[] { 3, 4 }, new long[] { 4 })]
    public void RequireMatMul_accepts_what_matmul_accepts(long[] a, long[] b)
    {
        using var x = zeros(a);
        using var y = zeros(b);
        ShapeGuard.RequireMatMul(x, y);
        using var product = matmul(x, y); // and torch agrees
    }

    [Theory]
    [InlineData(new long[] { 3, 2 }, new long[] { 3, 2 }, "a has 2 columns (last axis) but b has 3 rows")]
    [InlineData(new long[] { 2, 3, 4 }, new long[] { 3, 2 }, "a has 4 columns")]
    [InlineData(new long[] { 2, 3, 4 }, new long[] { 3, 4, 2 }, "do not broadcast")]
    [InlineData(new long[] { 3, 4 }, new long[] { 5 }, "its only axis")]
    public void RequireMatMul_explains_mismatches(long[] a, long[] b, string expected)
    {
        using var x = zeros(a);
        using var y = zeros(b);
        var e = Assert.Throws<ArgumentException>(() => ShapeGuard.RequireMatMul(x, y));
        Assert.Contains(expected, e.Message);
        Assert.Contains(ShapeGuard.Format(a), e.Message);
    }

    [Fact]
    public void Format_writes_wildcards_as_stars() => Assert.Equal("(*, 3)", ShapeGuard.Format([-1, 3]));
}
