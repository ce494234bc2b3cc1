using System.Text.Json.Nodes;
using LlmNotebooks.Runner;

namespace LlmNotebooks.Tests.Runner;

public class NotebookDocumentTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llmnb-doc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_missing_file_gets_a_one_line_error_naming_it()
    {
        var e = Assert.Throws<NotebookFormatException>(() => NotebookDocument.Load(Path.Combine(_dir, "nope.ipynb")));
        Assert.Contains("nope.ipynb: no such notebook file", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("{ not json", "invalid JSON")]
    [InlineData("[]", "\"cells\" array")]
    [InlineData("{\"cells\": [], \"nbformat\": 3}", "nbformat")]
    public void Invalid_notebooks_get_a_one_line_error_naming_the_file(string text, string expected)
    {
        string path = Write("bad.ipynb", text);
        var e = Assert.Throws<NotebookFormatException>(() => NotebookDocument.Load(path));
        Assert.StartsWith(path + ":", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Reads_code_cells_with_their_kernels_and_writes_outputs()
    {
        string path = Write("ok.ipynb", TestNotebooks.Build(["1 + 1", "#!html\n<b>x</b>"], markdownFirst: true));
        var doc = NotebookDocument.Load(path);
        Assert.Equal(2, doc.CodeCells.Count);
        Assert.Equal(1, doc.CodeCells[0].Index); // cell 0 is markdown
        Assert.Equal("csharp", doc.CodeCells[0].KernelName);
        Assert.Equal("1 + 1", doc.CodeCells[0].FirstLine);

        doc.SetOutputs(doc.CodeCells[0], [new JsonObject { ["output_type"] = "stream", ["name"] = "stdout", ["text"] = "привет" }], 1);
        string output = Path.Combine(_dir, "out", "ok.ipynb");
        doc.Save(output);
        var saved = JsonNode.Parse(File.ReadAllText(output))!;
        Assert.Equal("привет", saved["cells"]![1]!["outputs"]![0]!["text"]!.GetValue<string>());
        Assert.Contains("привет", File.ReadAllText(output)); // written readable, not \u-escaped
        Assert.Equal("markdown", saved["cells"]![0]!["cell_type"]!.GetValue<string>());
    }
}
