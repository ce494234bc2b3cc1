namespace LlmNotebooks.Data.Cleaning;

/// <summary>
/// Scores a <see cref="CleaningResult"/> against the truth of a labelled corpus (such as <see cref="TinyWorld"/>):
/// precision and recall per stage and overall, and the share removed per label.
/// Example: <c>CleaningEvaluation.Score(cleaner.Clean(docs.Select(d =&gt; d.Text).ToList()), docs)</c>.
/// </summary>
public static class CleaningEvaluation
{
    /// <summary>The labels each stage is meant to catch.</summary>
    public static IReadOnlyList<DocumentLabel> TargetsOf(string stage) => stage switch
    {
        CorpusCleaner.ExactDedup => [DocumentLabel.ExactDuplicate],
        CorpusCleaner.NearDedup => [DocumentLabel.NearDuplicate],
        CorpusCleaner.Heuristics => [DocumentLabel.Boilerplate, DocumentLabel.EncodingGarbage],
        CorpusCleaner.Language => [DocumentLabel.WrongLanguage],
        _ => throw new ArgumentException($"Unknown stage \"{stage}\"; expected one of {string.Join(", ", CorpusCleaner.Stages)}.", nameof(stage)),
    };

    static void CheckSizes(CleaningResult result, IReadOnlyList<CorpusDocument> labelled)
    {
        int count = result.Kept.Count + result.Removed.Count;
        if (count != labelled.Count)
            throw new ArgumentException($"The result covers {count} documents but {labelled.Count} labelled documents were given: score a result against the same list it was cleaned from.");
    }

    /// <summary>One row per stage (in pipeline order), then "overall".</summary>
    public static IReadOnlyList<StageScore> Score(CleaningResult result, IReadOnlyList<CorpusDocument> labelled)
    {
        CheckSizes(result, labelled);
        bool Dirty(int i) => labelled[i].Label != DocumentLabel.Clean;
        var stageOf = result.Removed.ToDictionary(r => r.Index, r => Array.IndexOf(CorpusCleaner.Stages.ToArray(), r.Stage));
        var scores = new List<StageScore>();
        for (int s = 0; s < CorpusCleaner.Stages.Count; s++)
        {
            string stage = CorpusCleaner.Stages[s];
            var targets = TargetsOf(stage);
            var removed = result.Removed.Where(r => r.Stage == stage).Select(r => r.Index).ToList();
            int tp = removed.Count(Dirty);
            // Dirt of the targeted kinds that reached this stage (not removed by an earlier one).
            var reached = Enumerable.Range(0, labelled.Count).Where(i => targets.Contains(labelled[i].Label) && (!stageOf.TryGetValue(i, out int at) || at >= s)).ToList();
            int caught = reached.Count(i => stageOf.TryGetValue(i, out int at) && at == s);
            scores.Add(new StageScore(stage, removed.Count, tp, Ratio(tp, removed.Count), Ratio(caught, reached.Count), string.Join(", ", targets)));
        }
        int allRemoved = result.Removed.Count, allTp = result.Removed.Count(r => Dirty(r.Index)), dirt = labelled.Count(d => d.Label != DocumentLabel.Clean);
        scores.Add(new StageScore("overall", allRemoved, allTp, Ratio(allTp, allRemoved), Ratio(allTp, dirt), "all dirt"));
        return scores;
    }

    /// <summary>For every label: count, removed, share removed.</summary>
    public static IReadOnlyList<LabelScore> ByLabel(CleaningResult result, IReadOnlyList<CorpusDocument> labelled)
    {
        CheckSizes(result, labelled);
        var removed = result.Removed.Select(r => r.Index).ToHashSet();
        return Enum.GetValues<DocumentLabel>().Select(label =>
        {
            var ids = Enumerable.Range(0, labelled.Count).Where(i => labelled[i].Label == label).ToList();
            int gone = ids.Count(removed.Contains);
            return new LabelScore(label, ids.Count, gone, Ratio(gone, ids.Count));
        }).ToList();
    }

    static double Ratio(int a, int b) => b == 0 ? 1 : a / (double)b;
}
