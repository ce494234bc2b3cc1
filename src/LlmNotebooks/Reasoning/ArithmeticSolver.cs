using LlmNotebooks.Generation;
using LlmNotebooks.Transformer;

namespace LlmNotebooks.Reasoning;

/// <summary>
/// Asks a model trained on <see cref="ArithmeticFormat"/> to solve problems, in batches
/// (<see cref="BatchedGeneration"/>), and scores it with the <see cref="AnswerVerifier"/>.
/// </summary>
public static class ArithmeticSolver
{
    /// <summary>
    /// <paramref name="samplesPerProblem"/> responses per problem (without the end '.'), greedy at temperature 0 or
    /// sampled otherwise; a response ends at '.', or wherever the context window or <paramref name="maxNewTokens"/>
    /// cut it (then it may have no readable answer, which the verifier counts as wrong).
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<string>> Responses(Gpt model, IReadOnlyList<ArithmeticProblem> problems, int samplesPerProblem = 1,
                                                                double temperature = 0, long seed = 0, int maxNewTokens = 64)
    {
        ArgumentNullException.ThrowIfNull(problems);
        Guard.AtLeast(samplesPerProblem, 1, nameof(samplesPerProblem));
        var tokenizer = ArithmeticFormat.Tokenizer;
        var prompts = problems.SelectMany(p => Enumerable.Repeat(tokenizer.Encode(p.Prompt), samplesPerProblem)).ToList();
        var outputs = BatchedGeneration.Complete(model, prompts, maxNewTokens, [ArithmeticFormat.EndToken], temperature, seed);
        return problems.Select((_, i) => (IReadOnlyList<string>)Enumerable.Range(0, samplesPerProblem)
            .Select(s => Text(outputs[i * samplesPerProblem + s])).ToList()).ToList();
    }

    /// <summary>The fraction of problems the model's greedy response answers right.</summary>
    public static double Accuracy(Gpt model, IReadOnlyList<ArithmeticProblem> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        if (problems.Count == 0) throw new ArgumentException("Give at least one problem.", nameof(problems));
        var responses = Responses(model, problems);
        return problems.Select((p, i) => AnswerVerifier.IsCorrect(responses[i][0], p.Answer)).Count(ok => ok) / (double)problems.Count;
    }

    /// <summary>
    /// Greedy responses with a thinking budget: the model may write at most <paramref name="thinkingTokens"/> tokens of
    /// its chain of thought; if it has not written the answer marker '#' by then, the chain is cut there, '#' is
    /// appended for it, and it must answer from what it has written so far. A budget of 0 asks for the answer at once.
    /// Each response is the chain (as cut) + '#' + the answer, without the end '.'.
    /// </summary>
    public static IReadOnlyList<string> WithThinkingBudget(Gpt model, IReadOnlyList<ArithmeticProblem> problems, int thinkingTokens, int answerTokens = 24)
    {
        ArgumentNullException.ThrowIfNull(problems);
        Guard.AtLeast(thinkingTokens, 0, nameof(thinkingTokens));
        Guard.AtLeast(answerTokens, 1, nameof(answerTokens));
        var tokenizer = ArithmeticFormat.Tokenizer;
        int marker = ArithmeticFormat.MarkerToken, end = ArithmeticFormat.EndToken;
        var prompts = problems.Select(p => tokenizer.Encode(p.Prompt)).ToList();
        var thoughts = BatchedGeneration.Complete(model, prompts, thinkingTokens, [marker, end]);
        // The chain as written, without a marker or '.' it may have ended with; then the marker, forced.
        var chains = thoughts.Select(t => t.Where(id => id != marker && id != end).ToList()).ToList();
        var withMarker = prompts.Select((p, i) => (IReadOnlyList<int>)[.. p, .. chains[i], marker]).ToList();
        var answers = BatchedGeneration.Complete(model, withMarker, answerTokens, [end]);
        return problems.Select((_, i) => tokenizer.Decode([.. chains[i], marker]) + Text(answers[i])).ToList();
    }

    /// <summary>Decodes generated tokens, dropping the end '.' if the model wrote it.</summary>
    static string Text(IReadOnlyList<int> tokens) =>
        ArithmeticFormat.Tokenizer.Decode(tokens.Count > 0 && tokens[^1] == ArithmeticFormat.EndToken ? tokens.Take(tokens.Count - 1) : tokens);
}
