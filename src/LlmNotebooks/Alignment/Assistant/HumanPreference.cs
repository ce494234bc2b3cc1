using System.Text.RegularExpressions;

namespace LlmNotebooks.Alignment.Assistant;

/// <summary>
/// The hidden "human" of chapter 6: a documented score for any answer text of the <see cref="AssistantTask"/>, standing
/// in for the people who label preference data. Reward models and policies never see it; the chapter uses it only to
/// label pairs and to judge results (the true score against the reward model's).
/// <para>Score = content + opener + fillers + ending, with the default weights:</para>
/// <list type="bullet">
/// <item>content: +2 when the answer states the fact («столица Франции — Париж», "the capital of France is Paris") and
/// names no other city of the task; −2 when it names another city of the task instead (the country's other cities, or
/// another country's capital: «Столица Франции — Мадрид»); −1 otherwise (no usable answer, for example «Столица России —
/// Париж» to «Столица Франции?»);</item>
/// <item>opener: +1 when it contains a polite opener; −1.5 when it contains a rude one;</item>
/// <item>fillers: −0.5 for each filler phrase;</item>
/// <item>ending: −1 unless it ends with a full stop or «!» (it trailed off, or was cut off).</item>
/// </list>
/// The best answer («Конечно! Столица Франции — Париж.») scores 3. Phrases are matched case-insensitively, cities as
/// whole words, so the score applies to anything a model writes, not only to constructed answers.
/// </summary>
public sealed record HumanPreference(double Correct = 2, double Wrong = -2, double NoAnswer = -1, double Polite = 1, double Rude = -1.5,
                                     double PerFiller = -0.5, double Unfinished = -1)
{
    /// <summary>The weights documented above.</summary>
    public static HumanPreference Default { get; } = new();

    /// <summary>The highest score any answer can get (content, polite, no fillers, finished).</summary>
    public double Best => Correct + Math.Max(0, Polite);

    /// <summary>The score of <paramref name="answer"/> to <paramref name="question"/> (the parts: <see cref="Parts"/>).</summary>
    public double Score(AssistantQuestion question, string answer)
    {
        var p = Parts(question, answer);
        return p.Content + p.Opener + p.Fillers + p.Ending;
    }

    /// <summary>The four parts of the score, for tables that show why an answer scores what it does.</summary>
    public (double Content, double Opener, double Fillers, double Ending) Parts(AssistantQuestion question, string answer)
    {
        ArgumentNullException.ThrowIfNull(question);
        ArgumentNullException.ThrowIfNull(answer);
        string lower = answer.ToLowerInvariant();
        bool states = Regex.IsMatch(lower, $@"{Regex.Escape($"{question.Statement} {question.Capital}".ToLowerInvariant())}(?!\p{{L}})");
        bool other = OtherCities(question).Any(c => NamesCity(answer, c));
        double content = other ? Wrong : states ? Correct : NoAnswer;
        double opener = (AssistantTask.PoliteOpeners(question.Language).Any(p => lower.Contains(p.ToLowerInvariant())) ? Polite : 0)
                      + (AssistantTask.RudeOpeners(question.Language).Any(p => lower.Contains(p.ToLowerInvariant())) ? Rude : 0);
        int fillers = AssistantTask.Fillers(question.Language).Sum(f => Occurrences(lower, f.ToLowerInvariant()));
        string trimmed = answer.TrimEnd();
        double ending = trimmed.EndsWith('.') || trimmed.EndsWith('!') ? 0 : Unfinished;
        return (content, opener, fillers == 0 ? 0 : PerFiller * fillers, ending);   // not −0 when there are none
    }

    /// <summary>Every city of the task in this question's language (and the question's own wrong cities), except its capital.</summary>
    static IEnumerable<string> OtherCities(AssistantQuestion question) =>
        AssistantTask.Questions.Where(q => q.Language == question.Language).SelectMany(q => q.Cities).Concat(question.WrongCities)
            .Where(c => c.Length > 0 && c != question.Capital).Distinct();

    static bool NamesCity(string text, string city) => Regex.IsMatch(text, $@"(?<!\p{{L}}){Regex.Escape(city)}(?!\p{{L}})");

    static int Occurrences(string text, string phrase)
    {
        int n = 0;
        for (int i = text.IndexOf(phrase, StringComparison.Ordinal); i >= 0; i = text.IndexOf(phrase, i + phrase.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}
