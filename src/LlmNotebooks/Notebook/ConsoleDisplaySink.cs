using LlmNotebooks.Charts;
using Microsoft.DotNet.Interactive.Formatting;
using Plotly.NET;

namespace LlmNotebooks.Notebook;

/// <summary>Shows values as text on the console (tensors and DataFrames as text tables); a chart as one line naming it.</summary>
public sealed class ConsoleDisplaySink : IDisplaySink
{
    /// <summary>The one instance (it has no state).</summary>
    public static ConsoleDisplaySink Instance { get; } = new();

    /// <summary>Prints the value's text form (see <see cref="Text"/>).</summary>
    public void Show(object? value) => Console.WriteLine(Text(value));

    /// <summary>The text a console shows for a value: the registered plain-text formatters (tensors, DataFrames), a chart's title.</summary>
    public static string Text(object? value) => value switch
    {
        null => "<null>",
        string s => s,
        GenericChart chart => $"[chart: {ChartTitle(chart)}]",
        TorchSharp.torch.Tensor t => TensorView.ToText(t),
        Microsoft.Data.Analysis.DataFrame df => DataFrameView.ToText(df),
        _ => value.ToDisplayString(PlainTextFormatter.MimeType),
    };

    internal static string ChartTitle(GenericChart chart)
    {
        var (_, layout, _) = ChartHtml.Json(chart);
        var match = System.Text.RegularExpressions.Regex.Match(layout, "\"title\":\\{\"text\":\"((?:[^\"\\\\]|\\\\.)*)\"");
        return match.Success ? System.Text.RegularExpressions.Regex.Unescape(match.Groups[1].Value) : "untitled";
    }
}
