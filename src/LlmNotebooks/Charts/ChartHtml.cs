using System.Security.Cryptography;
using System.Text;
using Newtonsoft.Json;
using Plotly.NET;

namespace LlmNotebooks.Charts;

/// <summary>
/// Turns a Plotly.NET chart into the HTML a notebook shows: an empty div and a small script that draws into it.
/// The script finds plotly.js in this order, so the same output draws in VS Code, JupyterLab, classic Jupyter,
/// nbconvert's HTML, nbviewer and the course's book, online or offline:
/// <list type="number">
/// <item><c>window.Plotly</c>, defined once per page by <see cref="PlotlyJs.InlineScript"/> (the first cell's
/// <c>Course.Setup()</c> output) or by the book's local copy: no network needed;</item>
/// <item>else, where the page has require.js (classic Jupyter, nbviewer), <c>require</c> of the pinned CDN copy, as
/// Plotly.NET.Interactive does;</item>
/// <item>else a script tag for the pinned CDN copy, added once per page.</item>
/// </list>
/// If none works (offline, and the first cell's output is missing) the div says so instead of staying blank.
/// </summary>
public static class ChartHtml
{
    static int _counter;

    /// <summary>The class every chart div carries (the browser tests count these).</summary>
    public const string DivClass = "llmnb-chart";

    /// <summary>Plotly.NET's default size (600 × 600), which every chart gets unless it sets its own.</summary>
    const int DefaultSide = 600;

    /// <summary>The height of a chart that keeps Plotly.NET's default size: its width is the column's (responsive).</summary>
    public const int FullWidthHeight = 460;

    /// <summary>
    /// The chart's data, layout and config as Plotly.NET serialises them; a chart left at Plotly.NET's default 600 × 600
    /// instead takes the whole width of the page's column (no fixed width: plotly.js sizes it to its div, and resizes it
    /// with the window) and <see cref="FullWidthHeight"/> pixels of height, so titles and legends have room. Charts that
    /// set their own size (attention grids, graphs) keep it.
    /// </summary>
    public static (string Data, string Layout, string Config) Json(GenericChart chart) => (
        JsonConvert.SerializeObject(GenericChart.getTraces(chart), global::Globals.JSON_CONFIG),
        FullWidth(JsonConvert.SerializeObject(GenericChart.getLayout(chart), global::Globals.JSON_CONFIG)),
        JsonConvert.SerializeObject(GenericChart.getConfig(chart), global::Globals.JSON_CONFIG));

    static string FullWidth(string layoutJson)
    {
        var layout = Newtonsoft.Json.Linq.JObject.Parse(layoutJson);
        if (layout["width"]?.ToObject<double?>() == DefaultSide && layout["height"]?.ToObject<double?>() == DefaultSide)
        {
            layout.Remove("width");
            layout["height"] = FullWidthHeight;
            layout["autosize"] = true;
        }
        return layout.ToString(Formatting.None);
    }

    /// <summary>The div and loader script for one chart.</summary>
    public static string Render(GenericChart chart)
    {
        var (data, layout, config) = Json(chart);
        // Deterministic ids (executed copies diff cleanly): the content's hash plus a per-process counter.
        string hash = Hashes.Sha256Hex(data + layout + config)[..12];
        string id = $"llmnb-chart-{hash}-{Interlocked.Increment(ref _counter)}";
        string cdnNoExtension = PlotlyJs.CdnUrl[..^3]; // require.js paths leave out ".js"
        return $$"""
            <div id="{{id}}" class="{{DivClass}}"></div>
            <script type="text/javascript">
            (function () {
              var w = window, div = document.getElementById("{{id}}");
              var data = {{Safe(data)}};
              var layout = {{Safe(layout)}};
              var config = {{Safe(config)}};
              function draw(P) { P.newPlot(div, data, layout, config); }
              function fail() {
                div.innerHTML = "<p style=\"color:#b00\">This chart needs plotly.js {{PlotlyJs.Version}}, which could not be loaded: " +
                  "run the notebook's first cell (Course.Setup() brings an offline copy), or go online ({{PlotlyJs.CdnUrl}}).</p>";
              }
              if (w.Plotly) { draw(w.Plotly); return; }
              if (typeof w.define === "function" && w.define.amd && typeof w.requirejs === "function" && typeof w.requirejs.config === "function") {
                (w.requirejs.config({ context: "llmnb-plotly", paths: { plotly: "{{cdnNoExtension}}" } }) || w.require)(["plotly"], draw, fail);
                return;
              }
              if (w.__llmnbPlotlyWaiting) { w.__llmnbPlotlyWaiting.push([draw, fail]); return; }
              w.__llmnbPlotlyWaiting = [[draw, fail]];
              var s = document.createElement("script");
              s.src = "{{PlotlyJs.CdnUrl}}"; s.charset = "utf-8";
              function settle(ok) {
                var waiting = w.__llmnbPlotlyWaiting || []; w.__llmnbPlotlyWaiting = null;
                waiting.forEach(function (f) { if (ok && w.Plotly) f[0](w.Plotly); else f[1](); });
              }
              s.onload = function () { settle(true); }; s.onerror = function () { settle(false); };
              document.head.appendChild(s);
            })();
            </script>
            """;
    }

    /// <summary>JSON is valid JavaScript; only "&lt;/" must not appear inside a script element.</summary>
    static string Safe(string json) => json.Replace("</", "<\\/", StringComparison.Ordinal);
}
