namespace LlmNotebooks.Data.Cleaning;

/// <summary>
/// How well one stage (or "overall") did against the generator's labels. <paramref name="TruePositives"/>: removed
/// documents that really were dirt. Precision = TruePositives / Removed (how much of what it threw away deserved it).
/// Recall: for a stage, the share of the dirt it is meant for (<paramref name="Targets"/>) still present when it ran
/// that it removed; overall, the share of all dirt removed by any stage.
/// </summary>
public sealed record StageScore(string Stage, int Removed, int TruePositives, double Precision, double Recall, string Targets);
