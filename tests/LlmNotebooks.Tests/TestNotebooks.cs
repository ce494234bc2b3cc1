using System.Text.Json.Nodes;

namespace LlmNotebooks.Tests;

/// <summary>Builds small Polyglot notebooks for runner and kernel tests.</summary>
static class TestNotebooks
{
    /// <summary>The first cell every course notebook starts with (kept identical across notebooks by a test).</summary>
    public const string SetupCell =
        "#r \"../artifacts/lib/LlmNotebooks.dll\"\n" +
        "using LlmNotebooks.Notebook; using LlmNotebooks.Charts; using LlmNotebooks.Tensors;\n" +
        "using TorchSharp; using static TorchSharp.torch;\n" +
        "Course.Setup()";

    public static string Build(IEnumerable<string> codeCells, bool markdownFirst = false)
    {
        var cells = new JsonArray();
        if (markdownFirst) cells.Add(new JsonObject { ["cell_type"] = "markdown", ["metadata"] = new JsonObject(), ["source"] = "# test" });
        foreach (string code in codeCells)
            cells.Add(new JsonObject
            {
                ["cell_type"] = "code",
                ["execution_count"] = null,
                ["metadata"] = new JsonObject { ["polyglot_notebook"] = new JsonObject { ["kernelName"] = "csharp" } },
                ["outputs"] = new JsonArray(),
                ["source"] = code,
            });
        var root = new JsonObject
        {
            ["cells"] = cells,
            ["metadata"] = new JsonObject
            {
                ["kernelspec"] = new JsonObject { ["display_name"] = ".NET (C#)", ["language"] = "C#", ["name"] = ".net-csharp" },
                ["polyglot_notebook"] = new JsonObject { ["kernelInfo"] = new JsonObject { ["defaultKernelName"] = "csharp" } },
            },
            ["nbformat"] = 4,
            ["nbformat_minor"] = 2,
        };
        return root.ToJsonString();
    }
}
