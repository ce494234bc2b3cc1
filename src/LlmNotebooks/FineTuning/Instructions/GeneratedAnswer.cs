namespace LlmNotebooks.FineTuning.Instructions;

/// <summary>A generated answer.</summary>
/// <param name="Text">The answer, decoded, without the template's markers and the leading space.</param>
/// <param name="Finished">True when the model ended it with &lt;/s&gt;; false when it hit the token limit or the window.</param>
/// <param name="Tokens">The answer's token ids (without &lt;/s&gt;).</param>
/// <param name="DroppedPromptTokens">Instruction tokens cut from the left so the prompt fitted (0 usually).</param>
public sealed record GeneratedAnswer(string Text, bool Finished, IReadOnlyList<int> Tokens, int DroppedPromptTokens);
