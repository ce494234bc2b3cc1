using LlmNotebooks.Tokenization;

namespace LlmNotebooks.Alignment.Assistant;

/// <summary>
/// A small, controlled "assistant" task for chapter 6, small enough that reward models and policy optimisers train in
/// seconds on a laptop CPU. The user asks for a capital, in Russian or English («Столица Франции?», "Capital of
/// France?"), and an answer varies along four documented axes (<see cref="AnswerStyle"/>):
/// <list type="bullet">
/// <item>content: the right capital («Париж») or another city of the country («Марсель», «Лион»);</item>
/// <item>opener: none, polite («Конечно!», "Sure!") or rude («Это же все знают.», "Look it up yourself.");</item>
/// <item>filler: 0–2 rambling phrases before the content («Ну, как бы сказать,», "Well, you know,");</item>
/// <item>ending: a full stop, or trailing off mid-sentence («…Париж, хотя»).</item>
/// </list>
/// <code>
/// AssistantTask.Answer(AssistantTask.Questions[0], new AnswerStyle(true, Opener.Polite, 1, true), new Random(1))
///   // «Конечно! Ну, как бы сказать, столица Франции — Париж.»
/// </code>
/// A model sees the prompt as <c>question + "\n"</c> and ends its answer with <see cref="End"/>; batches are padded
/// with <see cref="Pad"/>. Which answers are good is decided by <see cref="HumanPreference"/>, which the models never see.
/// </summary>
public static class AssistantTask
{
    /// <summary>The end-of-answer token: a model stops generating when it samples it.</summary>
    public const string End = "<|end|>";

    /// <summary>The padding token of batches; never part of an answer.</summary>
    public const string Pad = "<|pad|>";

    // (Russian genitive, capital, wrong cities) and (English name, capital, wrong cities) for each country.
    static readonly (string Ru, string RuCapital, string[] RuWrong, string En, string EnCapital, string[] EnWrong)[] Countries =
    [
        ("Франции", "Париж", ["Марсель", "Лион"], "France", "Paris", ["Marseille", "Lyon"]),
        ("Германии", "Берлин", ["Мюнхен", "Гамбург"], "Germany", "Berlin", ["Munich", "Hamburg"]),
        ("Италии", "Рим", ["Милан", "Венеция"], "Italy", "Rome", ["Milan", "Venice"]),
        ("Испании", "Мадрид", ["Барселона", "Севилья"], "Spain", "Madrid", ["Barcelona", "Seville"]),
        ("Японии", "Токио", ["Осака", "Киото"], "Japan", "Tokyo", ["Osaka", "Kyoto"]),
        ("России", "Москва", ["Казань", "Самара"], "Russia", "Moscow", ["Kazan", "Samara"]),
        ("Великобритании", "Лондон", ["Манчестер", "Ливерпуль"], "the United Kingdom", "London", ["Manchester", "Liverpool"]),
        ("Турции", "Анкара", ["Стамбул", "Измир"], "Turkey", "Ankara", ["Istanbul", "Izmir"]),
        ("Китая", "Пекин", ["Шанхай", "Гуанчжоу"], "China", "Beijing", ["Shanghai", "Guangzhou"]),
        ("Австралии", "Канберра", ["Сидней", "Мельбурн"], "Australia", "Canberra", ["Sydney", "Melbourne"]),
        ("Португалии", "Лиссабон", ["Порту", "Брага"], "Portugal", "Lisbon", ["Porto", "Braga"]),
        ("Польши", "Варшава", ["Краков", "Гданьск"], "Poland", "Warsaw", ["Krakow", "Gdansk"]),
        // held out of preference data and policy optimisation (the SFT model learns them like the rest)
        ("Египта", "Каир", ["Александрия", "Луксор"], "Egypt", "Cairo", ["Alexandria", "Luxor"]),
        ("Канады", "Оттава", ["Торонто", "Монреаль"], "Canada", "Ottawa", ["Toronto", "Montreal"]),
        ("Греции", "Афины", ["Салоники", "Патры"], "Greece", "Athens", ["Thessaloniki", "Patras"]),
        ("Австрии", "Вена", ["Зальцбург", "Грац"], "Austria", "Vienna", ["Salzburg", "Graz"]),
    ];

    const int HeldOutCountries = 4;

    /// <summary>The phrases of each axis, by language. <see cref="HumanPreference"/> recognises exactly these.</summary>
    public static IReadOnlyList<string> PoliteOpeners(string language) => language == "ru" ? ["Конечно!", "С удовольствием отвечу!"] : ["Sure!", "Happy to help!"];

    /// <inheritdoc cref="PoliteOpeners"/>
    public static IReadOnlyList<string> RudeOpeners(string language) => language == "ru" ? ["Это же все знают.", "Сами не знаете?"] : ["Everyone knows that.", "Look it up yourself."];

    /// <inheritdoc cref="PoliteOpeners"/>
    public static IReadOnlyList<string> Fillers(string language) =>
        language == "ru" ? ["Ну, как бы сказать,", "Вообще-то, если подумать,", "Знаете, вопрос интересный,"] : ["Well, you know,", "Let me think about it,", "That is an interesting question,"];

    /// <summary>How an unfinished answer trails off after the city instead of a full stop.</summary>
    public static IReadOnlyList<string> TrailingOff(string language) => language == "ru" ? [", хотя", ", и ещё"] : [", although", ", and also"];

    /// <summary>All 32 questions: for each of 16 countries the Russian one, then the English one.</summary>
    public static IReadOnlyList<AssistantQuestion> Questions { get; } = Countries.SelectMany(c => new[]
    {
        new AssistantQuestion("ru", $"Столица {c.Ru}?", $"Столица {c.Ru} —", c.RuCapital, c.RuWrong),
        new AssistantQuestion("en", $"Capital of {c.En}?", $"The capital of {c.En} is", c.EnCapital, c.EnWrong),
    }).ToArray();

    /// <summary>The 24 questions (12 countries × 2 languages) that preference data and policy optimisation use; «Столица Франции?» is first.</summary>
    public static IReadOnlyList<AssistantQuestion> TrainQuestions { get; } = Questions.Take(Questions.Count - 2 * HeldOutCountries).ToArray();

    /// <summary>The 8 questions (Egypt, Canada, Greece, Austria) kept out of preference data and policy optimisation, for the held-out win rate.</summary>
    public static IReadOnlyList<AssistantQuestion> HeldOutQuestions { get; } = Questions.Skip(Questions.Count - 2 * HeldOutCountries).ToArray();

    /// <summary>The text a model reads before its answer: the question and a newline.</summary>
    public static string PromptText(AssistantQuestion question) => question.Prompt + "\n";

    /// <summary>
    /// An answer to <paramref name="question"/> in <paramref name="style"/>; which phrase of each axis, and which wrong
    /// city, is drawn from <paramref name="random"/>. Fillers are distinct phrases.
    /// </summary>
    public static string Answer(AssistantQuestion question, AnswerStyle style, Random random)
    {
        ArgumentNullException.ThrowIfNull(question);
        ArgumentNullException.ThrowIfNull(style);
        ArgumentNullException.ThrowIfNull(random);
        string lang = question.Language;
        var fillers = Fillers(lang);
        if (style.Fillers < 0 || style.Fillers > fillers.Count)
            throw new ArgumentException($"An answer has 0 to {fillers.Count} fillers (there are {fillers.Count} distinct phrases); got {style.Fillers}.", nameof(style));
        var parts = new List<string>();
        if (style.Opener == Opener.Polite) parts.Add(Pick(PoliteOpeners(lang), random));
        if (style.Opener == Opener.Rude) parts.Add(Pick(RudeOpeners(lang), random));
        parts.AddRange(fillers.OrderBy(_ => random.Next()).Take(style.Fillers));
        string city = style.Correct ? question.Capital : Pick(question.WrongCities, random);
        string statement = question.Statement;
        if (style.Fillers > 0) statement = char.ToLowerInvariant(statement[0]) + statement[1..];   // the sentence goes on after a comma
        string ending = style.Finished ? "." : Pick(TrailingOff(lang), random);
        parts.Add($"{statement} {city}{ending}");
        return string.Join(" ", parts);
    }

    static string Pick(IReadOnlyList<string> options, Random random) => options[random.Next(options.Count)];

    /// <summary>
    /// <paramref name="count"/> supervised examples: a question drawn uniformly from <paramref name="questions"/> (all 32
    /// when null) and an answer in a style drawn from <see cref="AnswerStyle.Random"/>'s mixture. Deterministic for a seed.
    /// </summary>
    public static IReadOnlyList<(AssistantQuestion Question, AnswerStyle Style, string Answer)> SftExamples(int count, int seed, IReadOnlyList<AssistantQuestion>? questions = null)
    {
        Guard.AtLeast(count, 1, nameof(count));
        questions ??= Questions;
        if (questions.Count == 0) throw new ArgumentException("Pass at least one question (or null for all of them).", nameof(questions));
        var random = new Random(seed);
        var examples = new List<(AssistantQuestion, AnswerStyle, string)>(count);
        for (int i = 0; i < count; i++)
        {
            var q = questions[random.Next(questions.Count)];
            var style = AnswerStyle.Random(random);
            examples.Add((q, style, Answer(q, style, random)));
        }
        return examples;
    }

    /// <summary>The ids of <see cref="End"/> and <see cref="Pad"/> in a tokenizer from <see cref="TrainTokenizer"/>.</summary>
    /// <exception cref="ArgumentException">The tokenizer does not have both as single tokens.</exception>
    public static (int End, int Pad) SpecialIds(ITokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var end = tokenizer.Encode(End);
        var pad = tokenizer.Encode(Pad);
        if (end.Count != 1 || pad.Count != 1)
            throw new ArgumentException($"The tokenizer must encode {End} and {Pad} as one token each (got {end.Count} and {pad.Count}): use AssistantTask.TrainTokenizer().", nameof(tokenizer));
        return (end[0], pad[0]);
    }

    /// <summary>
    /// A byte-level BPE tokenizer trained on the task's text (every question, and every phrase in every style, several
    /// times), with <see cref="End"/> and <see cref="Pad"/> as special tokens. Cities and phrases become a few tokens each.
    /// </summary>
    public static BpeTokenizer TrainTokenizer(int vocabSize = 800)
    {
        var random = new Random(0);
        var text = new System.Text.StringBuilder();
        foreach (var q in Questions)
            foreach (bool correct in new[] { true, false })
                foreach (var opener in Enum.GetValues<Opener>())
                    for (int fillers = 0; fillers <= 2; fillers++)
                        foreach (bool finished in new[] { true, false })
                            text.Append(PromptText(q)).Append(Answer(q, new AnswerStyle(correct, opener, fillers, finished), random)).Append('\n');
        return BpeTokenizer.Train(text.ToString(), vocabSize, [End, Pad]);
    }
}
