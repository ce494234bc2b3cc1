using System.Diagnostics;
using System.Runtime.InteropServices;

namespace LlmNotebooks.Notebook;

/// <summary>Small measurements for notebooks: wall time and the peak memory a piece of code adds.</summary>
public static class Measure
{
    /// <summary>
    /// Wall-clock seconds of the fastest of <paramref name="repeats"/> runs, after one warm-up run. The fastest run is
    /// the one least disturbed by whatever else the machine was doing, so it is the most repeatable figure.
    /// </summary>
    public static double Seconds(Action action, int repeats = 5)
    {
        if (repeats < 1) throw new ArgumentOutOfRangeException(nameof(repeats), $"Expected at least 1 repeat, got {repeats}.");
        action();
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            action();
            times[i] = clock.Elapsed.TotalSeconds;
        }
        return times.Min();
    }

    /// <summary>
    /// The largest increase of the process's resident memory while <paramref name="action"/> runs, in bytes, sampled
    /// every half millisecond from /proc/self/statm (Linux). Returns null where that file does not exist.
    /// Before measuring, free memory the C allocator keeps for reuse is handed back to the system (glibc's
    /// malloc_trim), so that memory reused by <paramref name="action"/> counts too.
    /// </summary>
    public static long? PeakMemoryBytes(Action action)
    {
        const string statm = "/proc/self/statm";
        if (!File.Exists(statm)) { action(); return null; }
        long page = Environment.SystemPageSize;
        long Rss() => long.Parse(File.ReadAllText(statm).Split(' ')[1]) * page;
        GC.Collect();
        try { malloc_trim(0); } catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        long baseline = Rss(), peak = baseline;
        bool done = false;
        var sampler = new Thread(() =>
        {
            while (!Volatile.Read(ref done))
            {
                long now = Rss();
                if (now > Interlocked.Read(ref peak)) Interlocked.Exchange(ref peak, now);
                Thread.Sleep(TimeSpan.FromMicroseconds(500));
            }
        }) { IsBackground = true };
        sampler.Start();
        try { action(); }
        finally
        {
            long end = Rss();
            if (end > Interlocked.Read(ref peak)) Interlocked.Exchange(ref peak, end);
            Volatile.Write(ref done, true);
            sampler.Join();
        }
        return Math.Max(0, peak - baseline);
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int malloc_trim(nuint pad);
}
