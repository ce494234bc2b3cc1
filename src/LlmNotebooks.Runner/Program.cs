using System.Globalization;
using LlmNotebooks.Platform;
using LlmNotebooks.Runner;

// dotnet run --project src/LlmNotebooks.Runner -- [notebook paths] [--cell-timeout SECONDS] [--output DIR]
// Executes the notebooks (default: notebooks/*.ipynb, in order) in the real kernel and writes executed copies.

var paths = new List<string>();
double cellTimeout = 300;
string? outputDir = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--cell-timeout" when i + 1 < args.Length && double.TryParse(args[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out double s) && s > 0:
            cellTimeout = s; i++; break;
        case "--output" when i + 1 < args.Length:
            outputDir = Path.GetFullPath(args[++i]); break;
        case "-h" or "--help":
            Console.WriteLine("usage: LlmNotebooks.Runner [notebook.ipynb ...] [--cell-timeout SECONDS (default 300)] [--output DIR (default artifacts/executed)]");
            return 0;
        case var a when a.StartsWith("--", StringComparison.Ordinal):
            Console.Error.WriteLine($"error: unknown or incomplete option '{a}' (try --help).");
            return 2;
        default:
            paths.Add(Path.GetFullPath(args[i])); break;
    }
}

string? root = NotebookRunner.FindRepoRoot(Directory.GetCurrentDirectory()) ?? NotebookRunner.FindRepoRoot(AppContext.BaseDirectory);
if (root is null)
{
    Console.Error.WriteLine("error: run this from inside the course checkout (no LlmNotebooks.sln found above the current folder).");
    return 2;
}
if (paths.Count == 0) paths.AddRange(NotebookRunner.DefaultNotebooks(root));
foreach (var p in paths.Where(p => !File.Exists(p)))
{
    Console.Error.WriteLine($"error: {p}: no such notebook file.");
    return 2;
}

// A quick check that TorchSharp loads here, with the same fix the notebooks' first cell applies.
TorchNativeLoader.EnsureLoadable();
using (var probe = TorchSharp.torch.ones(2, 2)) { if (probe.sum().item<float>() != 4f) throw new InvalidOperationException("TorchSharp computed 1+1+1+1 != 4."); }

var options = new RunOptions { RepoRoot = root, OutputDirectory = outputDir, CellTimeout = TimeSpan.FromSeconds(cellTimeout) };
var results = new List<NotebookResult>();
foreach (string path in paths)
{
    try { results.Add(await NotebookRunner.RunAsync(path, options)); }
    catch (Exception e) when (e is NotebookFormatException or KernelException)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 1;
    }
}

Console.WriteLine();
foreach (var r in results)
    Console.WriteLine($"{(r.Succeeded ? "✓" : "✗")} {Path.GetFileName(r.Notebook),-28} {r.CellsRun}/{r.CellCount} cells  {r.Duration.TotalSeconds,6:F1} s  (kernel start {r.KernelStartup.TotalSeconds:F1} s)");
int failed = results.Count(r => !r.Succeeded);
Console.WriteLine(failed == 0 ? $"All {results.Count} notebooks ran." : $"{failed} of {results.Count} notebooks failed.");
return failed == 0 ? 0 : 1;
