using System.Diagnostics;
using System.Globalization;

namespace LlmNotebooks.Training;

/// <summary>
/// Progress of a long loop as plain lines (a console, a CI log): the first report, then a line every few seconds, and a
/// final line (step, loss, tokens/s, elapsed, ETA). The ETA shows only while the loop runs; a loop that ends before its
/// last step (disposed early, or <see cref="Stop"/>ped) ends with "… stopped at step k of n …".
/// <para>
/// This is how a lower floor reports progress without knowing where it is shown: what to show is decided here, where
/// to show it by <see cref="Show"/>. The notebook layer's <c>LiveProgress</c> derives from this class and shows the same
/// line in one display updated in place; the <see cref="Trainer"/> starts its progress through
/// <see cref="Trainer.StartProgress"/>, which <c>Course.Setup</c> points at <c>LiveProgress</c>.
/// </para>
/// <code>
/// using var progress = new LoopProgress("training", steps);
/// for (int step = 1; step &lt;= steps; step++) { ...; progress.Report(step, loss, tokens: batch * T); }
/// </code>
/// </summary>
public class LoopProgress : IDisposable
{
    readonly string _title;
    readonly int _total, _firstStep;
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly TimeSpan _every;
    TimeSpan? _lastShown;
    int _step;
    double? _loss;
    long _tokens;
    string? _note;
    bool _finished, _stopped;

    /// <summary>Starts reporting a loop of <paramref name="totalSteps"/> steps, shown at most once per <paramref name="every"/> (5 s when null).</summary>
    /// The line begins with <paramref name="title"/>; <paramref name="firstStep"/> is the number of steps already done
    /// before this call (a resumed run), so that the ETA is based on the steps done here.
    public LoopProgress(string title, int totalSteps, int firstStep = 0, TimeSpan? every = null)
    {
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), $"Expected a positive number of steps, got {totalSteps}.");
        if (firstStep < 0 || firstStep > totalSteps) throw new ArgumentOutOfRangeException(nameof(firstStep), $"Expected 0 ≤ firstStep ≤ {totalSteps}, got {firstStep}.");
        _title = title;
        _total = totalSteps;
        _firstStep = _step = firstStep;
        _every = every ?? TimeSpan.FromSeconds(5);
    }

    /// <summary>The last step reported (or the first step, before any report).</summary>
    protected int Step => _step;

    /// <summary>The loop's number of steps.</summary>
    protected int TotalSteps => _total;

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
        if (last || _lastShown is null || now - _lastShown >= _every)
        {
            Show();
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
        Show();
    }

    /// <summary>Shows the current state: here, <see cref="Line"/> on the console. A notebook display overrides it.</summary>
    protected virtual void Show() => Console.WriteLine(Line());

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

    /// <summary>Ends the display; a loop that did not reach its last step is reported as stopped (see <see cref="Stop"/>).</summary>
    public void Dispose()
    {
        Stop();
        GC.SuppressFinalize(this);
    }

    static string Time(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss") : t.ToString(@"mm\:ss");

    static string Rate(double perSecond) => perSecond switch
    {
        >= 1e6 => (perSecond / 1e6).ToString("F1", CultureInfo.InvariantCulture) + "M",
        >= 1e3 => (perSecond / 1e3).ToString("F1", CultureInfo.InvariantCulture) + "k",
        _ => perSecond.ToString("F0", CultureInfo.InvariantCulture),
    };
}
