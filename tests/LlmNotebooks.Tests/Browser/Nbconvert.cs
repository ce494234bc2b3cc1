using System.Diagnostics;

namespace LlmNotebooks.Tests.Browser;

/// <summary>
/// Jupyter's nbconvert, which turns a notebook into the HTML that nbviewer and "Download as HTML" show (with require.js
/// and MathJax in the page). Debian's package points both at local copies (libjs-requirejs, libjs-mathjax), so its
/// pages open offline. Optional: only the browser tests use it, and they skip without it (CI installs it).
/// </summary>
public static class Nbconvert
{
    public static string? Executable { get; } = FindOnPath(OperatingSystem.IsWindows() ? "jupyter-nbconvert.exe" : "jupyter-nbconvert");

    public static string SkipReason =>
        "jupyter-nbconvert was not found (Debian: apt-get install jupyter-nbconvert libjs-requirejs libjs-mathjax): notebook HTML checks skipped.";

    /// <summary>Converts <paramref name="notebook"/> to HTML in <paramref name="outputDir"/> and returns the page's path.</summary>
    public static string ToHtml(string notebook, string outputDir)
    {
        string exe = Executable ?? throw new InvalidOperationException(SkipReason);
        Directory.CreateDirectory(outputDir);
        var start = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "--to", "html", "--output-dir", outputDir, notebook }) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"nbconvert failed on {notebook} (exit {p.ExitCode}):\n{stderr}{stdout.Result}");
        return Path.Combine(outputDir, Path.GetFileNameWithoutExtension(notebook) + ".html");
    }

    static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
