namespace LlmNotebooks.Alignment.Assistant;

/// <summary>
/// The four axes along which an answer of the assistant task varies (see <see cref="AssistantTask"/>): what it says,
/// how it opens, how much it rambles, and whether it ends properly.
/// </summary>
/// <param name="Correct">True: it names the right capital. False: another city of the same country (the seed's «Марсель»).</param>
/// <param name="Opener">None, a polite phrase or a rude one before the content.</param>
/// <param name="Fillers">How many rambling filler phrases («Ну, как бы сказать,», "Well, you know,") come before the content: 0 is concise.</param>
/// <param name="Finished">True: the answer ends with a full stop. False: it trails off mid-sentence («…Париж, хотя»).</param>
public sealed record AnswerStyle(bool Correct, Opener Opener, int Fillers, bool Finished)
{
    /// <summary>The best answer under <see cref="HumanPreference.Default"/>: correct, polite, concise, finished.</summary>
    public static AnswerStyle Best { get; } = new(true, Opener.Polite, 0, true);

    /// <summary>
    /// A random style with the mixture the chapter's SFT data uses: correct 60%; no opener 40%, polite 30%, rude 30%;
    /// 0, 1 or 2 fillers with 50/30/20%; finished 70%. A model fine-tuned on it samples all kinds of answers, so a policy
    /// optimiser has something to improve.
    /// </summary>
    public static AnswerStyle Random(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        bool correct = random.NextDouble() < 0.6;
        double o = random.NextDouble();
        var opener = o < 0.4 ? Opener.None : o < 0.7 ? Opener.Polite : Opener.Rude;
        double f = random.NextDouble();
        int fillers = f < 0.5 ? 0 : f < 0.8 ? 1 : 2;
        bool finished = random.NextDouble() < 0.7;
        return new AnswerStyle(correct, opener, fillers, finished);
    }
}
