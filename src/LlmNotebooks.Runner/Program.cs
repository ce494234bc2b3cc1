using System.Diagnostics;
using System.Globalization;
using LlmNotebooks.Platform;
using LlmNotebooks.Runner;
using LlmNotebooks.Runner.Book;

// dotnet run --project src/LlmNotebooks.Runner -- [notebook paths] [--cell-timeout SECONDS] [--output DIR]
//                                                 [--book DIR | --no-book | --book-only]
// dotnet run --project src/LlmNotebooks.Runner -- --export-apps [notebook paths] [--apps DIR]
// Executes the notebooks (default: notebooks/*.ipynb, in order) in the real kernel and writes executed copies, records
// each one's outcome in run.json beside them, then builds the offline book (artifacts/book) from the executed copies.

const string Usage = "usage: LlmNotebooks.Runner [notebook.ipynb ...] [--cell-timeout SECONDS (default: no limit)] " +
                     "[--output DIR (default artifacts/executed)] [--book DIR (default artifacts/book) | --no-book | --book-only] | --export-apps [notebook.ipynb ...] [--apps DIR]";

var paths = new List<string>();
double? cellTimeout = null;   // no limit: a training cell takes minutes on a busy machine; "still running" lines show progress
string? outputDir = null;
string? bookDir = null;
bool noBook = false, bookOnly = false, exportApps = false;
string? appsDir = null;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--cell-timeout" when i + 1 < args.Length && double.TryParse(args[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out double s) && s > 0:
            cellTimeout = s; i++; break;
        case "--output" when i + 1 < args.Length:
            outputDir = Path.GetFullPath(args[++i]); break;
        case "--book" when i + 1 < args.Length:
            bookDir = Path.GetFullPath(args[++i]); break;
        case "--no-book":
            noBook = true; break;
        case "--book-only":
            bookOnly = true; break;
        case "--export-apps":
            exportApps = true; break;
        case "--apps" when i + 1 < args.Length:
            appsDir = Path.GetFullPath(args[++i]); break;
        case "-h" or "--help":
            Console.WriteLine(Usage);
            Console.WriteLine("  --book DIR    write the offline book (HTML pages of the executed notebooks) to DIR");
            Console.WriteLine("  --no-book     run the notebooks, build no book");
            Console.WriteLine("  --book-only   run nothing: build the book from the executed copies already in the output folder");
            Console.WriteLine("  --export-apps run nothing: write each notebook as a .NET file-based app, artifacts/apps/NN-name.cs");
            Console.WriteLine("                (run one with `dotnet run artifacts/apps/01-math.cs`; its outputs go to artifacts/apps/01-math.html)");
            Console.WriteLine("  --apps DIR    with --export-apps: write the apps to DIR");
            return 0;
        case var a when a.StartsWith("--", StringComparison.Ordinal):
            Console.Error.WriteLine($"error: unknown or incomplete option '{a}' (try --help).");
            return 2;
        default:
            paths.Add(Path.GetFullPath(args[i])); break;
    }
}
if (noBook && (bookOnly || bookDir is not null))
{
    Console.Error.WriteLine("error: --no-book cannot be combined with --book or --book-only.");
    return 2;
}

string? root = Checkout.FindRoot(Directory.GetCurrentDirectory()) ?? Checkout.FindRoot(AppContext.BaseDirectory);
if (root is null)
{
    Console.Error.WriteLine("error: run this from inside the course checkout (no LlmNotebooks.sln found above the current folder).");
    return 2;
}
string executedDir = outputDir ?? Path.Combine(root, "artifacts", "executed");
bookDir ??= Path.Combine(root, "artifacts", "book");
if (paths.Count == 0) paths.AddRange(NotebookRunner.DefaultNotebooks(root));
foreach (var p in paths.Where(p => !File.Exists(p)))
{
    Console.Error.WriteLine($"error: {p}: no such notebook file.");
    return 2;
}

if (bookOnly) return BuildBook() ? 0 : 1;
if (exportApps) return ExportApps();

// A quick check that TorchSharp loads here, with the same fix the notebooks' first cell applies.
try
{
    TorchNativeLoader.EnsureLoadable();
    using var probe = TorchSharp.torch.ones(2, 2);
    if (probe.sum().item<float>() != 4f) throw new InvalidOperationException("TorchSharp computed 1+1+1+1 != 4.");
}
catch (Exception e) when (TorchNativeLoader.Explain(e) is { } hint)
{
    Console.Error.WriteLine($"error: {hint}");
    return 1;
}

var options = new RunOptions
{
    RepoRoot = root,
    OutputDirectory = executedDir,
    CellTimeout = cellTimeout is double limit ? TimeSpan.FromSeconds(limit) : Timeout.InfiniteTimeSpan,
};
var records = RunRecords.Load(executedDir);
var results = new List<NotebookResult>();
int exitCode = 0;
foreach (string path in paths)
{
    var clock = Stopwatch.StartNew();
    try
    {
        var result = await NotebookRunner.RunAsync(path, options);
        results.Add(result);
        records[Path.GetFileName(path)] = RunRecords.From(result);
        RunRecords.Save(executedDir, records);
    }
    catch (Exception e) when (e is NotebookFormatException or KernelException)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        records[Path.GetFileName(path)] = new RunRecord(RunRecord.FailedStatus, null, Math.Round(clock.Elapsed.TotalSeconds, 1), 0, 0);
        RunRecords.Save(executedDir, records);
        exitCode = 1;
        break;
    }
}

Console.WriteLine();
foreach (var r in results)
    Console.WriteLine($"{(r.Succeeded ? "✓" : "✗")} {Path.GetFileName(r.Notebook),-28} {r.CellsRun}/{r.CellCount} cells  {r.Duration.TotalSeconds,6:F1} s  (kernel start {r.KernelStartup.TotalSeconds:F1} s)");
int failed = results.Count(r => !r.Succeeded);
if (exitCode == 0) Console.WriteLine(failed == 0 ? $"All {results.Count} notebooks ran." : $"{failed} of {results.Count} notebooks failed.");
if (failed > 0) exitCode = 1;

if (!noBook && !BuildBook()) exitCode = 1;
return exitCode;

// Each notebook as a file-based app (AppExporter); a notebook that breaks an export rule is written anyway, and named.
int ExportApps()
{
    string folder = appsDir ?? Path.Combine(root, "artifacts", "apps");
    int broken = 0;
    foreach (string path in paths)
    {
        try
        {
            var (app, export) = AppExporter.ExportTo(path, folder, root);
            string shown = Path.GetRelativePath(Directory.GetCurrentDirectory(), app);
            Console.WriteLine($"{(export.Violations.Count == 0 ? "✓" : "✗")} {Path.GetFileName(path),-28} → {shown}" +
                              (export.Renames.Count > 0 ? $" ({export.Renames.Count} variables renamed)" : ""));
            foreach (string r in export.Renames) Console.WriteLine($"    renamed: {r}");
            foreach (string v in export.Violations) Console.WriteLine($"    not exact: {v}");
            if (export.Violations.Count > 0) broken++;
        }
        catch (NotebookFormatException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            broken++;
        }
    }
    Console.WriteLine(broken == 0 ? $"{paths.Count} apps written; run one with `dotnet run <app>.cs` (its page: <app>.html)."
                                  : $"{broken} of {paths.Count} notebooks could not be exported exactly (see above).");
    return broken == 0 ? 0 : 1;
}

// The book: every chapter of notebooks/ (and any other notebook named on the command line), from its executed copy
// where there is one, with its status and time from run.json; a chapter never run shows its source notebook.
bool BuildBook()
{
    var recorded = RunRecords.Load(executedDir);
    var sources = NotebookRunner.DefaultNotebooks(root).Concat(paths)
        .GroupBy(Path.GetFileName, StringComparer.Ordinal).Select(g => g.First())
        .OrderBy(Path.GetFileName, StringComparer.Ordinal);
    var chapters = new List<BookChapter>();
    foreach (string source in sources)
    {
        string name = Path.GetFileName(source);
        string executed = Path.Combine(executedDir, name);
        if (File.Exists(executed) && recorded.TryGetValue(name, out var record))
            chapters.Add(new BookChapter(executed, record.ChapterStatus, record.FailedCell, TimeSpan.FromSeconds(record.Seconds)));
        else
            chapters.Add(new BookChapter(File.Exists(executed) ? executed : source, ChapterStatus.NotRun));
    }

    var clock = Stopwatch.StartNew();
    try
    {
        var pages = BookBuilder.Build(chapters, bookDir, Console.Out);
        clock.Stop();
        double megabytes = BookBuilder.SizeOf(bookDir) / 1e6;
        string shown = Path.GetRelativePath(Directory.GetCurrentDirectory(), pages[0]);
        if (shown.StartsWith("..", StringComparison.Ordinal)) shown = pages[0];
        Console.WriteLine($"Book: {shown} ({pages.Count - 1} chapters, {megabytes.ToString("0.0", CultureInfo.InvariantCulture)} MB, " +
                          $"built in {clock.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s); open it in a browser, offline.");
        return true;
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
    {
        Console.Error.WriteLine($"error: the book could not be written to {bookDir}: {e.Message}");
        return false;
    }
}
