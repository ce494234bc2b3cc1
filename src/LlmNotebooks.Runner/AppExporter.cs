using System.Text;
using System.Text.RegularExpressions;
using LlmNotebooks.Platform;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace LlmNotebooks.Runner;

/// <summary>A notebook exported as a .NET 10 file-based app: its source, the rules it broke, and the names the export changed.</summary>
/// <param name="Source">The app's C# source (<c>dotnet run</c> it).</param>
/// <param name="Violations">Why the app may not do what the notebook does (a kernel directive outside the first cell, a cell that does not parse, …); empty for an exact export.</param>
/// <param name="Renames">Variables renamed because an app cannot declare a name twice where a notebook can ("cell 12: loss → loss_12").</param>
public sealed record AppExport(string Source, IReadOnlyList<string> Violations, IReadOnlyList<string> Renames);

/// <summary>
/// Turns a notebook into a file-based app (<c>dotnet run app.cs</c>), the .NET 10 way to run a C# file with no
/// notebook kernel. Each C# cell is parsed as what the kernel compiles it as, a C# script submission (Roslyn), and:
/// <list type="bullet">
/// <item>the first cell's <c>#r "…/LlmNotebooks.dll"</c> becomes <c>#:project</c> (the library's sources), and
/// <c>#r "nuget: Name, Version"</c> becomes <c>#:package Name@Version</c>; a kernel directive in any other cell is a
/// violation;</item>
/// <item><c>using</c> directives move to the top, type declarations (classes, records, …) to the end, after the
/// top-level statements; methods declared in a cell become local functions where they stand;</item>
/// <item>a cell's trailing expression (no semicolon: the notebook shows its value) and every <c>display(x)</c> become
/// <c>Course.Show(x)</c>, which prints the value and adds it to the app's HTML page;</item>
/// <item>a variable a later cell declares again (a notebook allows it, one program does not) is renamed from that cell
/// on (<c>loss</c> → <c>loss_12</c>), and a variable of a loop or block that has the name of a top-level variable (which
/// a notebook allows and a program does not) is renamed inside its statement.</item>
/// </list>
/// Markdown cells are kept as comments, so the app reads like the chapter.
/// </summary>
public static class AppExporter
{
    static readonly CSharpParseOptions ScriptOptions = new(LanguageVersion.Preview, kind: SourceCodeKind.Script);
    static readonly Regex NugetReference = new(@"^#r\s+""nuget:\s*([^,""\s]+)\s*(?:,\s*([^""\s]+))?\s*""\s*$", RegexOptions.CultureInvariant);
    static readonly Regex DllReference = new(@"^#r\s+""([^""]*LlmNotebooks\.dll)""\s*$", RegexOptions.CultureInvariant);

    /// <summary>The app's file name for a notebook: 01-math.ipynb → 01-math.cs.</summary>
    public static string AppFileName(string notebookPath) => Path.GetFileNameWithoutExtension(notebookPath) + ".cs";

    /// <summary>Exports <paramref name="notebookPath"/> into <paramref name="appsDir"/> (its page will be written beside it when it runs).</summary>
    /// <returns>The app's path and the export (violations and renames, for the caller to report).</returns>
    public static (string Path, AppExport Export) ExportTo(string notebookPath, string appsDir, string repoRoot)
    {
        var notebook = NotebookDocument.Load(notebookPath);
        Directory.CreateDirectory(appsDir);
        string project = Path.GetRelativePath(Path.GetFullPath(appsDir), Path.Combine(repoRoot, "src", "LlmNotebooks")).Replace('\\', '/');
        string notebookShown = Path.GetRelativePath(repoRoot, Path.GetFullPath(notebookPath)).Replace('\\', '/');
        var export = Export(notebook, project, notebookShown);
        string path = Path.Combine(appsDir, AppFileName(notebookPath));
        AtomicFile.WriteText(path, export.Source);
        return (path, export);
    }

    /// <summary>The app for a notebook.</summary>
    /// <param name="notebook">The notebook.</param>
    /// <param name="libraryProject">The course library's project folder, relative to the app's folder (<c>#:project</c>).</param>
    /// <param name="notebookShown">How the header names the notebook.</param>
    public static AppExport Export(NotebookDocument notebook, string libraryProject, string notebookShown)
    {
        var violations = new List<string>();
        var renames = new List<string>();
        var directives = new List<string> { $"#:project {libraryProject}", "#:package TorchSharp-cpu", "#:property PublishAot=false",
            "#:property Nullable=disable" }; // the kernel compiles cells without nullable annotations
        var usings = new List<string>();
        var statements = new StringBuilder();
        var types = new StringBuilder();
        var topTypes = new StringBuilder(); // static classes (extension methods) cannot be nested
        var consts = new StringBuilder();

        // Parse every C# cell as the kernel does (a script submission), kernel directives blanked out.
        var cells = new List<(CodeCell Cell, SyntaxTree Tree)>();
        foreach (var cell in notebook.CodeCells)
        {
            if (!cell.KernelName.Equals("csharp", StringComparison.OrdinalIgnoreCase))
            {
                violations.Add($"cell {cell.Number}: a {cell.KernelName} cell (only C# cells can be exported); left out");
                continue;
            }
            var lines = cell.Source.Split('\n');
            for (int i = 0; i < lines.Length; i++)
            {
                string line = lines[i].Trim();
                if (!IsKernelDirective(line)) continue;
                lines[i] = "";
                if (cell.Number != 1) { violations.Add($"cell {cell.Number}: kernel directive '{line}' outside the first cell; left out"); continue; }
                if (NugetReference.Match(line) is { Success: true } nuget)
                    directives.Add($"#:package {nuget.Groups[1].Value}{(nuget.Groups[2].Success ? "@" + nuget.Groups[2].Value : "")}");
                else if (!DllReference.IsMatch(line))
                    violations.Add($"cell {cell.Number}: kernel directive '{line}' has no file-based app equivalent; left out");
            }
            var tree = CSharpSyntaxTree.ParseText(string.Join('\n', lines), ScriptOptions);
            foreach (var error in tree.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error))
                violations.Add($"cell {cell.Number} does not parse as C# script: {error.GetMessage()} ({error.Location.GetLineSpan().StartLinePosition})");
            cells.Add((cell, tree));
        }

        // Top-level names: a later cell's redeclaration gets a new name, used from that cell on.
        var allIdentifiers = cells.SelectMany(c => c.Tree.GetRoot().DescendantTokens()).Where(t => t.IsKind(SyntaxKind.IdentifierToken))
            .Select(t => t.ValueText).ToHashSet(StringComparer.Ordinal);
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
        var aliasesAt = new List<Dictionary<string, string>>();
        var declared = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (cell, tree) in cells)
        {
            foreach (string name in TopLevelDeclarations((CompilationUnitSyntax)tree.GetRoot()).Select(t => t.ValueText).Distinct())
            {
                if (!declared.Add(name))
                {
                    string renamed = Fresh($"{name}_{cell.Number}", allIdentifiers);
                    aliases[name] = renamed;
                    renames.Add($"cell {cell.Number}: {name} → {renamed} (declared again; a program declares a name once)");
                }
            }
            aliasesAt.Add(new Dictionary<string, string>(aliases, StringComparer.Ordinal));
        }
        var topLevel = declared.Select(n => aliases.GetValueOrDefault(n, n)).Concat(declared).ToHashSet(StringComparer.Ordinal);

        // Markdown cells as comments, before the code cell that follows them.
        var markdown = notebook.MarkdownCells.ToList();
        int nextMarkdown = 0;
        for (int c = 0; c < cells.Count; c++)
        {
            var (cell, tree) = cells[c];
            var comment = new StringBuilder();
            while (nextMarkdown < markdown.Count && markdown[nextMarkdown].Index < cell.Index)
            {
                foreach (string line in markdown[nextMarkdown++].Source.TrimEnd().Split('\n'))
                    comment.Append(line.Length == 0 ? "//" : "// " + line.TrimEnd('\r')).Append('\n');
                comment.Append("//\n");
            }
            string edited = Rewrite((CompilationUnitSyntax)tree.GetRoot(), aliasesAt[c], topLevel, allIdentifiers, cell.Number, renames);
            var root = (CompilationUnitSyntax)CSharpSyntaxTree.ParseText(edited, ScriptOptions).GetRoot();
            foreach (var u in root.Usings)
            {
                string text = u.WithoutTrivia().ToString();
                if (!usings.Contains(text)) usings.Add(text);
            }
            statements.Append(comment).Append($"// ---- cell {cell.Number}\n");
            foreach (var member in root.Members)
            {
                switch (member)
                {
                    case FieldDeclarationSyntax field when field.Modifiers.Any(SyntaxKind.ConstKeyword):
                        // A script's types see its constants; a program's types see the members of Program, not its locals.
                        consts.Append("    ").Append(member.WithoutLeadingTrivia().ToString().Trim()).Append('\n');
                        statements.Append($"// ({field.Declaration.Variables.Count} constant(s) of this cell are declared in Program, at the end)\n");
                        break;
                    case ClassDeclarationSyntax staticClass when staticClass.Modifiers.Any(SyntaxKind.StaticKeyword):
                        topTypes.Append($"// from cell {cell.Number}\n").Append(member.ToFullString().Trim('\n', '\r')).Append("\n\n");
                        break;
                    case GlobalStatementSyntax or MethodDeclarationSyntax or FieldDeclarationSyntax:
                        statements.Append(member.ToFullString().Trim('\n', '\r')).Append('\n');
                        break;
                    case BaseTypeDeclarationSyntax or DelegateDeclarationSyntax:
                        types.Append($"// from cell {cell.Number}\n").Append(member.ToFullString().Trim('\n', '\r')).Append("\n\n");
                        break;
                    default:
                        violations.Add($"cell {cell.Number}: a {member.Kind()} at the top of a cell has no place in a program's top-level statements; left out");
                        break;
                }
            }
            statements.Append('\n');
        }

        var app = new StringBuilder();
        app.Append($"// {notebookShown}, exported as a .NET file-based app by the course runner (--export-apps). Re-export rather than edit.\n");
        app.Append($"// Run it from the checkout: dotnet run {Path.GetFileNameWithoutExtension(notebookShown)}.cs from its folder, or dotnet run <path>/{Path.GetFileNameWithoutExtension(notebookShown)}.cs.\n");
        app.Append("// Values a notebook cell would show are printed, and written with every chart to the .html page beside this file.\n");
        foreach (string d in directives) app.Append(d).Append('\n');
        app.Append('\n');
        // The kernel's default usings that an SDK project's implicit usings lack.
        foreach (string u in new[] { "using System.Text;", "using System.Collections;" }.Concat(usings).Distinct()) app.Append(u).Append('\n');
        app.Append('\n').Append(statements);
        if (types.Length > 0 || consts.Length > 0)
        {
            // Nested in Program (the class of the top-level statements), the types see the notebook's constants as they do in a notebook.
            app.Append("// ---- the notebook's constants and types (a program declares types after its top-level statements)\n\n");
            app.Append("partial class Program\n{\n").Append(consts);
            if (consts.Length > 0 && types.Length > 0) app.Append('\n');
            foreach (string line in types.ToString().TrimEnd('\n').Split('\n')) app.Append(line.Length == 0 ? "" : "    " + line).Append('\n');
            app.Append("}\n\n");
        }
        if (topTypes.Length > 0) app.Append(topTypes);
        return new AppExport(app.ToString().TrimEnd('\n') + "\n", violations, renames);
    }

    /// <summary>Whether a line is a directive only the notebook kernel understands (#r, #!, #i, #load).</summary>
    public static bool IsKernelDirective(string trimmedLine) =>
        trimmedLine.StartsWith("#!", StringComparison.Ordinal) || Regex.IsMatch(trimmedLine, @"^#(r|i|load)\b", RegexOptions.CultureInvariant);

    static string Fresh(string name, HashSet<string> taken)
    {
        string candidate = name;
        for (int k = 2; taken.Contains(candidate); k++) candidate = $"{name}_{k}";
        taken.Add(candidate);
        return candidate;
    }

    /// <summary>The identifiers a cell declares at its top level: variables (also deconstructed, out and pattern ones) and methods.</summary>
    static IEnumerable<SyntaxToken> TopLevelDeclarations(CompilationUnitSyntax cell) => cell.Members.SelectMany(TopLevelDeclared);

    /// <summary>What one member of a cell declares in the program's top-level scope (a script parses `var x = 1;` as a field).</summary>
    static IEnumerable<SyntaxToken> TopLevelDeclared(MemberDeclarationSyntax member) => member switch
    {
        MethodDeclarationSyntax method => [method.Identifier],
        FieldDeclarationSyntax field => DeclaredIn(field),
        GlobalStatementSyntax { Statement: var statement } when IsTopLevelScope(statement) => DeclaredIn(statement),
        _ => [],
    };

    /// <summary>Statements whose variables live in the program's top-level scope (not in a block, loop or using of their own).</summary>
    static bool IsTopLevelScope(StatementSyntax statement) => statement is LocalDeclarationStatementSyntax or ExpressionStatementSyntax;

    /// <summary>The identifiers declared in a statement, outside lambdas and local functions (which may reuse names).</summary>
    static IEnumerable<SyntaxToken> DeclaredIn(SyntaxNode statement) =>
        statement.DescendantNodesAndSelf(n => n == statement || !IsFunction(n)).SelectMany(n => n switch
        {
            VariableDeclaratorSyntax v => [v.Identifier],
            SingleVariableDesignationSyntax d => [d.Identifier],
            ForEachStatementSyntax f => [f.Identifier],
            CatchDeclarationSyntax { Identifier.RawKind: (int)SyntaxKind.IdentifierToken } c => [c.Identifier],
            LocalFunctionStatementSyntax l when l != statement => [l.Identifier],
            _ => Array.Empty<SyntaxToken>(),
        });

    static bool IsFunction(SyntaxNode node) => node is AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax or MethodDeclarationSyntax;

    /// <summary>A cell's text with its renames, display calls and trailing expression rewritten.</summary>
    static string Rewrite(CompilationUnitSyntax cell, Dictionary<string, string> aliases, HashSet<string> topLevel, HashSet<string> taken, int number, List<string> renames)
    {
        var edits = new List<(TextSpan Span, string Text)>();
        var members = cell.Members;
        foreach (var member in members)
        {
            if (member is BaseTypeDeclarationSyntax or DelegateDeclarationSyntax) continue; // a type sees no top-level variable
            // A block, loop or using statement that declares a top-level name: renamed inside that statement.
            var local = new Dictionary<string, string>(StringComparer.Ordinal);
            if (member is GlobalStatementSyntax { Statement: var statement } && !IsTopLevelScope(statement))
                foreach (string name in DeclaredIn(statement).Select(t => t.ValueText).Distinct().Where(topLevel.Contains))
                {
                    local[name] = Fresh($"{name}_in{number}", taken);
                    renames.Add($"cell {number}: {name} → {local[name]} inside a {statement.Kind()} (a top-level variable has that name)");
                }
            var map = new Dictionary<string, string>(aliases, StringComparer.Ordinal);
            foreach (var (k, v) in local) map[k] = v;

            // A method's or field's access modifiers have no meaning for a local function or variable (const stays).
            var modifiers = member switch { MethodDeclarationSyntax m => m.Modifiers, FieldDeclarationSyntax f => f.Modifiers, _ => default };
            foreach (var modifier in modifiers.Where(m => !m.IsKind(SyntaxKind.ConstKeyword) && !m.IsKind(SyntaxKind.AsyncKeyword) && !(member is MethodDeclarationSyntax && m.IsKind(SyntaxKind.StaticKeyword))))
                edits.Add((modifier.FullSpan, ""));
            foreach (var token in TopLevelDeclared(member).Where(t => aliases.ContainsKey(t.ValueText)))
                edits.Add((token.Span, aliases[token.ValueText]));
            if (member is GlobalStatementSyntax { Statement: var s } && !IsTopLevelScope(s))
                foreach (var token in DeclaredIn(s).Where(t => local.ContainsKey(t.ValueText)))
                    edits.Add((token.Span, local[token.ValueText]));

            foreach (var id in member.DescendantNodes().OfType<IdentifierNameSyntax>())
            {
                string name = id.Identifier.ValueText;
                if (name == "display" && id.Parent is InvocationExpressionSyntax call && call.Expression == id && !map.ContainsKey(name))
                {
                    edits.Add((id.Span, "Course.Show"));
                    continue;
                }
                if (!map.TryGetValue(name, out string? renamed) || !IsReference(id) || Shadowed(id, name, member)) continue;
                string text = id.Parent switch
                {
                    AnonymousObjectMemberDeclaratorSyntax { NameEquals: null } => $"{name} = {renamed}",   // keeps the property's name
                    ArgumentSyntax { NameColon: null, Parent: TupleExpressionSyntax } => $"{name}: {renamed}",   // keeps the element's name
                    _ => renamed,
                };
                edits.Add((id.Span, text));
            }
        }

        // The trailing expression: what the notebook shows.
        if (members.LastOrDefault() is GlobalStatementSyntax { Statement: ExpressionStatementSyntax { SemicolonToken.IsMissing: true, Expression: var last } })
        {
            edits.Add((new TextSpan(last.SpanStart, 0), "Course.Show("));
            edits.Add((new TextSpan(last.Span.End, 0), ");"));
        }

        string text0 = cell.SyntaxTree.GetText().ToString();
        var result = new StringBuilder(text0);
        foreach (var (span, text) in edits.OrderByDescending(e => e.Span.Start).ThenByDescending(e => e.Span.Length))
            result.Remove(span.Start, span.Length).Insert(span.Start, text);
        return result.ToString();
    }

    /// <summary>An identifier that names a variable or method here (not a member after '.', not a named argument).</summary>
    static bool IsReference(IdentifierNameSyntax id) => id.Parent switch
    {
        MemberAccessExpressionSyntax m when m.Name == id => false,
        MemberBindingExpressionSyntax => false,
        NameColonSyntax or NameEqualsSyntax => false,
        QualifiedNameSyntax or AliasQualifiedNameSyntax => false,
        _ => true,
    };

    /// <summary>Whether a lambda or local function around the identifier declares the same name (which then hides ours).</summary>
    static bool Shadowed(IdentifierNameSyntax id, string name, SyntaxNode member)
    {
        for (var node = id.Parent; node is not null; node = node.Parent)
        {
            if (!IsFunction(node)) { if (node == member) break; continue; }
            var parameters = node switch
            {
                SimpleLambdaExpressionSyntax s => [s.Parameter],
                ParenthesizedLambdaExpressionSyntax p => p.ParameterList.Parameters.ToList(),
                AnonymousMethodExpressionSyntax a => a.ParameterList?.Parameters.ToList() ?? [],
                LocalFunctionStatementSyntax l => l.ParameterList.Parameters.ToList(),
                _ => new List<ParameterSyntax>(),
            };
            if (parameters.Any(p => p.Identifier.ValueText == name)) return true;
            if (node.DescendantNodes().Any(n => n is VariableDeclaratorSyntax v && v.Identifier.ValueText == name
                                               || n is SingleVariableDesignationSyntax d && d.Identifier.ValueText == name
                                               || n is ForEachStatementSyntax f && f.Identifier.ValueText == name)) return true;
            if (node is MethodDeclarationSyntax method && method.ParameterList.Parameters.Any(p => p.Identifier.ValueText == name)) return true;
            if (node == member) break;
        }
        return false;
    }
}
