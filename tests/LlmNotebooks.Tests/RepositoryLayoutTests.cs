namespace LlmNotebooks.Tests;

public class RepositoryLayoutTests
{
    /// <summary>README's layout table names every folder of the library, and each folder's files use the folder's namespace.</summary>
    [Fact]
    public void The_readme_layout_table_matches_the_library_folders_and_namespaces()
    {
        string library = Path.Combine(TestSetup.RepoRoot, "src", "LlmNotebooks");
        string row = File.ReadLines(Path.Combine(TestSetup.RepoRoot, "README.md")).Single(l => l.StartsWith("| `src/LlmNotebooks/` |", StringComparison.Ordinal));
        var folders = Directory.GetDirectories(library).Select(Path.GetFileName).Where(n => n is not ("obj" or "bin")).ToList();
        Assert.All(folders, f => Assert.Contains($"`{f}/`", row));
        foreach (var file in Directory.EnumerateFiles(library, "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}")))
        {
            string relative = Path.GetRelativePath(library, Path.GetDirectoryName(file)!);
            string expected = relative == "." ? "LlmNotebooks" : "LlmNotebooks." + relative.Replace(Path.DirectorySeparatorChar, '.');
            Assert.Contains(File.ReadLines(file), l => l == $"namespace {expected};");
        }
    }
}
