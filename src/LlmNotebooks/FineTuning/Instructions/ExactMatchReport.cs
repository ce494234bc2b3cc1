using System.Globalization;

namespace LlmNotebooks.FineTuning.Instructions;

/// <summary>Exact match over a set of examples: the share of answers equal to the reference after <see cref="InstructionGeneration.Normalize"/>.</summary>
public sealed record ExactMatchReport(int Correct, int Total, IReadOnlyList<ExactMatchItem> Items)
{
    public double Score => Total == 0 ? 0 : (double)Correct / Total;
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"exact match {Correct}/{Total} = {100 * Score:F1}%");
}
