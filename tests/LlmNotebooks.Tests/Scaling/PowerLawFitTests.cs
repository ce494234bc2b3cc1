using CsCheck;
using LlmNotebooks.Charts;
using LlmNotebooks.Scaling;

namespace LlmNotebooks.Tests.Scaling;

public class PowerLawFitTests
{
    [Fact]
    public void Recovers_an_exact_power_law()
    {
        var fit = PowerLawFit.Fit([1, 10, 100], [10, 1, 0.1]);
        Assert.Equal(10, fit.A, 9);
        Assert.Equal(1, fit.Alpha, 9);
        Assert.Equal(0, fit.E);
        Assert.Equal(1, fit.RSquaredLog, 9);
    }

    [Fact]
    public void Recovers_any_power_law_from_exact_points() =>
        Gen.Select(Gen.Double[0.1, 100], Gen.Double[-3, 3]).Sample((a, alpha) =>
        {
            double[] x = [1, 2, 5, 10, 50, 200];
            var y = x.Select(v => a * Math.Pow(v, -alpha)).ToArray();
            var fit = PowerLawFit.Fit(x, y);
            return Math.Abs(fit.A - a) < 1e-6 * a && Math.Abs(fit.Alpha - alpha) < 1e-9;
        });

    [Fact]
    public void Fit_with_floor_finds_the_irreducible_loss()
    {
        // Chinchilla-like: L(N) = 1.69 + 406.4 / N^0.34
        double[] n = [1e5, 3e5, 1e6, 3e6, 1e7, 3e7, 1e8, 1e9];
        var loss = n.Select(v => 1.69 + 406.4 * Math.Pow(v, -0.34)).ToArray();
        var fit = PowerLawFit.FitWithFloor(n, loss, gridSize: 2000);
        Assert.InRange(fit.E, 1.6, 1.75);
        Assert.InRange(fit.Alpha, 0.30, 0.38);
        Assert.All(n, v => Assert.InRange(fit.Predict(v) / (1.69 + 406.4 * Math.Pow(v, -0.34)), 0.99, 1.01));
    }

    [Fact]
    public void A_known_floor_is_kept_and_the_rest_fitted_exactly()
    {
        double[] n = [1e3, 1e4, 1e5, 1e6];
        var loss = n.Select(v => 0.5 + 3 * Math.Pow(v, -0.3)).ToArray();
        var fit = PowerLawFit.FitWithFloor(n, loss, floor: 0.5);
        Assert.Equal(0.5, fit.E);
        Assert.Equal(3, fit.A, 9);
        Assert.Equal(0.3, fit.Alpha, 9);
        Assert.Throws<ArgumentException>(() => PowerLawFit.FitWithFloor(n, loss, floor: 1.0));
    }

    [Theory]
    [InlineData(new double[] { 1 }, new double[] { 1 }, "at least 2 points")]
    [InlineData(new double[] { 1, 2 }, new double[] { 1 }, "same length")]
    [InlineData(new double[] { 1, -2 }, new double[] { 1, 2 }, "must be positive")]
    [InlineData(new double[] { 3, 3 }, new double[] { 1, 2 }, "two different x values")]
    public void Bad_input_gets_a_clear_error(double[] x, double[] y, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => PowerLawFit.Fit(x, y));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Prints_the_exponent_with_its_sign() =>
        Assert.Equal("y = 2 · x^3", new PowerLawFit(2, -3, 0, 1).ToString());
}
