using System.Globalization;

namespace LlmNotebooks.FineTuning.LowRank;

/// <summary>Parameter counts as peft's <c>print_trainable_parameters()</c> shows them.</summary>
/// <param name="Trainable">Numbers with requires_grad (what the optimizer changes).</param>
/// <param name="All">All numbers of the model, frozen ones included.</param>
public sealed record ParameterSummary(long Trainable, long All)
{
    /// <summary>100 · Trainable / All.</summary>
    public double TrainablePercent => All == 0 ? 0 : 100.0 * Trainable / All;

    /// <summary>"trainable params: 294,912 || all params: 124,734,720 || trainable%: 0.2364" (peft's line and format).</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"trainable params: {Trainable:N0} || all params: {All:N0} || trainable%: {TrainablePercent:F4}");
}
