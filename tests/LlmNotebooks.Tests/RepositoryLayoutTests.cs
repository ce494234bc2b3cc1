using System.Text;
using System.Text.RegularExpressions;

namespace LlmNotebooks.Tests;

public class RepositoryLayoutTests
{
    static string Library => Path.Combine(TestSetup.RepoRoot, "src", "LlmNotebooks");

    static IEnumerable<string> LibraryFiles() =>
        Directory.EnumerateFiles(Library, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") &&
                        !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"));

    /// <summary>README's layout table names every folder of the library, and each folder's files use the folder's namespace.</summary>
    [Fact]
    public void The_readme_layout_table_matches_the_library_folders_and_namespaces()
    {
        string row = File.ReadLines(Path.Combine(TestSetup.RepoRoot, "README.md")).Single(l => l.StartsWith("| `src/LlmNotebooks/` |", StringComparison.Ordinal));
        var folders = Directory.GetDirectories(Library).Select(Path.GetFileName).Where(n => n is not ("obj" or "bin")).ToList();
        Assert.All(folders, f => Assert.Contains($"`{f}/`", row));
        foreach (var file in LibraryFiles())
        {
            string relative = Path.GetRelativePath(Library, Path.GetDirectoryName(file)!);
            string expected = relative == "." ? "LlmNotebooks" : "LlmNotebooks." + relative.Replace(Path.DirectorySeparatorChar, '.');
            Assert.Contains(File.ReadLines(file), l => l == $"namespace {expected};");
        }
    }

    /// <summary>
    /// The library's floors (DESIGN.md): an arrow between namespaces only points down, so no two namespaces reach each
    /// other. Read as ../shared/tools/namespace_cycles.py reads it: from <c>using</c> directives and qualified names,
    /// comments and strings left out.
    /// </summary>
    [Fact]
    public void No_two_library_namespaces_import_each_other_even_through_others()
    {
        var graph = NamespaceGraph.Read(LibraryFiles().Select(f => (Path.GetRelativePath(Library, f), File.ReadAllText(f))));
        Assert.True(graph.Cycles.Count == 0, "The namespaces of src/LlmNotebooks import each other in a circle. The arrows inside it:\n" + graph.Describe(graph.Cycles) +
                                             "\nA lower floor that needs to tell a higher one something takes an interface or a callback, not a using of the higher namespace.");
        Assert.Contains("Training", graph.Arrows["Notebook"]);             // the reader sees arrows at all: the notebook layer sits on the trainer
    }

    [Fact]
    public void The_namespace_graph_finds_a_cycle_and_names_its_arrows_but_not_in_comments_or_strings()
    {
        var graph = NamespaceGraph.Read(
        [
            ("Training/Trainer.cs", "using System;\nusing LlmNotebooks.Notebook;\n\nnamespace LlmNotebooks.Training;\n// Charts.Plot in a comment\nclass Trainer { string s = \"Charts.Plot\"; }\n"),
            ("Notebook/Course.cs", "namespace LlmNotebooks.Notebook;\n/* Alignment.Grpo\n   in a block */\nclass Course { object c = Charts.Plot.Nothing; }\n"),
            ("Charts/Plot.cs", "namespace LlmNotebooks.Charts;\nclass Plot { string u = \"http://x\"; LlmNotebooks.Training.TrainingHistory h; }\n"),
            ("Alignment/Grpo.cs", "using static LlmNotebooks.Training.Trainer;\nnamespace LlmNotebooks.Alignment;\nclass Grpo { }\n"),
            ("Guard.cs", "namespace LlmNotebooks;\nstatic class Guard { }\n"),
        ]);
        Assert.Equal(new[] { "Charts", "Notebook", "Training" }, Assert.Single(graph.Cycles));
        Assert.Equal(new[] { "Notebook" }, graph.Arrows["Training"]);      // not Charts: that one is in a comment and a string
        Assert.Equal(new[] { "Training" }, graph.Arrows["Alignment"]);     // into the circle, not part of it
        Assert.Empty(graph.Arrows["(root)"]);
        string described = graph.Describe(graph.Cycles);
        Assert.Contains("Training -> Notebook: Training/Trainer.cs:2", described);
        Assert.Contains("Notebook -> Charts: Notebook/Course.cs:4", described);
        Assert.Contains("Charts -> Training: Charts/Plot.cs:2", described);
        Assert.DoesNotContain("Alignment", described);
    }
}

/// <summary>Which top-level namespace of the library (LlmNotebooks.X) imports which, with the file:line of each arrow, and the circles in it.</summary>
sealed class NamespaceGraph
{
    /// <summary>Comments (line and block), string literals (plain, verbatim, raw) and character literals, in one pass so a "//" inside a string stays a string.</summary>
    static readonly Regex CommentsAndLiterals = new("""
        //[^\n]*|/\*.*?\*/|@"(?:""|[^"])*"|"{3,}.*?"{3,}|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])+'
        """, RegexOptions.Singleline);

    public Dictionary<string, SortedSet<string>> Arrows { get; } = [];
    public Dictionary<(string From, string To), List<string>> Evidence { get; } = [];
    /// <summary>Each set of namespaces that reach one another (strongly connected, more than one), sorted.</summary>
    public List<List<string>> Cycles { get; } = [];

    public static NamespaceGraph Read(IEnumerable<(string Path, string Text)> files)
    {
        var graph = new NamespaceGraph();
        var read = files.Select(f => (f.Path, Top: Regex.Match(f.Text, @"^namespace\s+LlmNotebooks(?:\.(\w+))?", RegexOptions.Multiline) is { Success: true, Groups: var g } && g[1].Success ? g[1].Value : "(root)",
                                      Code: Blank(f.Text))).ToList();
        var names = read.Select(f => f.Top).Where(t => t != "(root)").Distinct().Order(StringComparer.Ordinal).ToList();
        foreach (var top in read.Select(f => f.Top)) graph.Arrows.TryAdd(top, []);
        foreach (var (path, top, code) in read)
            foreach (var other in names.Where(n => n != top))
            {
                var m = Regex.Match(code, $@"using\s+(?:static\s+)?LlmNotebooks\.{other}\b|LlmNotebooks\.{other}\.\w|(?<![\w.]){other}\.[A-Z]\w*");
                if (!m.Success) continue;
                graph.Arrows[top].Add(other);
                int line = code.AsSpan(0, m.Index).Count('\n') + 1;
                if (!graph.Evidence.TryGetValue((top, other), out var where)) graph.Evidence[(top, other)] = where = [];
                where.Add($"{path.Replace('\\', '/')}:{line}");
            }
        // Two namespaces are in one circle when each reaches the other.
        var reach = graph.Arrows.Keys.ToDictionary(n => n, graph.Reachable);
        foreach (var n in graph.Arrows.Keys.Order(StringComparer.Ordinal))
        {
            if (graph.Cycles.Any(c => c.Contains(n))) continue;
            var circle = graph.Arrows.Keys.Where(m => m == n || (reach[n].Contains(m) && reach[m].Contains(n))).Order(StringComparer.Ordinal).ToList();
            if (circle.Count > 1) graph.Cycles.Add(circle);
        }
        return graph;
    }

    HashSet<string> Reachable(string from)
    {
        var seen = new HashSet<string>();
        var todo = new Stack<string>([from]);
        while (todo.TryPop(out var n))
            foreach (var next in Arrows.GetValueOrDefault(n) ?? [])
                if (seen.Add(next)) todo.Push(next);
        return seen;
    }

    /// <summary>The arrows inside each circle, one a line: "A -> B: file:line, file:line".</summary>
    public string Describe(IEnumerable<List<string>> circles)
    {
        var text = new StringBuilder();
        foreach (var circle in circles)
        {
            text.AppendLine("cycle: " + string.Join(" <-> ", circle));
            foreach (var from in circle)
                foreach (var to in Arrows[from].Where(circle.Contains))
                    text.AppendLine($"   {from} -> {to}: {string.Join(", ", Evidence[(from, to)])}");
        }
        return text.ToString();
    }

    /// <summary>The text with comments and literals blanked out, newlines kept, so that line numbers stay those of the file.</summary>
    static string Blank(string text) =>
        CommentsAndLiterals.Replace(text, m => m.Value.StartsWith('/') ? new string('\n', m.Value.Count(c => c == '\n')) : "\"\"" + new string('\n', m.Value.Count(c => c == '\n')));
}
