using System.Collections.Concurrent;
using LlmNotebooks.Runner;

namespace LlmNotebooks.Tests.Notebooks;

/// <summary>
/// Each course notebook run once in the real kernel per test process, shared by the tests that need its executed copy:
/// the notebook test (<see cref="CourseNotebookTests"/>) and the app test (<c>AppExporterTests</c>), which compares the
/// app's check lines with the notebook's. Running the kernel once instead of twice keeps every chapter's app test within
/// CI's time. The first test to ask runs it; a later one awaits the same run (tests run one at a time, see TestSetup).
/// </summary>
static class KernelRuns
{
    static readonly ConcurrentDictionary<string, Lazy<Task<(NotebookResult Result, string Log)>>> Runs = new();

    /// <summary>The run of notebooks/<paramref name="notebook"/> (a file name) and its log; the executed copy is in artifacts/test-executed.</summary>
    public static Task<(NotebookResult Result, string Log)> Of(string notebook) =>
        Runs.GetOrAdd(notebook, n => new Lazy<Task<(NotebookResult, string)>>(() => RunAsync(n))).Value;

    static async Task<(NotebookResult, string)> RunAsync(string notebook)
    {
        var log = new StringWriter();
        var result = await NotebookRunner.RunAsync(Path.Combine(TestSetup.RepoRoot, "notebooks", notebook), new RunOptions
        {
            RepoRoot = TestSetup.RepoRoot,
            OutputDirectory = Path.Combine(TestSetup.RepoRoot, "artifacts", "test-executed"),
            CellTimeout = TimeSpan.FromMinutes(20),   // chapter 4's training cell: ~130 s on a quiet 2-core machine, over 300 s on a busy one
            Log = log,
        });
        return (result, log.ToString());
    }
}
