using System.Net;
using System.Text;
using LlmNotebooks.Charts;
using LlmNotebooks.Platform;
using Microsoft.Data.Analysis;
using Microsoft.DotNet.Interactive.Formatting;
using Plotly.NET;
using TorchSharp;

namespace LlmNotebooks.Notebook;

/// <summary>
/// The display of a notebook exported as a file-based app (<c>dotnet run artifacts/apps/01-math.cs</c>): every shown
/// value is printed to the console as text and added, formatted as the notebook shows it (tables, charts), to an HTML
/// page beside the app (01-math.html), together with everything the program writes to the console, in order. Charts
/// draw offline: the page loads plotly.js from assets/ beside it, a copy of the one embedded in Plotly.NET. The page is
/// rewritten after each shown value and when the program ends (also when it ends with an unhandled exception, which
/// the page shows last).
/// </summary>
public sealed class HtmlPageSink : IDisplaySink
{
    readonly object _lock = new();
    readonly List<string> _blocks = [];
    readonly StringBuilder _text = new();
    readonly string _title;
    readonly TextWriter _console = Console.Out; // the console itself: a shown value's text goes there, not into the page twice

    /// <summary>The page this sink writes.</summary>
    public string PagePath { get; }

    /// <param name="pagePath">The page to write (its folder gets assets/plotly-VERSION.min.js).</param>
    /// <param name="title">The page's title.</param>
    /// <param name="captureConsole">Also copy what the program writes to <see cref="Console.Out"/> into the page.</param>
    public HtmlPageSink(string pagePath, string title, bool captureConsole = true)
    {
        PagePath = Path.GetFullPath(pagePath);
        _title = title;
        string assets = Path.Combine(Path.GetDirectoryName(PagePath)!, "assets");
        Directory.CreateDirectory(assets);
        AtomicFile.WriteIfChanged(Path.Combine(assets, PlotlyJs.FileName), Encoding.UTF8.GetBytes(PlotlyJs.Source()));
        AtomicFile.WriteIfChanged(Path.Combine(assets, PlotlyJs.FileName + ".LICENSE.txt"), Encoding.UTF8.GetBytes(PlotlyJs.LicenseText()));
        if (captureConsole) Console.SetOut(new TeeWriter(Console.Out, this));
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Write();
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            lock (_lock) { FlushText(); _blocks.Add($"<pre class=\"error\">{WebUtility.HtmlEncode(e.ExceptionObject.ToString())}</pre>"); }
            Write();
        };
        Write();
    }

    /// <summary>Prints the value's text form and adds its HTML form to the page.</summary>
    public void Show(object? value)
    {
        _console.WriteLine(ConsoleDisplaySink.Text(value));
        string html = Html(value);
        lock (_lock) { FlushText(); _blocks.Add($"<div class=\"output\">{html}</div>"); }
        Write();
    }

    /// <summary>A value's HTML as a notebook shows it: charts drawn, tensors and DataFrames as tables, other values as text.</summary>
    public static string Html(object? value) => value switch
    {
        null => "<pre>&lt;null&gt;</pre>",
        GenericChart chart => ChartHtml.Render(chart),
        torch.Tensor t => TensorView.ToHtml(t),
        DataFrame df => DataFrameView.ToHtml(df),
        Microsoft.AspNetCore.Html.IHtmlContent content => content.ToString() ?? "",
        string or IFormattable or bool => $"<pre>{WebUtility.HtmlEncode(ConsoleDisplaySink.Text(value))}</pre>",
        _ => value.ToDisplayString(HtmlFormatter.MimeType),
    };

    void FlushText()
    {
        if (_text.Length == 0) return;
        _blocks.Add($"<pre class=\"stdout\">{WebUtility.HtmlEncode(_text.ToString())}</pre>");
        _text.Clear();
    }

    void Write()
    {
        string page;
        lock (_lock)
        {
            var html = new StringBuilder();
            html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .Append($"<title>{WebUtility.HtmlEncode(_title)}</title>\n")
                .Append($"<script src=\"assets/{PlotlyJs.FileName}\" charset=\"utf-8\"></script>\n")
                .Append("<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}")
                .Append("pre{background:#f6f8fa;padding:.5em;overflow-x:auto}pre.error{color:#b00}.output{margin:1em 0}")
                .Append("table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:2px 6px}</style>\n</head>\n<body>\n")
                .Append($"<h1>{WebUtility.HtmlEncode(_title)}</h1>\n");
            foreach (string block in _blocks) html.Append(block).Append('\n');
            if (_text.Length > 0) html.Append($"<pre class=\"stdout\">{WebUtility.HtmlEncode(_text.ToString())}</pre>\n");
            html.Append("</body>\n</html>\n");
            page = html.ToString();
        }
        AtomicFile.WriteText(PagePath, page);
    }

    void Append(string? text)
    {
        if (text is null) return;
        lock (_lock) _text.Append(text);
    }

    /// <summary>Writes to the console and keeps a copy for the page.</summary>
    sealed class TeeWriter(TextWriter console, HtmlPageSink page) : TextWriter
    {
        public override Encoding Encoding => console.Encoding;
        public override void Write(char value) { console.Write(value); page.Append(value.ToString()); }
        public override void Write(string? value) { console.Write(value); page.Append(value); }
        public override void Write(char[] buffer, int index, int count) { console.Write(buffer, index, count); page.Append(new string(buffer, index, count)); }
        public override void WriteLine(string? value) { console.WriteLine(value); page.Append(value + Environment.NewLine); }
        public override void WriteLine() { console.WriteLine(); page.Append(Environment.NewLine); }
        public override void Flush() => console.Flush();
    }
}
