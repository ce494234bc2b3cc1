using LlmNotebooks.Platform;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LlmNotebooks.Charts;
using Markdig;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace LlmNotebooks.Runner.Book;

/// <summary>
/// The course's offline book: a static site built from the executed notebooks, that opens from file:// with no
/// internet connection. index.html lists the chapters (title, status, run time); each chapter's page (01-math.html)
/// shows its markdown rendered, its code highlighted as C#, and every output (HTML as it is: charts draw with the
/// local plotly.js; images; text; errors in red). Math is drawn by a local KaTeX. Same input, same bytes.
/// </summary>
public static class BookBuilder
{
    /// <summary>The folder, inside the book, of the files every page shares.</summary>
    public const string AssetsFolder = "assets";

    /// <summary>The stylesheet's file name, in <see cref="AssetsFolder"/>.</summary>
    public const string StyleSheet = "book.css";

    static readonly MarkdownPipeline Pipeline = BuildPipeline();

    static MarkdownPipeline BuildPipeline()
    {
        var builder = new MarkdownPipelineBuilder().UseAdvancedExtensions(); // math: span.math \(…\), div.math \[…\]
        builder.Extensions.Add(new DisplayMathExtension());                  // one-line $$…$$ in a paragraph: display
        return builder.Build();
    }

    // The one output that carries plotly.js (Course.Setup()'s, marked by PlotlyJs.MarkerAttribute): the book has its
    // own copy in assets/, so that output is left out.
    static readonly Regex PlotlyCarrier = new($@"<script\b[^>]*\s{Regex.Escape(PlotlyJs.MarkerAttribute)}(\s|=|>|/)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    static readonly Regex Ansi = new(@"\x1B\[[0-?]*[ -/]*[@-~]", RegexOptions.CultureInvariant);

    /// <summary>Builds the book with the default options (KaTeX pinned in Directory.Packages.props, cached per user).</summary>
    /// <returns>The pages written: index.html first, then one per chapter, in the chapters' order.</returns>
    public static IReadOnlyList<string> Build(IReadOnlyList<BookChapter> chapters, string outputDir, TextWriter log) =>
        Build(chapters, outputDir, log, new BookOptions());

    /// <summary>Builds the book into <paramref name="outputDir"/> (created if needed; other files there are left alone).</summary>
    /// <returns>The pages written: index.html first, then one per chapter, in the chapters' order.</returns>
    public static IReadOnlyList<string> Build(IReadOnlyList<BookChapter> chapters, string outputDir, TextWriter log, BookOptions options)
    {
        ArgumentNullException.ThrowIfNull(chapters);
        string root = Path.GetFullPath(outputDir);
        var duplicate = chapters.GroupBy(c => c.PageFileName, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Two chapters would share the page {duplicate.Key}.", nameof(chapters));

        var katex = options.Katex ?? KatexAssets.Pinned();
        var assets = new PageAssets(WriteAssets(root, log, katex), katex.Version);

        // Read every notebook first: a page's previous/next links need its neighbours' titles.
        var read = chapters.Select(c => ReadChapter(c, log)).ToList();
        var pages = new List<string> { Path.Combine(root, "index.html") };
        AtomicFile.WriteIfChanged(pages[0], Encoding.UTF8.GetBytes(BookPage.Index(options, read, assets)));

        var readable = read.Where(r => r.Cells is not null).ToList();
        for (int i = 0; i < readable.Count; i++)
        {
            var chapter = readable[i];
            string body = ChapterBody(chapter);
            string html = BookPage.Chapter(options, chapter, i > 0 ? readable[i - 1] : null, i + 1 < readable.Count ? readable[i + 1] : null, body, assets);
            string path = Path.Combine(root, chapter.Chapter.PageFileName);
            AtomicFile.WriteIfChanged(path, Encoding.UTF8.GetBytes(html));
            pages.Add(path);
        }
        return pages;
    }

    /// <summary>The book's size in bytes: every file under <paramref name="bookDir"/>.</summary>
    public static long SizeOf(string bookDir) =>
        Directory.Exists(bookDir) ? Directory.GetFiles(bookDir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) : 0;

    // ---------------------------------------------------------------------------------------------------------------
    // Assets

    /// <summary>plotly.js and its licence, the stylesheet, and KaTeX when it can be had. Returns whether math is drawn.</summary>
    static bool WriteAssets(string root, TextWriter log, KatexAssets katex)
    {
        string assets = Path.Combine(root, AssetsFolder);
        AtomicFile.WriteIfChanged(Path.Combine(assets, PlotlyJs.FileName), Encoding.UTF8.GetBytes(PlotlyJs.Source()));
        AtomicFile.WriteIfChanged(Path.Combine(assets, PlotlyJs.FileName + ".LICENSE.txt"), Encoding.UTF8.GetBytes(PlotlyJs.LicenseText()));
        AtomicFile.WriteIfChanged(Path.Combine(assets, StyleSheet), Encoding.UTF8.GetBytes(BookPage.Css));

        string? cache = katex.EnsureAsync(log).GetAwaiter().GetResult();
        if (cache is null) return false;
        foreach (string file in KatexAssets.Files(cache))
            AtomicFile.WriteIfChanged(Path.Combine(assets, "katex", file), File.ReadAllBytes(Path.Combine(cache, file)));
        return true;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Reading a notebook

    internal sealed record Cell(string Type, string Source, JsonArray? Outputs);

    internal sealed record ChapterText(BookChapter Chapter, string Title, IReadOnlyList<Cell>? Cells, string? Problem);

    static ChapterText ReadChapter(BookChapter chapter, TextWriter log)
    {
        string fallback = Path.GetFileNameWithoutExtension(chapter.Notebook);
        try
        {
            if (JsonNode.Parse(File.ReadAllText(chapter.Notebook)) is not JsonObject root || root["cells"] is not JsonArray cells)
                throw new FormatException("not a notebook (no \"cells\" array)");
            var list = new List<Cell>();
            foreach (var node in cells)
            {
                if (node is not JsonObject cell) continue;
                string type = cell["cell_type"]?.GetValue<string>() ?? "";
                list.Add(new Cell(type, Text(cell["source"]), type == "code" ? cell["outputs"] as JsonArray : null));
            }
            string title = list.Where(c => c.Type == "markdown").Select(c => FirstHeading(c.Source)).FirstOrDefault(t => t is not null) ?? fallback;
            return new ChapterText(chapter, title, list, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or FormatException or InvalidOperationException)
        {
            string why = e is FileNotFoundException or DirectoryNotFoundException ? "no such file" : e.Message;
            log.WriteLine($"warning: the book leaves out {chapter.Notebook}: {why}");
            return new ChapterText(chapter, fallback, null, why);
        }
    }

    /// <summary>The plain text of a markdown text's first heading, or null.</summary>
    internal static string? FirstHeading(string markdown)
    {
        var heading = Markdig.Markdown.Parse(markdown, Pipeline).Descendants<HeadingBlock>().FirstOrDefault();
        if (heading?.Inline is null) return null;
        var text = new StringBuilder();
        PlainText(heading.Inline, text);
        string title = Regex.Replace(text.ToString(), @"\s+", " ").Trim();
        return title.Length > 0 ? title : null;
    }

    static void PlainText(Inline inline, StringBuilder text)
    {
        switch (inline)
        {
            case LiteralInline literal: text.Append(literal.Content.ToString()); break;
            case CodeInline code: text.Append(code.Content); break;
            case HtmlEntityInline entity: text.Append(entity.Transcoded.ToString()); break;
            case LineBreakInline: text.Append(' '); break;
            case Markdig.Extensions.Mathematics.MathInline m: text.Append(m.Content.ToString()); break;
            case ContainerInline container:
                foreach (var child in container) PlainText(child, text);
                break;
        }
    }

    /// <summary>A notebook's multi-line text: a string, or an array of lines.</summary>
    static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonArray lines => string.Concat(lines.Select(l => l is JsonValue v && v.TryGetValue(out string? s) ? s : "")),
        JsonValue v when v.TryGetValue(out string? s) => s,
        _ => node.ToJsonString(),
    };

    // ---------------------------------------------------------------------------------------------------------------
    // A chapter's page

    static string ChapterBody(ChapterText chapter)
    {
        var html = new StringBuilder();
        int number = 0;
        foreach (var cell in chapter.Cells!)
        {
            switch (cell.Type)
            {
                case "markdown":
                    html.Append("<section class=\"cell markdown\">\n").Append(RenderMarkdown(cell.Source)).Append("</section>\n");
                    break;
                case "code":
                    number++;
                    CodeCell(html, chapter.Chapter, number, cell);
                    break;
                case "raw" when cell.Source.Length > 0:
                    html.Append("<section class=\"cell raw\"><pre>").Append(Escape(cell.Source)).Append("</pre></section>\n");
                    break;
            }
        }
        return html.ToString();
    }

    static void CodeCell(StringBuilder html, BookChapter chapter, int number, Cell cell)
    {
        bool failed = chapter.Status == ChapterStatus.Failed && chapter.FailedCell == number;
        bool skipped = chapter.Status == ChapterStatus.Failed && chapter.FailedCell is int f && number > f;
        string state = failed ? " failed" : skipped ? " skipped" : "";
        string note = failed ? " · failed" : skipped ? " · not run (an earlier cell failed)" : "";
        html.Append($"<section class=\"cell code{state}\" id=\"cell-{number}\">\n");
        html.Append($"<div class=\"cell-label\"><a href=\"#cell-{number}\">code cell {number}</a>{note}</div>\n");
        html.Append(HighlightCSharp(cell.Source.TrimEnd('\n', '\r')));
        var outputs = new StringBuilder();
        foreach (var output in cell.Outputs?.OfType<JsonObject>() ?? [])
            Output(outputs, output);
        if (outputs.Length > 0) html.Append("<div class=\"outputs\">\n").Append(outputs).Append("</div>\n");
        html.Append("</section>\n");
    }

    static void Output(StringBuilder html, JsonObject output)
    {
        switch (output["output_type"]?.GetValue<string>())
        {
            case "stream":
                string name = output["name"]?.GetValue<string>() == "stderr" ? "stderr" : "stdout";
                string text = StripAnsi(Text(output["text"]));
                if (text.Length > 0) html.Append($"<pre class=\"output {name}\">").Append(Escape(TrimFinalNewline(text))).Append("</pre>\n");
                break;
            case "error":
                string traceback = output["traceback"] is JsonArray lines && lines.Count > 0
                    ? string.Join("\n", lines.Select(l => l is JsonValue v && v.TryGetValue(out string? s) ? s : ""))
                    : $"{Text(output["ename"])}: {Text(output["evalue"])}";
                html.Append("<pre class=\"output error\">").Append(Escape(TrimFinalNewline(StripAnsi(traceback)))).Append("</pre>\n");
                break;
            case "execute_result" or "display_data" or "update_display_data":
                if (output["data"] is JsonObject data) RichOutput(html, data);
                break;
        }
    }

    static void RichOutput(StringBuilder html, JsonObject data)
    {
        if (data["text/html"] is { } htmlNode)
        {
            string content = Text(htmlNode);
            if (PlotlyCarrier.IsMatch(content)) return; // the page loads its own plotly.js
            html.Append("<div class=\"output html\">\n").Append(content).Append("\n</div>\n");
        }
        else if (data["image/svg+xml"] is { } svg)
            html.Append("<div class=\"output image\">").Append(Text(svg)).Append("</div>\n");
        else if (data["image/png"] is { } png)
            html.Append("<div class=\"output image\"><img alt=\"output image\" src=\"data:image/png;base64,").Append(Base64(png)).Append("\"></div>\n");
        else if (data["image/jpeg"] is { } jpeg)
            html.Append("<div class=\"output image\"><img alt=\"output image\" src=\"data:image/jpeg;base64,").Append(Base64(jpeg)).Append("\"></div>\n");
        else if (data["text/markdown"] is { } md)
            html.Append("<div class=\"output markdown\">\n").Append(RenderMarkdown(Text(md))).Append("</div>\n");
        else if (data["text/plain"] is { } plain)
            html.Append("<pre class=\"output text\">").Append(Escape(TrimFinalNewline(StripAnsi(Text(plain))))).Append("</pre>\n");
        else if (data.Count > 0)
            html.Append("<pre class=\"output text\">").Append(Escape(data.First().Value?.ToJsonString() ?? "")).Append("</pre>\n");
    }

    static string Base64(JsonNode node) => Regex.Replace(Text(node), @"\s+", "");

    // ---------------------------------------------------------------------------------------------------------------
    // Markdown and code

    static readonly Regex FencedCSharp = new(@"<pre><code class=""language-(?:csharp|cs|c#)"">(.*?)</code></pre>", RegexOptions.Singleline | RegexOptions.CultureInvariant);

    /// <summary>Markdown to HTML (math as span.math / div.math for KaTeX), with C# code blocks highlighted too.</summary>
    internal static string RenderMarkdown(string markdown)
    {
        string html = Markdig.Markdown.ToHtml(markdown, Pipeline);
        return FencedCSharp.Replace(html, m => HighlightCSharp(System.Net.WebUtility.HtmlDecode(m.Groups[1].Value).TrimEnd('\n')));
    }

    /// <summary>C# source as a highlighted pre (ColorCode's HtmlClassFormatter; the classes are styled in book.css).</summary>
    internal static string HighlightCSharp(string source)
    {
        string colored = new ColorCode.HtmlClassFormatter().GetHtmlString(source, ColorCode.Languages.CSharp);
        // ColorCode writes <div class="csharp"><pre>\n…\n</pre></div>: keep what is inside the pre.
        int start = colored.IndexOf("<pre>", StringComparison.Ordinal), end = colored.LastIndexOf("</pre>", StringComparison.Ordinal);
        string inner = start >= 0 && end > start ? colored[(start + 5)..end] : Escape(source);
        inner = SplitNumber.Replace(inner.TrimStart('\r', '\n').TrimEnd('\r', '\n'), "<span class=\"number\">$1.$2</span>");
        return $"<pre class=\"source\"><code class=\"language-csharp\">{inner}</code></pre>\n";
    }

    // ColorCode colours 0.9 as two numbers around an uncoloured dot: one number.
    static readonly Regex SplitNumber = new(@"<span class=""number"">(\d+)</span>\.<span class=""number"">(\w+)</span>", RegexOptions.CultureInvariant);

    static string TrimFinalNewline(string text) => text.EndsWith('\n') ? text[..^1] : text;

    static string StripAnsi(string text) => Ansi.Replace(text, "");

    /// <summary>HTML-escapes text for element content and attribute values.</summary>
    internal static string Escape(string text)
    {
        var sb = new StringBuilder(text.Length + 16);
        foreach (char c in text)
        {
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&#39;"); break;
                default: sb.Append(c); break;
            }
        }
        return sb.ToString();
    }
}
