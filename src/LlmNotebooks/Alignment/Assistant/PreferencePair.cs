namespace LlmNotebooks.Alignment.Assistant;

/// <summary>
/// One labelled comparison: two different answers to the same question, and which one the labeller preferred.
/// </summary>
public sealed record PreferencePair
{
    /// <param name="question">The question both answers reply to.</param>
    /// <param name="chosen">The answer the labeller preferred.</param>
    /// <param name="rejected">The other answer; must differ from <paramref name="chosen"/>.</param>
    /// <param name="chosenScore">The hidden true score of the chosen answer (<see cref="HumanPreference"/>), for analysis only.</param>
    /// <param name="rejectedScore">The hidden true score of the rejected answer.</param>
    /// <param name="flipped">True when label noise swapped the pair: the labeller chose the answer with the lower true score.</param>
    /// <exception cref="ArgumentException">The two answers are the same text: such a pair says nothing about preferences.</exception>
    public PreferencePair(AssistantQuestion question, string chosen, string rejected, double chosenScore, double rejectedScore, bool flipped)
    {
        ArgumentNullException.ThrowIfNull(question);
        ArgumentNullException.ThrowIfNull(chosen);
        ArgumentNullException.ThrowIfNull(rejected);
        if (chosen == rejected)
            throw new ArgumentException($"A preference pair needs two different answers, but both answers to \"{question.Prompt}\" are \"{chosen}\". " +
                                        "Identical answers carry no preference (and would teach a reward model nothing): drop the pair, or sample another answer.", nameof(rejected));
        Question = question;
        Chosen = chosen;
        Rejected = rejected;
        ChosenScore = chosenScore;
        RejectedScore = rejectedScore;
        Flipped = flipped;
    }

    public AssistantQuestion Question { get; }
    public string Chosen { get; }
    public string Rejected { get; }
    public double ChosenScore { get; }
    public double RejectedScore { get; }
    public bool Flipped { get; }
}
