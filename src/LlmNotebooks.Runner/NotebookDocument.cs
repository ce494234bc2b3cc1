using System.Text.Json;
using System.Text.Json.Nodes;
using LlmNotebooks.Platform;

namespace LlmNotebooks.Runner;

/// <summary>A code cell of a notebook: its index among all cells, the kernel it targets and its source.</summary>
public sealed record CodeCell(int Index, int Number, string KernelName, string Source)
{
    /// <summary>The first non-empty line, for progress output.</summary>
    public string FirstLine => Source.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "(empty)";
}

/// <summary>
/// A Jupyter (.ipynb) notebook with Polyglot metadata: read, validated, given outputs, written back.
/// Everything the runner does not touch (markdown, metadata) is kept as it was.
/// </summary>
public sealed class NotebookDocument
{
    readonly JsonObject _root;
    readonly JsonArray _cells;

    public string Path { get; }
    public IReadOnlyList<CodeCell> CodeCells { get; }

    /// <summary>The markdown cells: each one's index among all cells and its source.</summary>
    public IReadOnlyList<(int Index, string Source)> MarkdownCells { get; }

    NotebookDocument(string path, JsonObject root, JsonArray cells, IReadOnlyList<CodeCell> codeCells, IReadOnlyList<(int, string)> markdownCells)
    {
        MarkdownCells = markdownCells;
        Path = path;
        _root = root;
        _cells = cells;
        CodeCells = codeCells;
    }

    /// <summary>Reads and validates a notebook.</summary>
    /// <exception cref="NotebookFormatException">The file is missing or is not a valid .ipynb notebook; the message names it.</exception>
    public static NotebookDocument Load(string path)
    {
        if (!File.Exists(path)) throw new NotebookFormatException($"{path}: no such notebook file.");
        JsonNode? node;
        try { node = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new NotebookFormatException($"{path}: not a valid notebook (invalid JSON: {e.Message})."); }
        if (node is not JsonObject root || root["cells"] is not JsonArray cells)
            throw new NotebookFormatException($"{path}: not a valid notebook (expected a JSON object with a \"cells\" array).");
        if (root["nbformat"]?.GetValue<int>() is not 4)
            throw new NotebookFormatException($"{path}: not a valid notebook (expected \"nbformat\": 4).");

        string defaultKernel = root["metadata"]?["polyglot_notebook"]?["kernelInfo"]?["defaultKernelName"]?.GetValue<string>() ?? "csharp";
        var code = new List<CodeCell>();
        var markdown = new List<(int, string)>();
        for (int i = 0; i < cells.Count; i++)
        {
            if (cells[i] is not JsonObject cell)
                throw new NotebookFormatException($"{path}: cell {i} is not a JSON object.");
            string? type = cell["cell_type"]?.GetValue<string>();
            if (type == "markdown") markdown.Add((i, SourceText(cell["source"])));
            if (type != "code") continue;
            string kernel = cell["metadata"]?["polyglot_notebook"]?["kernelName"]?.GetValue<string>()
                            ?? cell["metadata"]?["dotnet_interactive"]?["language"]?.GetValue<string>()
                            ?? defaultKernel;
            code.Add(new CodeCell(i, code.Count + 1, kernel, SourceText(cell["source"])));
        }
        return new NotebookDocument(path, root, cells, code, markdown);
    }

    /// <summary>Replaces a code cell's outputs and execution count.</summary>
    public void SetOutputs(CodeCell cell, IEnumerable<JsonObject> outputs, int? executionCount)
    {
        var target = (JsonObject)_cells[cell.Index]!;
        target["outputs"] = new JsonArray(outputs.Select(o => (JsonNode)o.DeepClone()).ToArray());
        target["execution_count"] = executionCount;
    }

    /// <summary>
    /// Gives the notebook the <c>language_info</c> that the C# kernel reports to Jupyter, so that viewers (JupyterLab,
    /// nbconvert, nbviewer, GitHub) highlight its code as C#. The committed notebooks keep Polyglot's own value.
    /// </summary>
    public void SetCSharpLanguageInfo()
    {
        var metadata = _root["metadata"] as JsonObject ?? new JsonObject();
        _root["metadata"] = metadata;
        metadata["language_info"] = new JsonObject
        {
            ["name"] = "C#",
            ["file_extension"] = ".cs",
            ["mimetype"] = "text/x-csharp",
            ["pygments_lexer"] = "csharp",
            ["version"] = "13.0",
        };
    }

    /// <summary>Removes every output (the state notebooks are committed in).</summary>
    public void ClearOutputs()
    {
        foreach (var cell in CodeCells) SetOutputs(cell, [], null);
    }

    /// <summary>Writes the notebook atomically (a temporary file renamed over the target).</summary>
    public void Save(string path)
    {
        AtomicFile.WriteText(path, _root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
    }

    static string SourceText(JsonNode? source) => source switch
    {
        null => "",
        JsonArray lines => string.Concat(lines.Select(l => l?.GetValue<string>() ?? "")),
        _ => source.GetValue<string>(),
    };
}

/// <summary>A notebook file that cannot be read as a notebook.</summary>
public sealed class NotebookFormatException(string message) : Exception(message);
