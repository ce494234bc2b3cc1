using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LlmNotebooks.Charts;
using LlmNotebooks.Runner.Book;

namespace LlmNotebooks.Tests.Runner;

/// <summary>
/// The offline book, built from small synthetic executed notebooks into a temporary folder. KaTeX comes from a fake
/// npm registry serving a small tarball of the same layout, so these tests never touch the network.
/// </summary>
public class BookTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("llmnb-book-").FullName;
    string Executed => Directory.CreateDirectory(Path.Combine(_dir, "executed")).FullName;
    string BookDir => Path.Combine(_dir, "book");
    string Cache => Path.Combine(_dir, "cache");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    const string LongLine = "var longLine = \"" + "a fairly long string that keeps going, " + "and going, and going, and going, and going, and going, and going, and going, and going, and going, and still going\";";
    const string ChartHtml = "<div id=\"llmnb-chart-0123456789ab-1\" class=\"llmnb-chart\"></div>\n" +
                             "<script type=\"text/javascript\">(function () { if (window.Plotly) window.Plotly.newPlot(\"llmnb-chart-0123456789ab-1\", [], {}, {}); })();</script>";
    static readonly string PlotlyCarrier = $"<script type=\"text/javascript\" {PlotlyJs.MarkerAttribute}=\"{PlotlyJs.Version}\">\n/* plotly.js */\n" +
                                           "if (!window.Plotly) (function () {" + new string('x', 200_000) + "}).call(window);\n</script>";
    static readonly string Png = Convert.ToBase64String([0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10, 1, 2, 3]);

    // ---------------------------------------------------------------------------------------------------------------
    // Synthetic notebooks

    static JsonObject Markdown(string source) => new() { ["cell_type"] = "markdown", ["metadata"] = new JsonObject(), ["source"] = source };

    static JsonObject Code(string source, params JsonObject[] outputs) => new()
    {
        ["cell_type"] = "code",
        ["execution_count"] = 1,
        ["metadata"] = new JsonObject { ["polyglot_notebook"] = new JsonObject { ["kernelName"] = "csharp" } },
        ["outputs"] = new JsonArray(outputs.Select(o => (JsonNode)o).ToArray()),
        // as .ipynb files store it: an array of lines
        ["source"] = new JsonArray(Regex.Split(source, "(?<=\n)").Where(l => l.Length > 0).Select(l => (JsonNode)l).ToArray()),
    };

    static JsonObject Stream(string name, string text) => new() { ["output_type"] = "stream", ["name"] = name, ["text"] = text };

    static JsonObject Display(string type, params (string Mime, string Value)[] data) => new()
    {
        ["output_type"] = type,
        ["data"] = new JsonObject(data.Select(d => KeyValuePair.Create(d.Mime, (JsonNode?)d.Value))),
        ["metadata"] = new JsonObject(),
    };

    static JsonObject Error(string message) => new()
    {
        ["output_type"] = "error", ["ename"] = "Error", ["evalue"] = message,
        ["traceback"] = new JsonArray(message.Split('\n').Select(l => (JsonNode)l).ToArray()),
    };

    string Notebook(string name, params JsonObject[] cells)
    {
        var root = new JsonObject
        {
            ["cells"] = new JsonArray(cells.Select(c => (JsonNode)c).ToArray()),
            ["metadata"] = new JsonObject { ["kernelspec"] = new JsonObject { ["name"] = ".net-csharp" } },
            ["nbformat"] = 4,
            ["nbformat_minor"] = 5,
        };
        string path = Path.Combine(Executed, name);
        File.WriteAllText(path, root.ToJsonString());
        return path;
    }

    /// <summary>Three chapters: one with every kind of output that failed at its third code cell, one that ran, one never run.</summary>
    IReadOnlyList<BookChapter> Chapters()
    {
        string first = Notebook("08-synthetic.ipynb",
            Markdown("# Chapter 8 · Synthetic *outputs*\n\nInline math $a_1 < b$, a sum:\n\n$$\n\\sum_k x_k\n$$\n\nand one line of display math:\n\n$$e = mc^2$$\n\n```csharp\nvar fenced = 1;\n```\n"),
            Code("Course.Setup()", Display("display_data", ("text/html", PlotlyCarrier)), Stream("stdout", "ready\n"),
                Display("execute_result", ("text/plain", "LlmNotebooks ready"))),
            Code("var x = 1 < 2; // a comment\n" + LongLine + "\nx",
                Display("execute_result", ("text/html", "<table class=\"tensor\"><tr><td>42</td></tr></table>"), ("text/plain", "42")),
                Display("execute_result", ("text/plain", "<plain & text>")),
                Stream("stderr", "careful\n"),
                Display("display_data", ("image/png", Png), ("text/plain", "an image")),
                Display("display_data", ("text/html", ChartHtml), ("text/plain", "a chart"))),
            Code("throw new Exception(\"boom\");", Error("System.Exception: boom <b>\n   at Submission#3")),
            Code("var never = 0;"));
        string second = Notebook("09-second.ipynb", Markdown("Some prose first.\n\n## Chapter 9 · Second\n"), Code("1 + 1", Display("execute_result", ("text/plain", "2"))));
        string third = Notebook("10-untitled.ipynb", Code("2 + 2"));
        return
        [
            new BookChapter(first, ChapterStatus.Failed, FailedCell: 3, Duration: TimeSpan.FromSeconds(75.2)),
            new BookChapter(second, ChapterStatus.Ran, Duration: TimeSpan.FromSeconds(12.34)),
            new BookChapter(third, ChapterStatus.NotRun),
        ];
    }

    // ---------------------------------------------------------------------------------------------------------------
    // A fake npm registry and a KaTeX-shaped tarball

    sealed class FakeRegistry(byte[]? tarball, Exception? failure = null) : HttpMessageHandler
    {
        public int Requests;
        public Uri? LastUri;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Requests);
            LastUri = request.RequestUri;
            if (failure is not null) throw failure;
            return Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new ByteArrayContent(tarball!) });
        }
    }

    static byte[] FakeKatexTarball()
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            void Add(string name, string text)
            {
                var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) };
                tar.WriteEntry(entry);
            }
            Add("package/package.json", "{\"name\": \"katex\"}");
            Add("package/LICENSE", "The MIT License (MIT)");
            Add("package/dist/katex.min.js", "window.katex = { render: function () {} };");
            Add("package/dist/katex.js", "not needed");
            Add("package/dist/contrib/auto-render.min.js", "window.renderMathInElement = function () {};");
            Add("package/dist/katex.min.css", ".katex { font: normal 1.21em KaTeX_Main; }");
            Add("package/dist/fonts/KaTeX_Main-Regular.woff2", "woff2 font");
            Add("package/dist/fonts/KaTeX_Main-Regular.woff", "woff font: not needed");
            Add("package/dist/fonts/../../../escaped.woff2", "a path trick");
        }
        return buffer.ToArray();
    }

    static string IntegrityOf(byte[] bytes) => "sha512-" + Convert.ToBase64String(SHA512.HashData(bytes));

    (BookOptions Options, FakeRegistry Registry) Offline()
    {
        var registry = new FakeRegistry(null, new HttpRequestException("Name or service not known (registry.npmjs.org:443)"));
        return (new BookOptions { Katex = new KatexAssets("0.0.1-test", "sha512-AAAA", Cache, registry) }, registry);
    }

    (BookOptions Options, FakeRegistry Registry) Online()
    {
        byte[] tarball = FakeKatexTarball();
        var registry = new FakeRegistry(tarball);
        return (new BookOptions { Katex = new KatexAssets("0.0.1-test", IntegrityOf(tarball), Cache, registry) }, registry);
    }

    IReadOnlyList<string> Build(BookOptions options, TextWriter? log = null) => BookBuilder.Build(Chapters(), BookDir, log ?? TextWriter.Null, options);

    string Page(string name) => File.ReadAllText(Path.Combine(BookDir, name));

    // ---------------------------------------------------------------------------------------------------------------

    [Fact]
    public void The_index_lists_every_chapter_with_its_title_status_and_run_time()
    {
        var pages = Build(Online().Options);
        Assert.Equal(["index.html", "08-synthetic.html", "09-second.html", "10-untitled.html"], pages.Select(Path.GetFileName));
        Assert.All(pages, p => Assert.True(File.Exists(p)));

        string index = Page("index.html");
        Assert.Contains("<h1>LLM Notebooks</h1>", index);
        Assert.Contains("<a href=\"08-synthetic.html\">Chapter 8 · Synthetic outputs</a>", index); // first heading, as plain text
        Assert.Contains("<a href=\"09-second.html\">Chapter 9 · Second</a>", index);               // a heading below prose
        Assert.Contains("<a href=\"10-untitled.html\">10-untitled</a>", index);                    // no heading: the file name
        Assert.Matches(@"<tr class=""failed""><td>.*08-synthetic.*</td><td>failed at <a href=""08-synthetic.html#cell-3"">code cell 3</a></td><td class=""time"">1 min 15 s</td></tr>", index);
        Assert.Matches(@"<tr class=""ran""><td>.*09-second.*</td><td>ran</td><td class=""time"">12.3 s</td></tr>", index);
        Assert.Matches(@"<tr class=""not-run""><td>.*10-untitled.*</td><td>not run</td><td class=""time"">—</td></tr>", index);
        Assert.Contains("1 of 3 chapters ran", index);
    }

    [Fact]
    public void Every_page_links_to_the_index_and_its_previous_and_next_chapters()
    {
        Build(Online().Options);
        string first = Page("08-synthetic.html"), middle = Page("09-second.html"), last = Page("10-untitled.html");
        foreach (string page in new[] { first, middle, last })
            Assert.Equal(2, Regex.Matches(page, "<a class=\"contents\" href=\"index.html\">").Count); // top and bottom
        Assert.DoesNotContain("rel=\"prev\"", first);
        Assert.Contains("<a class=\"next\" rel=\"next\" href=\"09-second.html\">Chapter 9 · Second →</a>", first);
        Assert.Contains("<a class=\"prev\" rel=\"prev\" href=\"08-synthetic.html\">← Chapter 8 · Synthetic outputs</a>", middle);
        Assert.Contains("<a class=\"next\" rel=\"next\" href=\"10-untitled.html\">10-untitled →</a>", middle);
        Assert.Contains("rel=\"prev\" href=\"09-second.html\"", last);
        Assert.DoesNotContain("rel=\"next\"", last);
        Assert.Contains("<title>Chapter 9 · Second · LLM Notebooks</title>", middle);
    }

    [Fact]
    public void The_output_carrying_plotly_is_left_out_and_every_page_loads_the_local_copy_instead()
    {
        Build(Online().Options);
        string page = Page("08-synthetic.html");
        Assert.DoesNotContain(PlotlyJs.MarkerAttribute, page);
        Assert.DoesNotContain("xxxxxxxxxx", page);
        Assert.True(page.Length < 20_000, $"the page is {page.Length} characters: the 200 kB carrier output was copied");
        Assert.Contains("<pre class=\"output stdout\">ready</pre>", page); // the same cell's other outputs stay

        string head = page[..page.IndexOf("</head>", StringComparison.Ordinal)];
        Assert.Contains($"<script src=\"assets/{PlotlyJs.FileName}\" charset=\"utf-8\"></script>", head);
        Assert.Equal(PlotlyJs.Source(), File.ReadAllText(Path.Combine(BookDir, "assets", PlotlyJs.FileName)));
        Assert.True(File.Exists(Path.Combine(BookDir, "assets", PlotlyJs.FileName + ".LICENSE.txt")));
        Assert.True(File.Exists(Path.Combine(BookDir, "assets", BookBuilder.StyleSheet)));
        Assert.DoesNotContain("https://", page);                                            // nothing from the network
        Assert.Contains(ChartHtml, page);                                                   // chart outputs as they are
    }

    [Fact]
    public void Outputs_of_every_kind_are_shown()
    {
        Build(Online().Options);
        string page = Page("08-synthetic.html");
        Assert.Contains("<div class=\"output html\">\n<table class=\"tensor\"><tr><td>42</td></tr></table>\n</div>", page); // html as it is, not its text/plain
        Assert.DoesNotContain("<pre class=\"output text\">42</pre>", page);
        Assert.Contains("<pre class=\"output text\">&lt;plain &amp; text&gt;</pre>", page);
        Assert.Contains("<pre class=\"output stderr\">careful</pre>", page);
        Assert.Contains($"<img alt=\"output image\" src=\"data:image/png;base64,{Png}\">", page);
        Assert.Contains("<pre class=\"output error\">System.Exception: boom &lt;b&gt;\n   at Submission#3</pre>", page);
        Assert.Matches("<section class=\"cell code failed\" id=\"cell-3\">", page);
        Assert.Matches("<section class=\"cell code skipped\" id=\"cell-4\">", page);
        Assert.Contains("Failed at <a href=\"#cell-3\">code cell 3</a>", page);
    }

    [Fact]
    public void Code_is_highlighted_as_csharp_and_long_lines_wrap_rather_than_being_cut()
    {
        Build(Online().Options);
        string page = Page("08-synthetic.html");
        Assert.Contains("<pre class=\"source\"><code class=\"language-csharp\"><span class=\"keyword\">var</span> x = <span class=\"number\">1</span> &lt; <span class=\"number\">2</span>; <span class=\"comment\">// a comment</span>", page);
        Assert.True(LongLine.Length > 145);
        Assert.Contains(System.Net.WebUtility.HtmlEncode("a fairly long string that keeps going, and going"), page);
        Assert.Contains("and still going&quot;</span>;", page); // the whole line, to its end
        Assert.Contains("<span class=\"keyword\">var</span> fenced = <span class=\"number\">1</span>;", page); // fenced C# in markdown too

        string css = File.ReadAllText(Path.Combine(BookDir, "assets", BookBuilder.StyleSheet));
        var pre = Regex.Match(css, @"(?m)^pre \{[^}]*\}");
        Assert.True(pre.Success, "book.css has a rule for pre");
        Assert.Contains("white-space: pre-wrap", pre.Value);
        Assert.Contains("overflow-wrap: anywhere", pre.Value);
        Assert.Contains(".source .keyword", css);
        Assert.Contains("max-width: 900px", css);
    }

    [Fact]
    public void Math_is_marked_for_KaTeX_and_KaTeX_is_copied_from_its_verified_cached_download()
    {
        var (options, registry) = Online();
        var log = new StringWriter();
        Build(options, log);
        Assert.Equal("", log.ToString());
        Assert.Equal(new Uri("https://registry.npmjs.org/katex/-/katex-0.0.1-test.tgz"), registry.LastUri);

        string page = Page("08-synthetic.html");
        Assert.Contains("<span class=\"math\">\\(a_1 &lt; b\\)</span>", page);
        Assert.Matches(@"<div class=""math"">\s*\\\[\s*\\sum_k x_k\s*\\\]</div>", page);
        Assert.Contains("<span class=\"math display\">\\[e = mc^2\\]</span>", page);

        string head = page[..page.IndexOf("</head>", StringComparison.Ordinal)];
        Assert.Contains("<link rel=\"stylesheet\" href=\"assets/katex/katex.min.css\">", head);
        Assert.Contains("<script defer src=\"assets/katex/katex.min.js\"", head);
        Assert.Contains("<script defer src=\"assets/katex/contrib/auto-render.min.js\"", head);
        Assert.Contains("renderMathInElement", head);

        string katex = Path.Combine(BookDir, "assets", "katex");
        Assert.Equal(["LICENSE", "contrib/auto-render.min.js", "fonts/KaTeX_Main-Regular.woff2", "katex.min.css", "katex.min.js"], KatexAssets.Files(katex));
        Assert.Equal(KatexAssets.Files(katex), KatexAssets.Files(Path.Combine(Cache, "katex-0.0.1-test")));
        Assert.False(File.Exists(Path.Combine(_dir, "escaped.woff2")));
        Assert.Empty(Directory.GetDirectories(Cache, ".*")); // no temporary folder left behind

        Build(options); // a second build uses the cache
        Assert.Equal(1, registry.Requests);
    }

    [Fact]
    public void Offline_the_book_is_built_with_math_left_as_TeX_and_one_warning_line()
    {
        var (options, registry) = Offline();
        var log = new StringWriter();
        var pages = Build(options, log);
        Assert.Equal(4, pages.Count);
        Assert.Equal(1, registry.Requests);

        string[] lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string warning = Assert.Single(lines);
        Assert.StartsWith("warning: KaTeX 0.0.1-test is not available (Name or service not known", warning);
        Assert.Contains("re-run online", warning);

        string page = Page("08-synthetic.html");
        Assert.DoesNotContain("katex", page);
        Assert.Contains("<span class=\"math\">\\(a_1 &lt; b\\)</span>", page); // still readable TeX
        Assert.Contains(PlotlyJs.FileName, page);
        Assert.Contains("Math is shown as TeX source", Page("index.html"));
        Assert.False(Directory.Exists(Path.Combine(Cache, "katex-0.0.1-test")));
    }

    [Fact]
    public void A_tarball_that_does_not_match_the_pinned_integrity_is_not_kept()
    {
        var registry = new FakeRegistry(FakeKatexTarball());
        var katex = new KatexAssets("0.0.2-test", IntegrityOf([1, 2, 3]), Cache, registry);
        var log = new StringWriter();
        Build(new BookOptions { Katex = katex }, log);
        Assert.Contains("differs from the pinned sha512-", log.ToString());
        Assert.False(Directory.Exists(katex.CacheFolder));
        Assert.DoesNotContain("katex", Page("08-synthetic.html"));
    }

    [Fact]
    public void The_same_input_gives_the_same_bytes()
    {
        var options = Online().Options;
        Build(options);
        var first = Directory.GetFiles(BookDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .ToDictionary(f => Path.GetRelativePath(BookDir, f), File.ReadAllBytes);
        Directory.Delete(BookDir, recursive: true);
        Build(options);
        var second = Directory.GetFiles(BookDir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .ToDictionary(f => Path.GetRelativePath(BookDir, f), File.ReadAllBytes);
        Assert.Equal(first.Keys, second.Keys);
        foreach (var (name, bytes) in first) Assert.True(bytes.AsSpan().SequenceEqual(second[name]), $"{name} differs between two builds");
        Assert.DoesNotContain(second.Keys, k => k.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void An_unreadable_notebook_is_listed_without_a_page_and_the_rest_still_build()
    {
        var chapters = Chapters().Append(new BookChapter(Path.Combine(Executed, "11-missing.ipynb"), ChapterStatus.NotRun)).ToList();
        var log = new StringWriter();
        var pages = BookBuilder.Build(chapters, BookDir, log, Offline().Options);
        Assert.Equal(4, pages.Count);
        Assert.Contains("warning: the book leaves out", log.ToString());
        Assert.Contains("11-missing <span class=\"missing\">(no page: no such file)</span>", Page("index.html"));
        Assert.DoesNotContain("11-missing.html", Page("10-untitled.html"));
    }

    [Fact]
    public void Run_records_round_trip_and_a_missing_file_reads_as_none()
    {
        Assert.Empty(RunRecords.Load(Executed));
        var records = new SortedDictionary<string, RunRecord>(StringComparer.Ordinal)
        {
            ["01-math.ipynb"] = new(RunRecord.RanStatus, null, 20.5, 40, 40),
            ["00-history.ipynb"] = new(RunRecord.FailedStatus, 7, 3.2, 7, 43),
        };
        RunRecords.Save(Executed, records);
        string json = File.ReadAllText(Path.Combine(Executed, RunRecords.FileName));
        Assert.True(json.IndexOf("00-history", StringComparison.Ordinal) < json.IndexOf("01-math", StringComparison.Ordinal));
        Assert.Contains("\"failedCell\": 7", json);
        var read = RunRecords.Load(Executed);
        Assert.Equal(records, read);
        Assert.Equal(ChapterStatus.Failed, read["00-history.ipynb"].ChapterStatus);
        Assert.Equal(ChapterStatus.Ran, read["01-math.ipynb"].ChapterStatus);

        File.WriteAllText(Path.Combine(Executed, RunRecords.FileName), "{ damaged");
        Assert.Empty(RunRecords.Load(Executed));
    }

    [Fact]
    public void The_pinned_KaTeX_is_the_one_in_Directory_Packages_props()
    {
        string props = File.ReadAllText(Path.Combine(TestSetup.RepoRoot, "Directory.Packages.props"));
        var pinned = KatexAssets.Pinned(Cache);
        Assert.Equal(Regex.Match(props, "<KatexVersion>(.*?)</KatexVersion>").Groups[1].Value, pinned.Version);
        Assert.Equal(Regex.Match(props, "<KatexIntegrity>(.*?)</KatexIntegrity>").Groups[1].Value, pinned.Integrity);
        Assert.Matches(@"^0\.16\.\d+$", pinned.Version);
        Assert.Matches(@"^sha512-[A-Za-z0-9+/]{86}==$", pinned.Integrity);
        Assert.Equal(Path.Combine(Cache, $"katex-{pinned.Version}"), pinned.CacheFolder);
    }
}
