using System.Globalization;
using LlmNotebooks.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Notebook;

/// <summary>
/// The assertions of the notebooks' check cells. Each passing check prints one line starting with ✓ so a reader
/// sees what was verified; a failing one throws <see cref="CheckFailedException"/> with expected and actual values,
/// which stops the notebook run.
/// </summary>
public static class Check
{
    /// <summary>Passes when <paramref name="condition"/> holds.</summary>
    public static void That(bool condition, string what)
    {
        if (!condition) throw new CheckFailedException($"Check failed: {what}.");
        Pass(what);
    }

    /// <summary>Passes when |actual - expected| ≤ tolerance. Example: Check.Close(-Math.Log(0.6), 0.5108, 1e-4, "loss").</summary>
    public static void Close(double actual, double expected, double tolerance, string what)
    {
        if (double.IsNaN(actual) || Math.Abs(actual - expected) > tolerance)
            throw new CheckFailedException(
                $"Check failed: {what}: expected {F(expected)} ± {F(tolerance)}, got {F(actual)} (off by {F(Math.Abs(actual - expected))}).");
        Pass($"{what} = {F(actual)} (expected {F(expected)} ± {F(tolerance)})");
    }

    /// <summary>Passes when the tensor has the given shape (-1 matches any size).</summary>
    public static void Shape(Tensor tensor, string what, params long[] expected)
    {
        try { ShapeGuard.Require(tensor, what, null, expected); }
        catch (ArgumentException e) { throw new CheckFailedException("Check failed: " + e.Message); }
        Pass($"{what} has shape {ShapeGuard.Format(tensor.shape)}");
    }

    /// <summary>Passes when two tensors have the same shape and every element differs by at most <paramref name="tolerance"/>.</summary>
    public static void AllClose(Tensor actual, Tensor expected, double tolerance, string what)
    {
        using var scope = NewDisposeScope();
        if (!actual.shape.SequenceEqual(expected.shape))
            throw new CheckFailedException(
                $"Check failed: {what}: shapes differ, {ShapeGuard.Format(actual.shape)} vs {ShapeGuard.Format(expected.shape)}.");
        double maxDiff = actual.numel() == 0 ? 0 : (actual.to(float64) - expected.to(float64)).abs().max().item<double>();
        if (double.IsNaN(maxDiff) || maxDiff > tolerance)
            throw new CheckFailedException($"Check failed: {what}: largest difference {F(maxDiff)} exceeds {F(tolerance)}.");
        Pass($"{what}: largest difference {F(maxDiff)} ≤ {F(tolerance)}");
    }

    /// <summary>Passes when two sequences are equal element by element.</summary>
    public static void Equal<T>(IEnumerable<T> actual, IEnumerable<T> expected, string what)
    {
        var a = actual.ToList();
        var e = expected.ToList();
        if (!a.SequenceEqual(e))
        {
            int first = Enumerable.Range(0, Math.Min(a.Count, e.Count)).FirstOrDefault(i => !Equals(a[i], e[i]), Math.Min(a.Count, e.Count));
            string where = a.Count != e.Count ? $"{a.Count} items instead of {e.Count}; " : "";
            throw new CheckFailedException($"Check failed: {what}: expected [{Short(e)}], got [{Short(a)}] ({where}first difference at index {first}: " +
                                           $"expected {(first < e.Count ? e[first] : "(end)")}, got {(first < a.Count ? a[first] : "(end)")}).");
        }
        Pass(a.Count <= 12 ? $"{what} = [{string.Join(", ", a)}]" : $"{what} ({a.Count} items, all equal)");
    }

    static string Short<T>(List<T> items) => items.Count <= 12 ? string.Join(", ", items) : string.Join(", ", items.Take(10)) + $", … ({items.Count} items)";

    static void Pass(string what) => Console.WriteLine($"✓ {what}");

    static string F(double x) => x.ToString("G6", CultureInfo.InvariantCulture);
}
