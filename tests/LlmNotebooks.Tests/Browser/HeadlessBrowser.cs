using PuppeteerSharp;

namespace LlmNotebooks.Tests.Browser;

/// <summary>What a real browser did with a page: charts drawn, math rendered, script errors, requests off the machine.</summary>
public sealed record PageReport(
    string Page,
    int ChartDivs,
    int DrawnCharts,
    int UndrawnCharts,
    int KatexRendered,
    int KatexErrors,
    int MathJaxRendered,
    int UnrenderedMathSpans,
    IReadOnlyList<string> ScriptErrors,
    IReadOnlyList<string> ExternalRequests,
    string ChartMessages,
    IReadOnlyList<string> ClippedTitles)
{
    public override string ToString() =>
        $"{Path.GetFileName(Page)}: {DrawnCharts}/{ChartDivs} charts drawn, KaTeX {KatexRendered} (errors {KatexErrors}), MathJax {MathJaxRendered}, " +
        $"unrendered math {UnrenderedMathSpans}, {ScriptErrors.Count} script errors{(ScriptErrors.Count > 0 ? ": " + string.Join(" | ", ScriptErrors.Take(5)) : "")}, " +
        $"{ExternalRequests.Count} external requests{(ExternalRequests.Count > 0 ? ": " + string.Join(", ", ExternalRequests.Take(5)) : "")}" +
        (ChartMessages.Length > 0 ? $", chart messages: {ChartMessages}" : "") +
        (ClippedTitles.Count > 0 ? $", {ClippedTitles.Count} chart or axis titles cut at their chart's edge: {string.Join(" | ", ClippedTitles.Take(5))}" : "");
}

/// <summary>
/// Opens pages in headless Chromium (Debian's <c>chromium</c>, or the browser named by LLMNB_CHROMIUM) through
/// PuppeteerSharp, with the network cut off: every request that is not file:, data: or blob: is recorded and aborted,
/// or answered by <paramref name="serve"/> when a test stands in for a CDN. Waits until every chart div is drawn (or a
/// time limit passes), then reports.
/// </summary>
public static class HeadlessBrowser
{
    /// <summary>The browser to use, or null where none is installed (tests then skip, except in CI).</summary>
    public static string? ExecutablePath { get; } = Find();

    /// <summary>CI sets LLMNB_REQUIRE_BROWSER=1: there a missing browser (or nbconvert) fails the tests instead of skipping them.</summary>
    public static bool Required => Environment.GetEnvironmentVariable("LLMNB_REQUIRE_BROWSER") == "1";

    public static string SkipReason =>
        "Chromium was not found (install Debian's `chromium`, or set LLMNB_CHROMIUM to a Chrome/Chromium executable): browser checks skipped.";

    static string? Find()
    {
        var candidates = new List<string?> { Environment.GetEnvironmentVariable("LLMNB_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
            "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome", @"C:\Program Files\Google\Chrome\Application\chrome.exe" };
        return candidates.FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p));
    }

    /// <param name="expectMath">The page has formulas: wait until MathJax or KaTeX has drawn one (MathJax starts after the load
    /// event, so "nothing is processing" can be true before it has begun; on a loaded machine that race read 0 formulas).</param>
    public static async Task<PageReport> OpenAsync(string htmlPath, Func<string, string?>? serve = null, TimeSpan? timeout = null, bool expectMath = false)
    {
        string exe = ExecutablePath ?? throw new InvalidOperationException(SkipReason);
        string profile = Directory.CreateTempSubdirectory("llmnb-chromium-").FullName;
        try
        {
            await using var browser = await Puppeteer.LaunchAsync(new LaunchOptions
            {
                ExecutablePath = exe,
                Headless = true,
                UserDataDir = profile,
                Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--allow-file-access-from-files"],
            });
            await using var page = await browser.NewPageAsync();
            await page.SetViewportAsync(new ViewPortOptions { Width = 1100, Height = 900 });
            var errors = new List<string>();
            var external = new List<string>();
            page.PageError += (_, e) => { lock (errors) errors.Add(e.Message); };
            page.Console += (_, e) => { if (e.Message.Type == ConsoleType.Error) lock (errors) errors.Add(e.Message.Text); };
            await page.SetRequestInterceptionAsync(true);
            page.Request += async (_, e) =>
            {
                string url = e.Request.Url;
                if (url.StartsWith("file:", StringComparison.Ordinal) || url.StartsWith("data:", StringComparison.Ordinal) || url.StartsWith("blob:", StringComparison.Ordinal))
                {
                    await e.Request.ContinueAsync();
                    return;
                }
                lock (external) external.Add(url);
                string? body = serve?.Invoke(url);
                if (body is not null)
                    await e.Request.RespondAsync(new ResponseData { Status = System.Net.HttpStatusCode.OK, ContentType = "application/javascript", Body = body });
                else
                    await e.Request.AbortAsync();
            };

            await page.GoToAsync(new Uri(Path.GetFullPath(htmlPath)).AbsoluteUri, new NavigationOptions { WaitUntil = [WaitUntilNavigation.Load], Timeout = 120_000 });
            var limit = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
            while (DateTime.UtcNow < limit)
            {
                bool settled = await page.EvaluateExpressionAsync<bool>(
                    "Array.from(document.querySelectorAll('div.llmnb-chart')).every(d => d.querySelector('svg.main-svg') || d.querySelector('p'))" +
                    " && !document.querySelector('.MathJax_Processing, #MathJax_Message[style*=\"visible\"]')" +
                    (expectMath ? " && !!document.querySelector('.MathJax, .MathJax_CHTML, .MathJax_Display, mjx-container, .katex')" : ""));
                if (settled) break;
                await Task.Delay(250);
            }
            await Task.Delay(300); // let late errors surface
            var counts = await page.EvaluateExpressionAsync<int[]>(
                "(() => { const charts = Array.from(document.querySelectorAll('div.llmnb-chart'));" +
                " const drawn = charts.filter(d => d.classList.contains('js-plotly-plot') && d.querySelector('svg.main-svg')).length;" +
                " return [charts.length, drawn, document.querySelectorAll('.katex').length, document.querySelectorAll('.katex-error').length," +
                " document.querySelectorAll('.MathJax, .MathJax_CHTML, .MathJax_Display, mjx-container').length," +
                " Array.from(document.querySelectorAll('span.math, div.math')).filter(e => !e.querySelector('.katex')).length]; })()");
            string messages = await page.EvaluateExpressionAsync<string>(
                "Array.from(document.querySelectorAll('div.llmnb-chart p')).map(p => p.textContent).slice(0, 2).join(' | ')");
            // A chart's title and axis titles are single lines of SVG text: where one is longer than the chart is wide (or,
            // for the rotated y-axis title, tall), the browser cuts it at the chart's edge.
            var clipped = await page.EvaluateExpressionAsync<string[]>(
                "Array.from(document.querySelectorAll('div.llmnb-chart')).flatMap(d => { const svg = d.querySelector('svg.main-svg'); if (!svg) return [];" +
                " const c = svg.getBoundingClientRect();" +
                " return Array.from(d.querySelectorAll('text.gtitle, text.xtitle, text.ytitle')).filter(t => t.textContent).flatMap(t => {" +
                " const r = t.getBoundingClientRect();" +
                " return r.left < c.left - 1 || r.right > c.right + 1 || r.top < c.top - 1 || r.bottom > c.bottom + 1" +
                " ? [t.textContent + ' (' + Math.round(r.width) + '×' + Math.round(r.height) + ' px in ' + Math.round(c.width) + '×' + Math.round(c.height) + ')'] : []; }); })");
            return new PageReport(htmlPath, counts[0], counts[1], counts[0] - counts[1], counts[2], counts[3], counts[4], counts[5], errors, external, messages, clipped);
        }
        finally
        {
            try { Directory.Delete(profile, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}

/// <summary>A fact that needs a browser: skipped with a message where none is installed, failed in CI (LLMNB_REQUIRE_BROWSER=1).</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public BrowserFactAttribute()
    {
        if (HeadlessBrowser.ExecutablePath is null && !HeadlessBrowser.Required) Skip = HeadlessBrowser.SkipReason;
    }
}

/// <summary>A theory that needs a browser: skipped with a message where none is installed, failed in CI (LLMNB_REQUIRE_BROWSER=1).</summary>
public sealed class BrowserTheoryAttribute : TheoryAttribute
{
    public BrowserTheoryAttribute()
    {
        if (HeadlessBrowser.ExecutablePath is null && !HeadlessBrowser.Required) Skip = HeadlessBrowser.SkipReason;
    }
}
