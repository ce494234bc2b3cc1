namespace LlmNotebooks.FineTuning.Instructions;

/// <summary>One held-out example, what the model answered, and whether it counts as correct.</summary>
public sealed record ExactMatchItem(InstructionExample Example, string Answer, bool Correct);
