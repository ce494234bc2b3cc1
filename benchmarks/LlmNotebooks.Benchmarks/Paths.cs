namespace LlmNotebooks.Benchmarks;

static class Paths
{
    /// <summary>The folder holding LlmNotebooks.sln, searched upwards from the current directory.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LlmNotebooks.sln"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}
