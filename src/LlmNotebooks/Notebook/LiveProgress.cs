using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Html;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Formatting;

namespace LlmNotebooks.Notebook;

/// <summary>
/// Progress of a long loop: in a notebook, one display updated in place (step, loss, tokens/s, elapsed, ETA);
/// in a console or CI log, a plain line every few seconds and a final line. The ETA shows only while the loop runs;
/// a loop that ends before its last step (disposed early, or <see cref="Stop"/>ped) ends with
/// "… stopped at step k of n …".
/// <code>
/// using var progress = LiveProgress.Start("training", steps);
/// for (int step = 1; step &lt;= steps; step++) { ...; progress.Report(step, loss, tokens: batch * T); }
/// </code>
/// </summary>
public sealed class LiveProgress : IDisposable
{
    readonly string _title;
    readonly int _total;
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly DisplayedValue? _display;
    readonly TimeSpan _notebookEvery = TimeSpan.FromMilliseconds(250), _consoleEvery;
    TimeSpan? _lastShown;
    int _step, _firstStep;
    double? _loss;
    long _tokens;
    string? _note;
    bool _finished, _stopped;

    LiveProgress(string title, int total, TimeSpan consoleEvery)
    {
        _title = title;
        _total = total;
        _consoleEvery = consoleEvery;
        if (KernelInvocationContext.Current is { } context)
            _display = KernelInvocationContextExtensions.Display(context, new HtmlString(Html()), HtmlFormatter.MimeType);
    }

    /// <summary>Starts reporting a loop of <paramref name="totalSteps"/> steps.</summary>
    /// <paramref name="firstStep"/> is the number of steps already done before this call (a resumed run), so the ETA
    /// is based on the steps done here.
    public static LiveProgress Start(string title, int totalSteps, TimeSpan? consoleEvery = null, int firstStep = 0)
    {
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), $"Expected a positive number of steps, got {totalSteps}.");
        if (firstStep < 0 || firstStep > totalSteps) throw new ArgumentOutOfRangeException(nameof(firstStep), $"Expected 0 ≤ firstStep ≤ {totalSteps}, got {firstStep}.");
        return new LiveProgress(title, totalSteps, consoleEvery ?? TimeSpan.FromSeconds(5)) { _firstStep = firstStep, _step = firstStep };
    }

    /// <summary>
    /// Records that <paramref name="step"/> (1-based) is done; <paramref name="tokens"/> are the tokens processed in it.
    /// Ignored once the run has finished or stopped.
    /// </summary>
    public void Report(int step, double? loss = null, long tokens = 0, string? note = null)
    {
        if (_finished) return;                                          // the run is over: its final line stands
        _step = step;
        if (loss is not null) _loss = loss;
        _tokens += tokens;
        _note = note ?? _note;
        var now = _clock.Elapsed;
        bool last = step >= _total;
        if (_display is not null)
        {
            if (last || _lastShown is null || now - _lastShown >= _notebookEvery) { _display.Update(new HtmlString(Html())); _lastShown = now; }
        }
        else if (last || _lastShown is null || now - _lastShown >= _consoleEvery)
        {
            Console.WriteLine(Line());
            _lastShown = now;
        }
        if (last) { _finished = true; _clock.Stop(); }
    }

    /// <summary>
    /// Ends the loop before its last step (e.g. early stopping): the final line says at which step it stopped, with no
    /// ETA. Does nothing once the loop has finished or stopped.
    /// </summary>
    public void Stop(string? note = null)
    {
        if (_finished) return;
        _finished = _stopped = true;
        _clock.Stop();
        _note = note ?? _note;
        if (_display is not null) _display.Update(new HtmlString(Html()));
        else Console.WriteLine(Line());
    }

    /// <summary>
    /// The current state in one line, e.g. "training 120/500 (24%) loss 2.3104 · 5.1k tok/s · 00:12 elapsed, ETA 00:38"
    /// while running, or "training stopped at step 120 of 500 (24%) loss 2.3104 · 5.1k tok/s · 00:12 elapsed" once stopped.
    /// </summary>
    public string Line()
    {
        var elapsed = _clock.Elapsed;
        bool running = !_finished && _step > _firstStep && _step < _total;
        string eta = running ? $", ETA {Time(elapsed * ((double)(_total - _step) / (_step - _firstStep)))}" : "";
        string loss = _loss is double l ? $" loss {l.ToString("F4", CultureInfo.InvariantCulture)}" : "";
        string speed = _tokens > 0 && elapsed.TotalSeconds > 0 ? $" · {Rate(_tokens / elapsed.TotalSeconds)} tok/s" : "";
        string note = _note is null ? "" : $" · {_note}";
        string where = _stopped ? $"stopped at step {_step} of {_total}" : $"{_step}/{_total}";
        return $"{_title} {where} ({100.0 * _step / _total:F0}%){loss}{speed}{note} · {Time(elapsed)} elapsed{eta}";
    }

    string Html()
    {
        return $"<div style=\"font-family:monospace\"><progress value=\"{_step}\" max=\"{_total}\" style=\"width:240px\"></progress> " +
               $"{WebUtility.HtmlEncode(Line())}</div>";
    }

    /// <summary>Ends the display; a loop that did not reach its last step is reported as stopped (see <see cref="Stop"/>).</summary>
    public void Dispose() => Stop();

    static string Time(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss") : t.ToString(@"mm\:ss");

    static string Rate(double perSecond) => perSecond switch
    {
        >= 1e6 => (perSecond / 1e6).ToString("F1", CultureInfo.InvariantCulture) + "M",
        >= 1e3 => (perSecond / 1e3).ToString("F1", CultureInfo.InvariantCulture) + "k",
        _ => perSecond.ToString("F0", CultureInfo.InvariantCulture),
    };
}
