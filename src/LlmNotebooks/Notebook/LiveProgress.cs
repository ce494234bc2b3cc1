using System.Net;
using LlmNotebooks.Training;
using Microsoft.AspNetCore.Html;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Formatting;

namespace LlmNotebooks.Notebook;

/// <summary>
/// Progress of a long loop: in a notebook, one display updated in place (step, loss, tokens/s, elapsed, ETA);
/// in a console or CI log, a plain line every few seconds and a final line (what <see cref="LoopProgress"/> prints).
/// The ETA shows only while the loop runs; a loop that ends before its last step (disposed early, or
/// <see cref="LoopProgress.Stop"/>ped) ends with "… stopped at step k of n …". <see cref="Course.Setup"/> makes the
/// <see cref="Trainer"/> show its runs this way.
/// <code>
/// using var progress = LiveProgress.Start("training", steps);
/// for (int step = 1; step &lt;= steps; step++) { ...; progress.Report(step, loss, tokens: batch * T); }
/// </code>
/// </summary>
public sealed class LiveProgress : LoopProgress
{
    static readonly TimeSpan NotebookEvery = TimeSpan.FromMilliseconds(250);
    readonly DisplayedValue? _display;

    LiveProgress(string title, int total, int firstStep, TimeSpan consoleEvery, KernelInvocationContext? context)
        : base(title, total, firstStep, context is null ? consoleEvery : NotebookEvery)
    {
        if (context is not null)
            _display = KernelInvocationContextExtensions.Display(context, new HtmlString(Html()), HtmlFormatter.MimeType);
    }

    /// <summary>Starts reporting a loop of <paramref name="totalSteps"/> steps.</summary>
    /// <paramref name="firstStep"/> is the number of steps already done before this call (a resumed run), so the ETA
    /// is based on the steps done here.
    public static LiveProgress Start(string title, int totalSteps, TimeSpan? consoleEvery = null, int firstStep = 0) =>
        new(title, totalSteps, firstStep, consoleEvery ?? TimeSpan.FromSeconds(5), KernelInvocationContext.Current);

    /// <summary>In a notebook, updates the display in place; elsewhere prints the line.</summary>
    protected override void Show()
    {
        if (_display is not null) _display.Update(new HtmlString(Html()));
        else base.Show();
    }

    string Html()
    {
        return $"<div style=\"font-family:monospace\"><progress value=\"{Step}\" max=\"{TotalSteps}\" style=\"width:240px\"></progress> " +
               $"{WebUtility.HtmlEncode(Line())}</div>";
    }
}
