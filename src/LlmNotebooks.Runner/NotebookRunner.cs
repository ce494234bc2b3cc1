using System.Diagnostics;

namespace LlmNotebooks.Runner;

/// <summary>Settings of a run.</summary>
public sealed record RunOptions
{
    /// <summary>The repository root (holds LlmNotebooks.sln and the tool manifest).</summary>
    public required string RepoRoot { get; init; }
    /// <summary>Where executed copies go; default artifacts/executed under the root.</summary>
    public string? OutputDirectory { get; init; }
    /// <summary>The kernel's working directory; default the notebook's own folder (as VS Code and Jupyter do).</summary>
    public string? WorkingDirectory { get; init; }
    /// <summary>
    /// How long one cell may run before it is stopped and counted as failed; <see cref="Timeout.InfiniteTimeSpan"/> (the
    /// default) for no limit. A training cell takes minutes on a busy 2-core machine, so the course command sets none;
    /// tests set one with a wide margin.
    /// </summary>
    public TimeSpan CellTimeout { get; init; } = Timeout.InfiniteTimeSpan;
    /// <summary>While a cell runs longer than this, a line "still running" is written to <see cref="Log"/> this often (30 s by default).</summary>
    public TimeSpan ProgressEvery { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan KernelStartTimeout { get; init; } = TimeSpan.FromMinutes(2);
    /// <summary>Where progress lines go (the console by default).</summary>
    public TextWriter Log { get; init; } = Console.Out;
}

/// <summary>The outcome of one notebook.</summary>
public sealed record NotebookResult(string Notebook, string ExecutedCopy, bool Succeeded, int CellsRun, int CellCount,
    TimeSpan KernelStartup, TimeSpan Duration, CodeCell? FailedCell, string? Error)
{
    /// <summary>The executed copy's text, to search in tests.</summary>
    public string ExecutedText => File.ReadAllText(ExecutedCopy);
}

/// <summary>
/// Executes notebooks headlessly in the real kernel, cell by cell, printing progress; stops a notebook at its first
/// failing cell, and writes each executed copy (outputs included) to artifacts/executed/&lt;file name&gt;.
/// </summary>
public static class NotebookRunner
{
    public static async Task<NotebookResult> RunAsync(string notebookPath, RunOptions options)
    {
        var clock = Stopwatch.StartNew();
        var log = options.Log;
        var notebook = NotebookDocument.Load(notebookPath); // throws NotebookFormatException with a one-line message
        string name = Path.GetFileName(notebookPath);
        string output = Path.Combine(options.OutputDirectory ?? Path.Combine(options.RepoRoot, "artifacts", "executed"), name);
        string workDir = options.WorkingDirectory ?? Path.GetDirectoryName(Path.GetFullPath(notebookPath))!;
        notebook.ClearOutputs();
        notebook.SetCSharpLanguageInfo();

        log.WriteLine($"▶ {name}: {notebook.CodeCells.Count} code cells");
        await using var kernel = await KernelSession.StartAsync(options.RepoRoot, workDir, options.KernelStartTimeout);
        log.WriteLine($"  kernel ready in {kernel.StartupTime.TotalSeconds:F1} s");

        int run = 0;
        foreach (var cell in notebook.CodeCells)
        {
            var result = await kernel.RunAsync(cell.Source, cell.KernelName, options.CellTimeout,
                                               elapsed => { lock (log) log.WriteLine(StillRunning(cell, notebook.CodeCells.Count, elapsed)); }, options.ProgressEvery);
            run++;
            notebook.SetOutputs(cell, result.Outputs, run);
            lock (log) log.WriteLine($"  [{cell.Number}/{notebook.CodeCells.Count}] {Shorten(cell.FirstLine)}  {result.Duration.TotalSeconds:F1} s{(result.Succeeded ? "" : "  FAILED")}");
            if (!result.Succeeded)
            {
                notebook.Save(output);
                log.WriteLine($"✗ {name} failed at code cell {cell.Number} (cell {cell.Index} of the file):");
                log.WriteLine(Indent(cell.Source.TrimEnd(), "  | "));
                log.WriteLine("  Error:");
                log.WriteLine(Indent(result.Error ?? "", "    "));
                log.WriteLine($"  Executed copy (up to the failure): {output}");
                return new NotebookResult(notebookPath, output, false, run, notebook.CodeCells.Count, kernel.StartupTime, clock.Elapsed, cell, result.Error);
            }
        }
        notebook.Save(output);
        log.WriteLine($"✓ {name}: {run} cells in {clock.Elapsed.TotalSeconds:F1} s (kernel start {kernel.StartupTime.TotalSeconds:F1} s) → {Path.GetRelativePath(options.RepoRoot, output)}");
        return new NotebookResult(notebookPath, output, true, run, notebook.CodeCells.Count, kernel.StartupTime, clock.Elapsed, null, null);
    }

    /// <summary>notebooks/*.ipynb in file-name order (00-…, 01-…, …).</summary>
    public static IReadOnlyList<string> DefaultNotebooks(string repoRoot) =>
        Directory.GetFiles(Path.Combine(repoRoot, "notebooks"), "*.ipynb").Order(StringComparer.Ordinal).ToList();


    /// <summary>The line written while a long cell runs: "  [3/12] still running after 60 s: trainer.Run();".</summary>
    public static string StillRunning(CodeCell cell, int cellCount, TimeSpan elapsed) =>
        $"  [{cell.Number}/{cellCount}] still running after {elapsed.TotalSeconds:F0} s: {Shorten(cell.FirstLine)}";

    static string Shorten(string line) => line.Length <= 60 ? line : line[..57] + "...";

    static string Indent(string text, string prefix) => string.Join("\n", text.Split('\n').Select(l => prefix + l.TrimEnd('\r')));
}
