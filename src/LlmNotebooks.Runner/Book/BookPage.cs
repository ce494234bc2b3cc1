using System.Globalization;
using System.Text;
using LlmNotebooks.Charts;
using static LlmNotebooks.Runner.Book.BookBuilder;

namespace LlmNotebooks.Runner.Book;

/// <summary>What a page can load from assets/: plotly.js always, KaTeX when it could be had.</summary>
internal sealed record PageAssets(bool Math, string KatexVersion);

/// <summary>The book's HTML: the index, a chapter's page, and the stylesheet.</summary>
internal static class BookPage
{
    public static string Index(BookOptions options, IReadOnlyList<ChapterText> chapters, PageAssets assets)
    {
        var html = new StringBuilder();
        Head(html, $"{options.Title}: contents", assets, chapter: false);
        html.Append("<main class=\"index\">\n<header>\n");
        html.Append($"<h1>{Escape(options.Title)}</h1>\n");
        if (options.Subtitle.Length > 0) html.Append($"<p class=\"subtitle\">{Escape(options.Subtitle)}</p>\n");
        html.Append("</header>\n");
        int ran = chapters.Count(c => c.Chapter.Status == ChapterStatus.Ran);
        html.Append($"<p class=\"summary\">{ran} of {chapters.Count} chapters ran.</p>\n");
        html.Append("<table class=\"toc\">\n<thead><tr><th>Chapter</th><th>Status</th><th class=\"time\">Run time</th></tr></thead>\n<tbody>\n");
        foreach (var c in chapters)
        {
            string page = c.Chapter.PageFileName;
            string title = c.Cells is null
                ? $"{Escape(c.Title)} <span class=\"missing\">(no page: {Escape(c.Problem ?? "unreadable")})</span>"
                : $"<a href=\"{Escape(page)}\">{Escape(c.Title)}</a>";
            html.Append($"<tr class=\"{StatusClass(c.Chapter.Status)}\"><td>{title}</td><td>{StatusHtml(c.Chapter, c.Cells is null ? null : page)}</td>" +
                        $"<td class=\"time\">{Duration(c.Chapter.Duration)}</td></tr>\n");
        }
        html.Append("</tbody>\n</table>\n");
        html.Append("<p class=\"colophon\">Built by the course runner from the executed notebooks. Charts are drawn by a local copy of plotly.js ")
            .Append(Escape(PlotlyJs.Version)).Append(assets.Math
                ? $" and math by a local copy of KaTeX {Escape(assets.KatexVersion)} (both MIT licence, in assets/): the book needs no internet connection.</p>\n"
                : " (MIT licence, in assets/). Math is shown as TeX source: KaTeX could not be downloaded when the book was built; re-run the course command online to draw it.</p>\n");
        html.Append("</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    public static string Chapter(BookOptions options, ChapterText chapter, ChapterText? previous, ChapterText? next, string body, PageAssets assets)
    {
        var html = new StringBuilder();
        Head(html, $"{chapter.Title} · {options.Title}", assets, chapter: true);
        Nav(html, previous, next, "top");
        html.Append("<main class=\"chapter\">\n");
        html.Append($"<p class=\"chapter-status {StatusClass(chapter.Chapter.Status)}\">{StatusSentence(chapter.Chapter)}</p>\n");
        html.Append(body);
        html.Append("</main>\n");
        Nav(html, previous, next, "bottom");
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    static void Head(StringBuilder html, string title, PageAssets assets, bool chapter)
    {
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        html.Append($"<title>{Escape(title)}</title>\n");
        html.Append($"<link rel=\"stylesheet\" href=\"{AssetsFolder}/{StyleSheet}\">\n");
        if (!chapter)
        {
            html.Append("</head>\n<body>\n");
            return;
        }
        // plotly.js first, as a plain script: it defines window.Plotly, which the chart outputs' loader uses first.
        html.Append($"<script src=\"{AssetsFolder}/{Escape(PlotlyJs.FileName)}\" charset=\"utf-8\"></script>\n");
        if (assets.Math)
        {
            html.Append($"<link rel=\"stylesheet\" href=\"{AssetsFolder}/katex/katex.min.css\">\n");
            html.Append($"<script defer src=\"{AssetsFolder}/katex/katex.min.js\" charset=\"utf-8\"></script>\n");
            html.Append($"<script defer src=\"{AssetsFolder}/katex/contrib/auto-render.min.js\" charset=\"utf-8\"></script>\n");
            html.Append(MathScript);
        }
        html.Append("</head>\n<body>\n");
    }

    // Markdig writes $…$ as <span class="math">\(…\)</span> and $$…$$ as <div class="math">\[…\]</div>; KaTeX's
    // auto-render draws those (deferred scripts run before DOMContentLoaded), and nothing else: code and outputs keep
    // their dollar signs and backslashes.
    const string MathScript = """
        <script>
        document.addEventListener("DOMContentLoaded", function () {
          if (!window.renderMathInElement) return;
          var options = {
            delimiters: [
              { left: "\\[", right: "\\]", display: true },
              { left: "\\(", right: "\\)", display: false }
            ],
            throwOnError: false
          };
          document.querySelectorAll(".markdown .math").forEach(function (element) { renderMathInElement(element, options); });
        });
        </script>

        """;

    static void Nav(StringBuilder html, ChapterText? previous, ChapterText? next, string where)
    {
        html.Append($"<nav class=\"book-nav {where}\">\n");
        html.Append(previous is null
            ? "<span class=\"prev\"></span>\n"
            : $"<a class=\"prev\" rel=\"prev\" href=\"{Escape(previous.Chapter.PageFileName)}\">← {Escape(previous.Title)}</a>\n");
        html.Append("<a class=\"contents\" href=\"index.html\">Contents</a>\n");
        html.Append(next is null
            ? "<span class=\"next\"></span>\n"
            : $"<a class=\"next\" rel=\"next\" href=\"{Escape(next.Chapter.PageFileName)}\">{Escape(next.Title)} →</a>\n");
        html.Append("</nav>\n");
    }

    static string StatusClass(ChapterStatus status) => status switch
    {
        ChapterStatus.Ran => "ran",
        ChapterStatus.Failed => "failed",
        _ => "not-run",
    };

    /// <summary>"ran", "failed at code cell N" (linked to the cell), or "not run".</summary>
    static string StatusHtml(BookChapter chapter, string? page) => chapter.Status switch
    {
        ChapterStatus.Ran => "ran",
        ChapterStatus.Failed when chapter.FailedCell is int n => page is null
            ? $"failed at code cell {n}"
            : $"failed at <a href=\"{Escape(page)}#cell-{n}\">code cell {n}</a>",
        ChapterStatus.Failed => "failed before its first cell",
        _ => "not run",
    };

    static string StatusSentence(BookChapter chapter)
    {
        string time = chapter.Duration is { } d ? $" in {Duration(d)}" : "";
        return chapter.Status switch
        {
            ChapterStatus.Ran => $"Every code cell ran{time}.",
            ChapterStatus.Failed when chapter.FailedCell is int n =>
                $"Failed at <a href=\"#cell-{n}\">code cell {n}</a>{(time.Length > 0 ? $" (after {Duration(chapter.Duration)})" : "")}; the cells after it did not run.",
            ChapterStatus.Failed => "Failed before its first cell (the notebook kernel did not start).",
            _ => "Not run: this page shows the notebook as it was last saved, without fresh outputs.",
        };
    }

    /// <summary>"8.3 s", "2 min 05 s", or "—" when unknown.</summary>
    internal static string Duration(TimeSpan? duration)
    {
        if (duration is not { } d) return "—";
        if (d.TotalSeconds < 60) return d.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
        long seconds = (long)Math.Round(d.TotalSeconds);
        return $"{seconds / 60} min {seconds % 60:00} s";
    }

    /// <summary>The stylesheet, assets/book.css.</summary>
    public const string Css = """
        /* The course book: a centred column, sans-serif prose, monospace code; outputs set apart from code. */

        :root {
          --text: #1f2328;
          --muted: #656d76;
          --border: #d0d7de;
          --code-background: #f6f8fa;
          --output-rule: #8c959f;
          --link: #0969da;
          --error: #b42318;
          --error-background: #fef3f2;
          --warning: #9a6700;
        }

        * { box-sizing: border-box; }

        body {
          margin: 0;
          color: var(--text);
          background: #ffffff;
          font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif;
          font-size: 16px;
          line-height: 1.6;
        }

        main, .book-nav {
          max-width: 900px;
          margin: 0 auto;
          padding: 0 24px;
        }

        main { padding-bottom: 24px; }

        a { color: var(--link); text-decoration: none; }
        a:hover { text-decoration: underline; }

        h1, h2, h3, h4, h5, h6 { line-height: 1.25; margin: 1.5em 0 0.6em; }
        h1 { font-size: 2em; }
        h2 { font-size: 1.5em; padding-bottom: 0.3em; border-bottom: 1px solid var(--border); }
        h3 { font-size: 1.25em; }

        /* Code and text outputs: monospace, and long lines wrap instead of being cut off. */
        pre, code, kbd {
          font-family: ui-monospace, SFMono-Regular, "Cascadia Mono", "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace;
          font-size: 13.5px;
        }
        pre {
          margin: 0;
          line-height: 1.45;
          white-space: pre-wrap;
          overflow-wrap: anywhere;
        }
        :not(pre) > code {
          padding: 0.1em 0.35em;
          border-radius: 4px;
          background: var(--code-background);
          font-size: 0.88em;
        }

        /* Navigation */
        .book-nav {
          display: flex;
          justify-content: space-between;
          gap: 16px;
          padding-top: 12px;
          padding-bottom: 12px;
          font-size: 14px;
        }
        .book-nav .prev, .book-nav .next { flex: 1; }
        .book-nav .next { text-align: right; }
        .book-nav.top { border-bottom: 1px solid var(--border); }
        .book-nav.bottom { border-top: 1px solid var(--border); }

        /* Index */
        .subtitle { margin-top: -0.4em; color: var(--muted); font-size: 1.15em; }
        .summary, .colophon, .missing { color: var(--muted); }
        .colophon { margin-top: 2em; font-size: 14px; }
        table.toc { width: 100%; border-collapse: collapse; }
        table.toc th, table.toc td { padding: 8px 10px; border-bottom: 1px solid var(--border); text-align: left; vertical-align: top; }
        table.toc th { font-size: 14px; color: var(--muted); font-weight: 600; }
        table.toc .time { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
        table.toc tr.failed td:nth-child(2) { color: var(--error); }
        table.toc tr.not-run td:nth-child(2) { color: var(--muted); }

        /* A chapter's status line */
        .chapter-status { margin: 16px 0 0; font-size: 14px; color: var(--muted); }
        .chapter-status.failed { color: var(--error); }

        /* Cells */
        .cell { margin: 1em 0; }
        .cell.code { margin: 1.4em 0; }
        .cell-label { margin-bottom: 3px; color: var(--muted); font-size: 12px; }
        .cell-label a { color: inherit; }
        pre.source {
          padding: 10px 14px;
          border: 1px solid var(--border);
          border-radius: 6px;
          background: var(--code-background);
        }
        .cell.failed .cell-label { color: var(--error); font-weight: 600; }
        .cell.failed pre.source { border-color: var(--error); }
        .cell.skipped { opacity: 0.6; }

        /* Markdown */
        .markdown p, .markdown ul, .markdown ol, .markdown blockquote { margin: 0.7em 0; }
        .markdown blockquote { padding: 0 1em; border-left: 4px solid var(--border); color: var(--muted); }
        .markdown pre { padding: 10px 14px; border-radius: 6px; background: var(--code-background); }
        .markdown table { margin: 0.8em 0; border-collapse: collapse; }
        .markdown th, .markdown td { padding: 4px 10px; border: 1px solid var(--border); }
        .markdown th { background: var(--code-background); }
        .markdown img { max-width: 100%; }
        .markdown div.math, .markdown span.math.display { display: block; margin: 0.8em 0; overflow-x: auto; }

        /* Outputs: no box, a rule on the left, so they read as results rather than code. */
        .outputs {
          margin-top: 6px;
          padding: 4px 0 4px 14px;
          border-left: 3px solid var(--output-rule);
        }
        .output + .output { margin-top: 8px; }
        .output.html, .output.image { overflow-x: auto; }
        .output.html { font-size: 14px; }
        .output img { max-width: 100%; }
        pre.output { padding: 2px 0; }
        pre.stderr { color: var(--warning); }
        pre.error {
          padding: 8px 12px;
          border: 1px solid #fda29b;
          border-radius: 6px;
          color: var(--error);
          background: var(--error-background);
        }
        .llmnb-chart { max-width: 100%; }

        /* C# highlighting: ColorCode's HtmlClassFormatter classes. */
        .source .keyword, .source .controlKeyword, .source .preprocessorKeyword { color: #cf222e; }
        .source .string, .source .stringCSharpVerbatim { color: #0a3069; }
        .source .stringEscape { color: #116329; }
        .source .comment, .source .xmlDocComment, .source .xmlDocTag { color: #6e7781; font-style: italic; }
        .source .number { color: #0550ae; }
        .source .type, .source .className, .source .typeVariable, .source .predefined, .source .pseudoKeyword { color: #953800; }

        """;
}
