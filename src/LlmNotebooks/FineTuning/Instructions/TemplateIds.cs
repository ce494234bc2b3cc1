namespace LlmNotebooks.FineTuning.Instructions;

/// <summary>The ids of the template's special tokens in one tokenizer.</summary>
public sealed record TemplateIds(int Bos, int InstStart, int InstEnd, int Eos, int Pad);
