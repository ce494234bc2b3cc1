namespace LlmNotebooks.Platform;

/// <summary>
/// The course checkout: the folder holding LlmNotebooks.sln. Everything that needs a path inside the repository
/// (the dataset, the course model, the notebooks, the benchmark reports) finds it here, one way.
/// </summary>
public static class Checkout
{
    /// <summary>The file that marks the repository root.</summary>
    public const string Marker = "LlmNotebooks.sln";

    /// <summary>The folder holding <see cref="Marker"/>, searched upwards from <paramref name="start"/>; null when there is none.</summary>
    public static string? FindRoot(string start)
    {
        if (string.IsNullOrEmpty(start)) return null;
        for (var dir = new DirectoryInfo(Path.GetFullPath(start)); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, Marker))) return dir.FullName;
        return null;
    }

    /// <summary>
    /// The repository root, searched upwards from the current directory, then from this library's location, then from
    /// the program's folder (a notebook's or a test's working directory may lie outside the checkout).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">No checkout above any of them.</exception>
    public static string Root =>
        new[] { Directory.GetCurrentDirectory(), Path.GetDirectoryName(typeof(Checkout).Assembly.Location) ?? "", AppContext.BaseDirectory }
            .Select(FindRoot).FirstOrDefault(r => r is not null)
        ?? throw new DirectoryNotFoundException(
            $"Could not find the course checkout (a folder holding {Marker}) above '{Directory.GetCurrentDirectory()}' or above the library " +
            $"at '{typeof(Checkout).Assembly.Location}'. Run from inside the checkout, or pass the folder explicitly.");
}
