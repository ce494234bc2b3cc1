using System.Globalization;
using System.Runtime.CompilerServices;
using LlmNotebooks.Platform;
using Microsoft.Data.Analysis;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Formatting;
using LlmNotebooks.Charts;
using LlmNotebooks.Training;
using Microsoft.AspNetCore.Html;
using Plotly.NET;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Notebook;

/// <summary>
/// The first cell of every notebook calls <see cref="Setup"/>: it makes TorchSharp load, seeds every random number
/// generator, teaches the notebook how to show tensors, tables and charts, and warns when the library build is older
/// than its sources. These are process-wide effects, and the library has no others: nothing happens when a library
/// type is merely touched. A program that uses the library without <see cref="Setup"/> calls
/// <see cref="TorchNativeLoader.EnsureLoadable"/> before its first tensor.
/// </summary>
public static class Course
{
    /// <summary>The seed every notebook starts from: <see cref="Defaults.Seed"/>, as an int (what <see cref="Random"/> takes).</summary>
    public const int DefaultSeed = (int)Defaults.Seed;

    /// <summary>The course's .NET random number generator, reseeded by <see cref="Seed"/> (use it instead of new Random()).</summary>
    public static Random Random { get; private set; } = new(DefaultSeed);

    /// <summary>The line <see cref="Setup"/> prints, kept for tests.</summary>
    public static string? SetupSummary { get; private set; }

    /// <summary>
    /// Prepares a notebook (or any program) to run the course's code. Safe to call again. Process-wide effects, all on
    /// purpose: TorchSharp's native library is made loadable (<see cref="TorchNativeLoader.EnsureLoadable"/>),
    /// FSharp.Core and TorchSharp are unified (<see cref="AssemblyUnifier"/>), the culture of every thread becomes the
    /// invariant culture (so numbers print as 3.14 everywhere), formatters for tensors, DataFrames and charts are
    /// registered with the notebook, every <see cref="Trainer"/> shows its progress as a <see cref="LiveProgress"/>
    /// (<see cref="Trainer.StartProgress"/>), and torch's and <see cref="Random"/>'s generators are seeded.
    /// </summary>
    /// <param name="seed">The seed of every random generator (see <see cref="Seed"/>).</param>
    /// <param name="offlineCharts">
    /// In a notebook, deliver plotly.js (3.6 MB, embedded in Plotly.NET) once, as this cell's output, so that every
    /// chart of the notebook draws with no internet connection, in the live kernel and in saved or exported copies.
    /// Pass false to keep saved notebooks small: charts then load plotly.js from its CDN and need a connection.
    /// </param>
    public static string Setup(int seed = DefaultSeed, bool offlineCharts = true)
    {
        TorchNativeLoader.EnsureLoadable();
        AssemblyUnifier.Install(); // before anything touches Plotly.NET or TorchSharp.PyBridge
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        RegisterFormatters();
        Display = ChooseDisplay(Display);
        Trainer.StartProgress = (title, steps, done) => LiveProgress.Start(title, steps, firstStep: done);
        if (offlineCharts && InNotebook) DeliverPlotlyJs();
        Seed(seed);
        string? stale = StaleBuildWarning();
        if (stale is not null) Console.WriteLine(stale);
        SetupSummary = $"LlmNotebooks ready: TorchSharp {typeof(torch).Assembly.GetName().Version?.ToString(3)}, " +
                       $"{(cuda.is_available() ? "CUDA available" : "CPU")}, {torch.get_num_threads()} threads, seed {seed}.";
        return SetupSummary;
    }

    /// <summary>
    /// Where <see cref="Show"/> sends values. <see cref="Setup"/> chooses: the kernel's display in a notebook, a page
    /// beside the program (<see cref="HtmlPageSink"/>) in a file-based app (<c>dotnet run app.cs</c>, such as the
    /// notebooks exported by the runner's --export-apps), the console elsewhere.
    /// </summary>
    public static IDisplaySink Display { get; set; } = ConsoleDisplaySink.Instance;

    /// <summary>
    /// Shows a value as a notebook cell's output does (what <c>display(value)</c> and a cell's last expression do in a
    /// notebook), wherever the course runs: the notebook exported as an app calls this in their place.
    /// </summary>
    public static void Show(object? value) => Display.Show(value);

    static IDisplaySink ChooseDisplay(IDisplaySink current)
    {
        if (InNotebook) return current as KernelDisplaySink ?? new KernelDisplaySink();
        // A .NET 10 file-based app (dotnet run app.cs) knows its source file: its page goes beside it.
        if (AppContext.GetData("EntryPointFilePath") is string app && app.Length > 0)
        {
            string page = Path.ChangeExtension(Path.GetFullPath(app), ".html");
            if (current is HtmlPageSink same && same.PagePath == page) return same;
            var sink = new HtmlPageSink(page, Path.GetFileNameWithoutExtension(app));
            Console.WriteLine($"This program's outputs, charts included, go to {page} (open it in a browser, offline).");
            return sink;
        }
        return current is HtmlPageSink ? current : ConsoleDisplaySink.Instance;
    }

    /// <summary>Seeds TorchSharp's generator and <see cref="Random"/>: the same seed gives the same results, run after run.</summary>
    public static void Seed(int seed)
    {
        torch.manual_seed(seed);
        Random = new Random(seed);
    }

    [MethodImpl(MethodImplOptions.NoInlining)] // keeps Plotly.NET unloaded until AssemblyUnifier is installed
    static void RegisterFormatters()
    {
        Formatter.Register<Tensor>((t, w) => w.Write(TensorView.ToHtml(t)), HtmlFormatter.MimeType);
        Formatter.Register<Tensor>((t, w) => w.Write(TensorView.ToText(t)), PlainTextFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(Tensor), HtmlFormatter.MimeType, PlainTextFormatter.MimeType);

        Formatter.Register<DataFrame>((df, w) => w.Write(DataFrameView.ToHtml(df)), HtmlFormatter.MimeType);
        Formatter.Register<DataFrame>((df, w) => w.Write(DataFrameView.ToText(df)), PlainTextFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(DataFrame), HtmlFormatter.MimeType, PlainTextFormatter.MimeType);

        Formatter.Register<GenericChart>((c, w) => w.Write(ChartHtml.Render(c)), HtmlFormatter.MimeType);
        Formatter.SetPreferredMimeTypesFor(typeof(GenericChart), HtmlFormatter.MimeType);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void DeliverPlotlyJs() =>
        KernelInvocationContextExtensions.Display(KernelInvocationContext.Current!, new HtmlString(PlotlyJs.InlineScript()), HtmlFormatter.MimeType);

    /// <summary>
    /// When the library was built from this checkout (artifacts/lib under the repository) and a source file is newer
    /// than the build, says how to rebuild; otherwise null.
    /// </summary>
    public static string? StaleBuildWarning()
    {
        string dll = typeof(Course).Assembly.Location;
        if (string.IsNullOrEmpty(dll)) return null;
        string folder = Path.GetDirectoryName(dll)!;
        if (Checkout.FindRoot(folder) is not { } root || Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar) != Path.Combine(root, "artifacts", "lib")) return null;
        string sources = Path.Combine(root, "src", "LlmNotebooks");
        if (!Directory.Exists(sources)) return null;
        DateTime built = File.GetLastWriteTimeUtc(dll);
        var newer = Directory.EnumerateFiles(sources, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Where(f => File.GetLastWriteTimeUtc(f) > built)
            .Select(f => Path.GetRelativePath(sources, f)).ToList();
        if (newer.Count == 0) return null;
        return $"⚠ The library build is older than {newer.Count} source file(s) ({string.Join(", ", newer.Take(3))}): " +
               "run `dotnet build src/LlmNotebooks` and restart the kernel to use your changes.";
    }

    /// <summary>True inside a notebook kernel (a cell is running), false in tests and console programs.</summary>
    public static bool InNotebook => KernelInvocationContext.Current is not null;
}
