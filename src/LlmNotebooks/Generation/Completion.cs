namespace LlmNotebooks.Generation;

/// <summary>
/// One generated continuation of one prompt, as the model wrote it.
/// </summary>
/// <param name="PromptIndex">Which prompt of the list it continues.</param>
/// <param name="Prompt">The prompt's tokens.</param>
/// <param name="Response">
/// The new tokens as written and as scored: when the model wrote a stop token, it is the last token here (a reward model,
/// a log-probability or a training loss sees it too). See <see cref="Content"/> for the tokens without it.
/// </param>
/// <param name="Finished">True when the response ends with a stop token; false when it ran out of new tokens or of context window.</param>
public sealed record Completion(int PromptIndex, IReadOnlyList<int> Prompt, IReadOnlyList<int> Response, bool Finished)
{
    /// <summary>The response without its stop token: what a reader sees (decode this).</summary>
    public IReadOnlyList<int> Content => Finished ? Response.Take(Response.Count - 1).ToList() : Response;
}
