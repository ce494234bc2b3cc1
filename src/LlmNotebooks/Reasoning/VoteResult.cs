namespace LlmNotebooks.Reasoning;

/// <summary>
/// The outcome of a majority vote over K sampled answers.
/// </summary>
/// <param name="Answer">The winning answer, or null when no sample had a readable answer.</param>
/// <param name="Votes">How many samples gave the winning answer (0 when there is none).</param>
/// <param name="Counted">How many samples had a readable answer and so voted (≤ K).</param>
/// <param name="Samples">K: how many samples there were, readable or not.</param>
public sealed record VoteResult(long? Answer, int Votes, int Counted, int Samples);
