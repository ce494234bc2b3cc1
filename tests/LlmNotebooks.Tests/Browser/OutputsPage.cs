using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace LlmNotebooks.Tests.Browser;

/// <summary>
/// One HTML page holding an executed notebook's outputs in order, each in its own element, with no require.js: the way
/// VS Code's notebook output view and JupyterLab hold a notebook's outputs in a single document.
/// </summary>
public static class OutputsPage
{
    public static string Write(string executedNotebook, string pagePath)
    {
        var root = JsonNode.Parse(File.ReadAllText(executedNotebook))!;
        var html = new StringBuilder("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>\n");
        foreach (var cell in root["cells"]!.AsArray())
            foreach (var o in cell!["outputs"]?.AsArray() ?? [])
            {
                var data = o!["data"];
                if (data?["text/html"] is { } h) html.Append("<div class=\"output\">").Append(h.GetValue<string>()).Append("</div>\n");
                else if (data?["text/plain"] is { } t) html.Append("<pre>").Append(WebUtility.HtmlEncode(t.GetValue<string>())).Append("</pre>\n");
            }
        html.Append("</body></html>");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(pagePath))!);
        File.WriteAllText(pagePath, html.ToString());
        return pagePath;
    }
}
