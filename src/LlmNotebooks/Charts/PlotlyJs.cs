using System.Reflection;

namespace LlmNotebooks.Charts;

/// <summary>
/// plotly.js, the JavaScript library that draws every chart of the course. Plotly.NET 6 ships the version it targets
/// (2.28.0) inside Plotly.NET.dll, so charts can draw with no internet connection: <see cref="InlineScript"/> delivers
/// that copy to a notebook page once (the first cell's <c>Course.Setup()</c> does it), and
/// <see cref="ChartHtml"/>'s loader uses it when present, else loads the same pinned version from the CDN.
/// </summary>
public static class PlotlyJs
{
    /// <summary>The plotly.js version Plotly.NET writes its charts for.</summary>
    public static string Version => global::Globals.PLOTLYJS_VERSION;

    /// <summary>The pinned CDN address, the one Plotly.NET.Interactive uses.</summary>
    public static string CdnUrl => $"https://cdn.plot.ly/plotly-{Version}.min.js";

    /// <summary>The file name of the local copy written beside pages (the book) that load it with a script tag.</summary>
    public static string FileName => $"plotly-{Version}.min.js";

    /// <summary>An attribute that marks the one output carrying plotly.js, so tools (the book) can recognise it.</summary>
    public const string MarkerAttribute = "data-llmnb-plotly";

    static readonly Lazy<string> Cached = new(() => ReadResource($"Plotly.NET.plotly-{Version}.min.js"));

    /// <summary>The minified plotly.js embedded in Plotly.NET.dll (about 3.6 MB).</summary>
    public static string Source() => Cached.Value;

    /// <summary>plotly.js's licence text (MIT), embedded beside it.</summary>
    public static string LicenseText() => ReadResource($"Plotly.NET.plotly-{Version}.min.js.LICENSE.txt");

    /// <summary>
    /// A script element that defines <c>window.Plotly</c> from the embedded copy, wherever it runs. plotly's UMD header
    /// registers an AMD module instead of a global when a page has require.js (classic Jupyter, nbconvert, nbviewer);
    /// running it inside a function whose <c>define</c>, <c>module</c> and <c>exports</c> are undefined makes it
    /// always take the global path.
    /// </summary>
    public static string InlineScript() =>
        $"<script type=\"text/javascript\" {MarkerAttribute}=\"{Version}\">\n" +
        "/* plotly.js " + Version + " (MIT licence), delivered once per notebook page so that charts draw offline. */\n" +
        "if (!window.Plotly) (function (define, module, exports) {\n" +
        EscapeForScript(Source()) +
        "\n}).call(window);\n</script>";

    /// <summary>Text inside a script element must not contain "&lt;/script"; "&lt;\/" means the same in JavaScript.</summary>
    internal static string EscapeForScript(string javaScript) =>
        javaScript.Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase);

    static string ReadResource(string name)
    {
        Assembly plotly = typeof(Plotly.NET.GenericChart).Assembly;
        using var stream = plotly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"{plotly.GetName().Name} {plotly.GetName().Version} has no resource '{name}' " +
                $"(it has: {string.Join(", ", plotly.GetManifestResourceNames())}). The course expects Plotly.NET 6.0.0 (Directory.Packages.props).");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
