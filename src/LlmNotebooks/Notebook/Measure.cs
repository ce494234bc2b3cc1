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
    /// every half millisecond. On Linux it reads /proc/self/statm (cheap, so sampling barely disturbs the action);
    /// elsewhere (Windows, macOS) the operating system's working-set counter through <see cref="Process.WorkingSet64"/>.
    /// Returns null where neither is available, so a notebook can say so instead of failing. Before measuring, free
    /// memory the C allocator keeps for reuse is handed back to the system where it can be (glibc's malloc_trim), so that
    /// memory reused by <paramref name="action"/> counts too.
    /// </summary>
    /// <param name="action">The code to measure.</param>
    /// <param name="source">Which counter to read; <see cref="MemorySource.Best"/> picks the first available.</param>
    public static long? PeakMemoryBytes(Action action, MemorySource source = MemorySource.Best)
    {
        ArgumentNullException.ThrowIfNull(action);
        using var process = Process.GetCurrentProcess();
        Func<long>? rss = source switch
        {
            MemorySource.ProcStatm => ProcStatm(),
            MemorySource.WorkingSet => WorkingSet(process),
            _ => ProcStatm() ?? WorkingSet(process),
        };
        if (rss is null) { action(); return null; }
        GC.Collect();
        try { malloc_trim(0); } catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        long baseline = rss(), peak = baseline;
        bool done = false;
        var sampler = new Thread(() =>
        {
            while (!Volatile.Read(ref done))
            {
                long now = rss();
                if (now > Interlocked.Read(ref peak)) Interlocked.Exchange(ref peak, now);
                Thread.Sleep(TimeSpan.FromMicroseconds(500));
            }
        }) { IsBackground = true };
        sampler.Start();
        try { action(); }
        finally
        {
            Volatile.Write(ref done, true);
            sampler.Join();
            long end = rss();
            if (end > Interlocked.Read(ref peak)) Interlocked.Exchange(ref peak, end);
        }
        return Math.Max(0, peak - baseline);
    }

    /// <summary>Linux's resident set from /proc/self/statm (pages × page size), or null where that file does not exist.</summary>
    static Func<long>? ProcStatm()
    {
        const string statm = "/proc/self/statm";
        if (!File.Exists(statm)) return null;
        long page = Environment.SystemPageSize;
        return () => long.Parse(File.ReadAllText(statm).Split(' ')[1]) * page;
    }

    /// <summary>The working set the operating system reports for this process, or null where it reports none.</summary>
    static Func<long>? WorkingSet(Process process)
    {
        try
        {
            process.Refresh();
            if (process.WorkingSet64 <= 0) return null;
        }
        catch (Exception e) when (e is PlatformNotSupportedException or InvalidOperationException) { return null; }
        return () => { lock (process) { process.Refresh(); return process.WorkingSet64; } };
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int malloc_trim(nuint pad);
}

/// <summary>Which memory counter <see cref="Measure.PeakMemoryBytes"/> reads.</summary>
public enum MemorySource
{
    /// <summary>/proc/self/statm where it exists (Linux), otherwise the process's working set.</summary>
    Best,
    /// <summary>Linux only: /proc/self/statm.</summary>
    ProcStatm,
    /// <summary>Any operating system .NET runs on: <see cref="Process.WorkingSet64"/>.</summary>
    WorkingSet,
}
