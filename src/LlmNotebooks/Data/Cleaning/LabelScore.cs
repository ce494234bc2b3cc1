namespace LlmNotebooks.Data.Cleaning;

/// <summary>
/// For one true label: how many documents carry it, how many the pipeline removed, and that share (recall for dirt;
/// for <see cref="DocumentLabel.Clean"/> it is the share of good text wrongly thrown away, which should be near 0).
/// </summary>
public sealed record LabelScore(DocumentLabel Label, int Count, int Removed, double Share);
