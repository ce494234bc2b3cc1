namespace LlmNotebooks.FineTuning.Instructions;

/// <summary>One supervised fine-tuning pair: what the user asks, and the answer the model should give.</summary>
public sealed record InstructionExample(string Instruction, string Output);
