namespace LlmNotebooks.Data.Cleaning;

/// <summary>
/// One document a cleaning stage threw away: its index in the input, the stage, why, and for the dedup stages the
/// index of the earlier document it duplicates. Example: (412, "near-dedup", "estimated Jaccard 0.86 with #97", 97).
/// </summary>
public sealed record Removal(int Index, string Stage, string Reason, int? DuplicateOf = null);
