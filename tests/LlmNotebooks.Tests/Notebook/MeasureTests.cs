using LlmNotebooks.Notebook;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.Notebook;

/// <summary>
/// The memory measurement on every counter it can read. Windows and macOS have no /proc, so the working-set path is what
/// a learner there gets: it is exercised here on Linux too, with the /proc path left out.
/// </summary>
[Collection("Memory")]   // process-wide memory counters: no other test may allocate or free meanwhile
public class MeasureTests
{
    const long MiB = 1 << 20;

    /// <summary>Holds a 96 MiB tensor (written, so its pages are really resident) for a moment.</summary>
    static void Allocate96MiB()
    {
        using var big = ones(24 * MiB, dtype: float32);     // 24 Mi floats × 4 bytes
        Thread.Sleep(50);                                     // long enough for the sampler to see it
        Assert.Equal(24 * MiB, big.sum().item<float>());
    }

    [Theory]
    [InlineData(MemorySource.WorkingSet)]
    [InlineData(MemorySource.Best)]
    public void The_peak_memory_of_a_large_allocation_is_seen_without_the_linux_counter(MemorySource source)
    {
        // The tensor outlives the action, so the reading taken when the action returns sees it whether or not the sampling
        // thread got a turn while it ran (on a loaded machine it may not: this test once read 24 MiB for 96).
        Tensor? big = null;
        long? peak = Measure.PeakMemoryBytes(() => { big = ones(24 * MiB, dtype: float32); Assert.Equal(24 * MiB, big.sum().item<float>()); }, source);
        big!.Dispose();
        Assert.NotNull(peak);
        Assert.InRange(peak!.Value, 80 * MiB, 400 * MiB);
    }

    [Fact]
    public void The_linux_counter_agrees_with_the_working_set_where_it_exists()
    {
        long? statm = Measure.PeakMemoryBytes(Allocate96MiB, MemorySource.ProcStatm);
        if (!OperatingSystem.IsLinux()) { Assert.Null(statm); return; }   // no /proc: null, and the action still ran
        long? workingSet = Measure.PeakMemoryBytes(Allocate96MiB, MemorySource.WorkingSet);
        Assert.NotNull(statm);
        Assert.NotNull(workingSet);
        Assert.InRange((double)statm!.Value / workingSet!.Value, 0.5, 2.0);
    }

    [Fact]
    public void A_measured_action_runs_once_and_its_exception_comes_through()
    {
        int runs = 0;
        Measure.PeakMemoryBytes(() => runs++, MemorySource.WorkingSet);
        Assert.Equal(1, runs);
        Assert.Throws<InvalidOperationException>(() => Measure.PeakMemoryBytes(() => throw new InvalidOperationException("boom"), MemorySource.WorkingSet));
    }
}

[CollectionDefinition("Memory", DisableParallelization = true)]
public sealed class MemoryCollection;
