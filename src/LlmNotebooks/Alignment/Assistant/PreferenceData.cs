using LlmNotebooks.Tokenization;

namespace LlmNotebooks.Alignment.Assistant;

/// <summary>
/// Stage 1 of RLHF: preference data. A labeller (here the hidden <see cref="HumanPreference"/>) sees two answers to a
/// question and picks one. The preferred answer is the one with the higher true score (a coin decides a tie); then, with
/// probability <c>noiseRate</c>, the label is flipped, because real labellers disagree and make mistakes. Everything is
/// deterministic for a seed.
/// </summary>
public static class PreferenceData
{
    /// <summary>
    /// Labels one comparison of <paramref name="a"/> and <paramref name="b"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The two answers are identical, or the noise rate is not in [0, 0.5].</exception>
    public static PreferencePair Label(AssistantQuestion question, string a, string b, Random random, double noiseRate = 0.05, HumanPreference? judge = null)
    {
        ArgumentNullException.ThrowIfNull(question);
        ArgumentNullException.ThrowIfNull(random);
        Guard.Finite(noiseRate, nameof(noiseRate), 0, 0.5, "It is the probability that a label is flipped (0.05 = one pair in 20); above 0.5 the labels would mean the opposite.");
        judge ??= HumanPreference.Default;
        if (a == b) _ = new PreferencePair(question, a, b, 0, 0, false);   // the pair's own error message
        double sa = judge.Score(question, a), sb = judge.Score(question, b);
        bool aWins = sa != sb ? sa > sb : random.NextDouble() < 0.5;
        bool flip = random.NextDouble() < noiseRate;
        if (flip) aWins = !aWins;
        return aWins ? new PreferencePair(question, a, b, sa, sb, flip) : new PreferencePair(question, b, a, sb, sa, flip);
    }

    /// <summary>
    /// <paramref name="count"/> pairs of constructed answers: for each, a question drawn from <paramref name="questions"/>
    /// and two answers in independent random styles (<see cref="AnswerStyle.Random"/>); when both come out as the same
    /// text, the second is drawn again.
    /// </summary>
    public static IReadOnlyList<PreferencePair> Constructed(IReadOnlyList<AssistantQuestion> questions, int count, int seed, double noiseRate = 0.05, HumanPreference? judge = null)
    {
        ArgumentNullException.ThrowIfNull(questions);
        if (questions.Count == 0) throw new ArgumentException("Pass at least one question.", nameof(questions));
        Guard.AtLeast(count, 1, nameof(count));
        var random = new Random(seed);
        var pairs = new List<PreferencePair>(count);
        for (int i = 0; i < count; i++)
        {
            var q = questions[random.Next(questions.Count)];
            string a = AssistantTask.Answer(q, AnswerStyle.Random(random), random), b;
            do b = AssistantTask.Answer(q, AnswerStyle.Random(random), random); while (b == a);
            pairs.Add(Label(q, a, b, random, noiseRate, judge));
        }
        return pairs;
    }

    /// <summary>
    /// Pairs from answers a model sampled (as InstructGPT's labellers compared the model's own outputs): for each question,
    /// its answers are taken two at a time, (0, 1), (2, 3), …, and each pair of two different texts is labelled. Pairs of
    /// identical samples are not comparisons: they are skipped, and <c>Skipped</c> says how many.
    /// </summary>
    public static (IReadOnlyList<PreferencePair> Pairs, int Skipped) FromSamples(IEnumerable<(AssistantQuestion Question, IReadOnlyList<string> Answers)> samples, int seed,
                                                                                double noiseRate = 0.05, HumanPreference? judge = null)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var random = new Random(seed);
        var pairs = new List<PreferencePair>();
        int skipped = 0;
        foreach (var (q, answers) in samples)
            for (int i = 0; i + 1 < answers.Count; i += 2)
            {
                if (answers[i] == answers[i + 1]) { skipped++; continue; }
                pairs.Add(Label(q, answers[i], answers[i + 1], random, noiseRate, judge));
            }
        return (pairs, skipped);
    }

    /// <summary>
    /// The token ids a model reads for a pair: the prompt (<see cref="AssistantTask.PromptText"/>), and each answer
    /// followed by the <see cref="AssistantTask.End"/> token. The texts are encoded as ordinary text
    /// (<see cref="ITokenizer.EncodeOrdinary"/>): only <paramref name="endToken"/>, added here, is a special id.
    /// </summary>
    public static PairTokens Tokenize(PreferencePair pair, ITokenizer tokenizer, int endToken)
    {
        ArgumentNullException.ThrowIfNull(pair);
        ArgumentNullException.ThrowIfNull(tokenizer);
        return new PairTokens(tokenizer.EncodeOrdinary(AssistantTask.PromptText(pair.Question)),
                              [.. tokenizer.EncodeOrdinary(pair.Chosen), endToken], [.. tokenizer.EncodeOrdinary(pair.Rejected), endToken]);
    }
}
