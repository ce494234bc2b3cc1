namespace LlmNotebooks.Scaling;

/// <summary>
/// A fitted power law y = E + A · x^(-Alpha) (E = 0 for a pure power law, a straight line on a log-log chart).
/// Example: points (1, 10), (10, 1), (100, 0.1) give A = 10, Alpha = 1, E = 0.
/// </summary>
public sealed record PowerLawFit(double A, double Alpha, double E, double RSquaredLog)
{
    public double Predict(double x) => E + A * Math.Pow(x, -Alpha);

    public override string ToString()
    {
        string power = $"{A:G4} · x^{-Alpha:G4}";
        return E == 0 ? $"y = {power}" : $"y = {E:G4} + {power}";
    }

    /// <summary>Least squares of log y on log x. Needs at least two points with x, y &gt; 0.</summary>
    public static PowerLawFit Fit(IReadOnlyList<double> x, IReadOnlyList<double> y) => FitShifted(x, y, 0);

    /// <summary>
    /// Fits y = E + A·x^(-Alpha) with an irreducible floor E (as in scaling laws, L(N) = E + A/N^alpha): E is searched
    /// on a grid in [0, min y), each candidate fitted in log space, and the one with least squared error in y wins.
    /// </summary>
    public static PowerLawFit FitWithFloor(IReadOnlyList<double> x, IReadOnlyList<double> y, int gridSize = 400)
    {
        Validate(x, y);
        double minY = y.Min();
        PowerLawFit best = Fit(x, y);
        double bestErr = SquaredError(best, x, y);
        for (int i = 1; i < gridSize; i++)
        {
            double e = minY * i / gridSize;
            var fit = FitShifted(x, y, e);
            double err = SquaredError(fit, x, y);
            if (err < bestErr) (best, bestErr) = (fit, err);
        }
        return best;
    }

    /// <summary>Fits y = <paramref name="floor"/> + A·x^(-Alpha) with the floor given (e.g. a known entropy of the data); needs y &gt; floor.</summary>
    public static PowerLawFit FitWithFloor(IReadOnlyList<double> x, IReadOnlyList<double> y, double floor)
    {
        if (y.Any(v => v <= floor)) throw new ArgumentException($"Every y must lie above the floor {floor}; the smallest is {y.Min()}.", nameof(y));
        return FitShifted(x, y, floor);
    }

    static PowerLawFit FitShifted(IReadOnlyList<double> x, IReadOnlyList<double> y, double e)
    {
        Validate(x, y);
        int n = x.Count;
        var lx = x.Select(v => Math.Log(v)).ToArray();
        var ly = y.Select(v => Math.Log(v - e)).ToArray();
        double mx = lx.Average(), my = ly.Average();
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < n; i++)
        {
            sxy += (lx[i] - mx) * (ly[i] - my);
            sxx += (lx[i] - mx) * (lx[i] - mx);
            syy += (ly[i] - my) * (ly[i] - my);
        }
        if (sxx == 0) throw new ArgumentException("A power-law fit needs at least two different x values.", nameof(x));
        double slope = sxy / sxx;
        double r2 = syy == 0 ? 1 : sxy * sxy / (sxx * syy);
        return new PowerLawFit(Math.Exp(my - slope * mx), -slope, e, r2);
    }

    static double SquaredError(PowerLawFit f, IReadOnlyList<double> x, IReadOnlyList<double> y) =>
        x.Select((xi, i) => Math.Pow(f.Predict(xi) - y[i], 2)).Sum();

    static void Validate(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException($"x and y must have the same length (got {x.Count} and {y.Count}).");
        if (x.Count < 2) throw new ArgumentException($"A power-law fit needs at least 2 points, got {x.Count}.");
        if (x.Any(v => !(v > 0)) || y.Any(v => !(v > 0)))
            throw new ArgumentException("A power-law fit works on a log-log scale: every x and y must be positive.");
    }
}
