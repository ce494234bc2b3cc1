namespace LlmNotebooks.Data.Cleaning;

/// <summary>
/// What <see cref="CorpusCleaner.Clean"/> decided: the indices kept (in input order), every removal with its stage and
/// reason, and how long each stage took (in the order they ran).
/// </summary>
public sealed record CleaningResult(IReadOnlyList<int> Kept, IReadOnlyList<Removal> Removed, IReadOnlyList<(string Stage, TimeSpan Elapsed)> StageTimes)
{
    /// <summary>Removals by one stage.</summary>
    public IReadOnlyList<Removal> RemovedBy(string stage) => Removed.Where(r => r.Stage == stage).ToList();

    /// <summary>The total time of all stages.</summary>
    public TimeSpan Elapsed => StageTimes.Aggregate(TimeSpan.Zero, (sum, s) => sum + s.Elapsed);
}
