namespace LlmNotebooks.Alignment;

/// <summary>A preference pair as token ids: the prompt, and the chosen and rejected responses (each with its end token).</summary>
public sealed record PairTokens(IReadOnlyList<int> Prompt, IReadOnlyList<int> Chosen, IReadOnlyList<int> Rejected);
