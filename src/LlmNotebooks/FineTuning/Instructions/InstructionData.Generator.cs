using System.Globalization;
using LlmNotebooks.Data;

namespace LlmNotebooks.FineTuning.Instructions;

public static partial class InstructionData
{
    /// <summary>Examples in the course's training set.</summary>
    public const int TrainCount = 2500;
    /// <summary>Examples in the course's held-out set.</summary>
    public const int HeldOutCount = 300;
    /// <summary>Share of Russian examples (the rest are English).</summary>
    public const double RussianShare = 0.35;
    /// <summary>Share of each kind of entity (towns, rivers, creatures, people, numbers) that is held out.</summary>
    public const double HeldOutShare = 0.10;

    /// <summary>
    /// The course's instruction set and the entities it holds out.
    /// <para><b>The held-out rule.</b> Before any question is written, a seeded draw holds out 10% of TinyWorld's towns,
    /// rivers, creatures and people and 10% of the numbers 0–9,999. A pair goes to the held-out set exactly when its
    /// instruction names a held-out entity, so no training instruction ever names one: a held-out question asks about a
    /// town, person, animal or number that no training question asks about, and cannot be a paraphrase of a training
    /// question (the facts behind it were never asked for). Held-out entities may still appear in training answers
    /// ("Where does Mira Dorwood live?" → "in Kelford"); that reveals nothing the held-out questions ask.</para>
    /// </summary>
    public sealed record InstructionSet(
        IReadOnlyList<InstructionExample> Train,
        IReadOnlyList<InstructionExample> HeldOut,
        IReadOnlyList<string> HeldOutNamesEnglish,
        IReadOnlyList<string> HeldOutNamesRussian,
        IReadOnlyList<int> HeldOutNumbers);

    /// <summary>
    /// Generates <see cref="TrainCount"/> training and <see cref="HeldOutCount"/> held-out pairs from the TinyWorld
    /// world (its default seed, so the facts are the ones the pretraining corpus states), 35% in Russian. Kinds of pairs:
    /// <list type="bullet">
    /// <item>world facts the corpus states: a town's river, products, founding year, landmark and population; a river's
    /// sea, fish and length; a creature's home, food, colour, size and temper; a person's home, job, age, pet,
    /// favourite food and (English only, as in the corpus) best friend;</item>
    /// <item>yes/no questions about those facts, half of them true;</item>
    /// <item>questions answered by a short story in the instruction, in the school-of-magic stories' own words: who
    /// took what ("Mira Dorwood took the broom. … What did Mira take?"), where someone went, what a professor taught,
    /// and yes/no about what was taken;</item>
    /// <item>small tasks: a number 0–9,999 in words (Humanizer, as <see cref="NumberTranslation"/>), and counting the
    /// animals in a list.</item>
    /// </list>
    /// Answers are short (a few words), so that every formatted example fits the course model's 64-token window
    /// (tests measure this with the course tokenizer). Instructions never repeat. Same seed, same bytes.
    /// </summary>
    public static InstructionSet Generate(ulong seed = DefaultSeed)
    {
        var cast = TinyWorld.BuildCast(TinyWorld.DefaultSeed);
        var s = new Scribe(seed);
        var heldTowns = HoldOut(s, cast.Towns);
        var heldRivers = HoldOut(s, cast.Rivers);
        var heldCreatures = HoldOut(s, cast.Creatures);
        var heldPeople = HoldOut(s, cast.People);
        var heldNumbers = HoldOut(s, Enumerable.Range(0, 10_000).ToList());
        var writer = new QuestionWriter(cast, s);

        var train = new List<InstructionExample>();
        var heldOut = new List<InstructionExample>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int attempt = 0; train.Count < TrainCount || heldOut.Count < HeldOutCount; attempt++)
        {
            if (attempt > 200_000) throw new InvalidOperationException("The instruction generator found too few new questions; its templates are too few for the requested sizes.");
            var q = writer.Next(s.Chance(RussianShare));
            if (!seen.Add(q.Instruction)) continue;
            bool held = q.Towns.Any(heldTowns.Contains) || q.Rivers.Any(heldRivers.Contains) || q.Creatures.Any(heldCreatures.Contains)
                        || q.People.Any(heldPeople.Contains) || q.Numbers.Any(heldNumbers.Contains);
            var target = held ? heldOut : train;
            if (target.Count < (held ? HeldOutCount : TrainCount)) target.Add(new InstructionExample(q.Instruction, q.Output));
        }
        return new InstructionSet(train, heldOut,
            [.. heldTowns.Select(t => t.Name.En), .. heldRivers.Select(r => r.Name.En), .. heldCreatures.Select(c => c.Name.En), .. heldPeople.Select(p => p.Name.En)],
            [.. heldTowns.Select(t => t.Name.Ru), .. heldRivers.Select(r => r.Name.Ru), .. heldCreatures.Select(c => c.Name.Ru), .. heldPeople.Select(p => p.Name.Ru)],
            heldNumbers.Order().ToList());
    }

    /// <summary>A seeded <see cref="HeldOutShare"/> of the items (a partial Fisher–Yates shuffle).</summary>
    static HashSet<T> HoldOut<T>(Scribe s, IReadOnlyList<T> items) where T : notnull
    {
        var order = items.ToArray();
        int count = (int)Math.Round(order.Length * HeldOutShare);
        for (int i = 0; i < count; i++)
        {
            int j = i + s.Below(order.Length - i);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order.Take(count).ToHashSet();
    }

    /// <summary>A question, its answer, and the entities its instruction names (which decide held-out or training).</summary>
    sealed record Question(string Instruction, string Output)
    {
        public List<TinyWorld.Town> Towns { get; } = [];
        public List<TinyWorld.River> Rivers { get; } = [];
        public List<TinyWorld.Creature> Creatures { get; } = [];
        public List<TinyWorld.Person> People { get; } = [];
        public List<int> Numbers { get; } = [];
    }

    /// <summary>Writes one question of a random kind, in English or Russian, with the facts of the TinyWorld cast.</summary>
    sealed class QuestionWriter(TinyWorld.Cast cast, Scribe s)
    {
        // Shares of the kinds of questions: town, river, creature, person facts; yes/no; story; number in words; counting.
        static readonly double[] Kinds = [0.16, 0.05, 0.10, 0.17, 0.14, 0.20, 0.11, 0.07];

        // The school-of-magic stories' objects ("took the wand"; «взяла волшебную палочку») and lessons, in both languages.
        static readonly (string En, string Ru)[] Things = [("wand", "волшебную палочку"), ("broom", "метлу"), ("hat", "шапку"), ("cauldron", "котёл")];
        static readonly (string En, string Ru)[] Lessons =
        [
            ("flying", "полёты на мётлах"), ("potions", "зелья"), ("how to talk to animals", "разговор с животными"),
            ("how to grow plants with magic", "как выращивать растения магией"), ("how to make light", "как зажигать свет"),
            ("how to read the stars", "как читать звёзды"), ("weather spells", "заклинания погоды"), ("how to find lost things", "как находить потерянные вещи"),
        ];

        static string Number(int n) => n.ToString("N0", CultureInfo.InvariantCulture);
        static string Digits(int n) => n.ToString(CultureInfo.InvariantCulture);
        static string A(string word) => "aeiou".Contains(word[0]) ? "an " + word : "a " + word;
        static string Past(TinyWorld.Person p, string masculine, string feminine) => p.Female ? feminine : masculine;

        public Question Next(bool ru) => s.Weighted(Kinds) switch
        {
            0 => TownFact(ru),
            1 => RiverFact(ru),
            2 => CreatureFact(ru),
            3 => PersonFact(ru),
            4 => YesNo(ru),
            5 => Story(ru),
            6 => InWords(ru),
            _ => Counting(ru),
        };

        static Question With(Question q, TinyWorld.Town? town = null, TinyWorld.River? river = null, TinyWorld.Person? person = null, TinyWorld.Creature? creature = null)
        {
            if (town is not null) q.Towns.Add(town);
            if (river is not null) q.Rivers.Add(river);
            if (person is not null) q.People.Add(person);
            if (creature is not null) q.Creatures.Add(creature);
            return q;
        }

        Question TownFact(bool ru)
        {
            var t = s.Pick(cast.Towns);
            string n = ru ? t.Name.Ru : t.Name.En;
            var q = (s.Below(5), ru) switch
            {
                (0, false) => new Question(s.Pick($"Which river is {n} on?", $"On which river does {n} stand?"), $"the {t.River.Name.En} River"),
                (0, true) => new Question($"На какой реке стоит город {n}?", $"на реке {t.River.Name.Ru}"),
                (1, false) => new Question(s.Pick($"What is {n} known for?", $"What is the town of {n} famous for?"), $"{t.Product1.En} and {t.Product2.En}"),
                (1, true) => new Question($"Чем славится город {n}?", $"{t.Product1.Ru} и {t.Product2.Ru}"),
                (2, false) => new Question(s.Pick($"When was {n} founded?", $"In which year was {n} built?"), $"in {t.Founded}"),
                (2, true) => new Question($"В каком году был основан город {n}?", $"в {t.Founded} году"),
                (3, false) => new Question($"What can visitors see in {n}?", t.Landmark.En),
                (3, true) => new Question($"Какая достопримечательность есть в городе {n}?", t.Landmark.Ru),
                (_, false) => new Question($"How many people live in {n}?", $"about {Number(t.Population)}"),
                (_, true) => new Question($"Сколько человек живёт в городе {n}?", $"около {t.Population}"),
            };
            return With(q, town: t);
        }

        Question RiverFact(bool ru)
        {
            var r = s.Pick(cast.Rivers);
            string n = ru ? r.Name.Ru : r.Name.En;
            int km = (int)Math.Round(r.Miles * 1.609);
            var q = (s.Below(3), ru) switch
            {
                (0, false) => new Question($"Where does the {n} River flow?", $"into the {r.Sea.En}"),
                (0, true) => new Question($"Куда впадает река {n}?", $"в {r.Sea.Ru}"),
                (1, false) => new Question($"Which fish live in the {n} River?", r.Fish.En),
                (1, true) => new Question($"Какая рыба водится в реке {n}?", r.Fish.Ru),
                (_, false) => new Question($"How long is the {n} River?", $"{r.Miles} miles"),
                (_, true) => new Question($"Какова длина реки {n}?", $"{km} {TinyWorld.RussianWriter.Plural(km, "километр", "километра", "километров")}"),
            };
            return With(q, river: r);
        }

        Question CreatureFact(bool ru)
        {
            var c = s.Pick(cast.Creatures);
            string n = ru ? c.Name.Ru : c.Name.En;
            var q = (s.Below(5), ru) switch
            {
                (0, false) => new Question($"Where does the {n} live?", $"in the {c.Home.En}"),
                (0, true) => new Question($"Где живёт {n}?", c.Home.Ru),
                (1, false) => new Question($"What does the {n} eat?", c.Food.En),
                (1, true) => new Question($"Что ест {n}?", c.Food.Ru),
                (2, false) => new Question($"What colour is the fur of the {n}?", c.Color.En),
                (2, true) => new Question($"Какого цвета {n}?", $"{c.Color.Ru} цвета"),
                (3, false) => new Question($"How big is the {n}?", c.Size.En),
                (3, true) => new Question($"Какого размера {n}?", $"размером с {c.Size.Ru}"),
                (_, false) => new Question($"What is the {n} like?", c.Temper.En),
                (_, true) => new Question($"Какой {n} по характеру?", c.Temper.Ru),
            };
            return With(q, creature: c);
        }

        Question PersonFact(bool ru)
        {
            var p = s.Pick(cast.People);
            string n = ru ? p.Name.Ru : p.Name.En;
            string pronoun = p.Female ? "ей" : "ему", of = p.Female ? "неё" : "него", she = p.Female ? "она" : "он";
            int kind = s.Below(ru ? 5 : 6);
            var q = (kind, ru) switch
            {
                (0, false) => new Question($"Where does {n} live?", $"in {p.Home.Name.En}"),
                (0, true) => new Question($"В каком городе живёт {n}?", $"в городе {p.Home.Name.Ru}"),
                (1, false) => new Question($"What does {n} do?", p.Student ? "a student of magic" : A(p.Job!.Value.En)),
                (1, true) => p.Student ? new Question($"В какой школе учится {n}?", $"в школе магии «{cast.School.Ru}»")
                                       : new Question($"Кем работает {n}?", p.Job!.Value.Ru),
                (2, false) => new Question($"How old is {n}?", $"{p.Age}"),
                (2, true) => new Question($"{n} — сколько {pronoun} лет?", $"{p.Age} {TinyWorld.RussianWriter.Plural(p.Age, "год", "года", "лет")}"),
                (3, false) => new Question($"What pet does {n} have?", A(p.Pet.Name.En)),
                (3, true) => new Question($"{n} — какой у {of} ручной зверь?", p.Pet.Name.Ru),
                (4, false) => new Question($"What is the favourite food of {n}?", p.Food.En),
                (4, true) => new Question($"{n} — что {she} любит больше всего?", p.Food.Ru),
                _ => new Question($"Who is the best friend of {n}?", cast.BestFriend[p].Name.En),
            };
            return With(q, person: p);
        }

        Question YesNo(bool ru)
        {
            bool yes = s.Chance(0.5);
            string answer = ru ? (yes ? "да" : "нет") : (yes ? "yes" : "no");
            switch (s.Below(3))
            {
                case 0:
                {
                    var t = s.Pick(cast.Towns);
                    var r = yes ? t.River : Other(cast.Rivers, t.River);
                    return With(new Question(ru ? $"Стоит ли город {t.Name.Ru} на реке {r.Name.Ru}?" : $"Is {t.Name.En} on the {r.Name.En} River?", answer), town: t, river: r);
                }
                case 1:
                {
                    var p = s.Pick(cast.People);
                    var t = yes ? p.Home : Other(cast.Towns, p.Home);
                    var q = new Question(ru ? $"Живёт ли {p.Name.Ru} в городе {t.Name.Ru}?" : $"Does {p.Name.En} live in {t.Name.En}?", answer);
                    return With(With(q, person: p), town: t);
                }
                default:
                {
                    var p = s.Pick(cast.Students);
                    int took = s.Below(Things.Length), asked = yes ? took : (took + 1 + s.Below(Things.Length - 1)) % Things.Length;
                    var q = ru
                        ? new Question($"{p.Name.Ru} {Past(p, "взял", "взяла")} {Things[took].Ru}. {Past(p, "Взял", "Взяла")} ли {p.First.Ru} {Things[asked].Ru}?", answer)
                        : new Question($"{p.Name.En} took the {Things[took].En}. Did {p.First.En} take the {Things[asked].En}?", answer);
                    return With(q, person: p);
                }
            }
        }

        T Other<T>(IReadOnlyList<T> items, T not) where T : class
        {
            T other;
            do other = s.Pick(items); while (ReferenceEquals(other, not));
            return other;
        }

        Question Story(bool ru)
        {
            switch (s.Below(4))
            {
                case 0:
                case 1:
                {   // who took what: two students, two different things
                    var a = s.Pick(cast.Students);
                    var b = Other(cast.Students, a);
                    int x = s.Below(Things.Length), y = (x + 1 + s.Below(Things.Length - 1)) % Things.Length;
                    bool askThing = s.Chance(0.5);
                    Question q;
                    if (ru)
                    {
                        string story = $"{a.Name.Ru} {Past(a, "взял", "взяла")} {Things[x].Ru}. {b.Name.Ru} {Past(b, "взял", "взяла")} {Things[y].Ru}.";
                        q = askThing ? new Question($"{story} Что {Past(a, "взял", "взяла")} {a.First.Ru}?", Things[x].Ru)
                                     : new Question($"{story} Кто взял {Things[y].Ru}?", b.Name.Ru);
                    }
                    else
                    {
                        string story = $"{a.Name.En} took the {Things[x].En}. {b.Name.En} took the {Things[y].En}.";
                        q = askThing ? new Question($"{story} What did {a.First.En} take?", $"the {Things[x].En}")
                                     : new Question($"{story} Who took the {Things[y].En}?", b.Name.En);
                    }
                    return With(With(q, person: a), person: b);
                }
                case 2:
                {   // where someone went (the places of the short stories)
                    var p = s.Pick(cast.People);
                    var t = p.Home;
                    int place = s.Below(4);
                    string[] en = [$"the market in {t.Name.En}", $"the river near {t.Name.En}", $"the big park in {t.Name.En}", $"the hills behind {t.Name.En}"];
                    string[] rus = [$"на рынок в городе {t.Name.Ru}", $"к реке возле города {t.Name.Ru}", $"в большой парк в городе {t.Name.Ru}", $"на холмы за городом {t.Name.Ru}"];
                    var q = ru
                        ? new Question($"{p.Name.Ru} {Past(p, "пошёл", "пошла")} {rus[place]}. Куда {Past(p, "пошёл", "пошла")} {p.First.Ru}?", rus[place])
                        : new Question($"{s.Pick("One day", "Last summer", "Early one morning")}, {p.Name.En} went to {en[place]}. Where did {p.First.En} go?", $"to {en[place]}");
                    return With(With(q, person: p), town: t);
                }
                default:
                {   // what a professor taught
                    var teacher = s.Pick(cast.People.Where(p => !p.Student).ToList());
                    var (lessonEn, lessonRu) = s.Pick(Lessons);
                    var q = ru
                        ? new Question($"Сегодня профессор {teacher.Name.Ru} {Past(teacher, "вёл", "вела")} урок: {lessonRu}. Какой урок {Past(teacher, "вёл", "вела")} профессор?", lessonRu)
                        : new Question($"Today Professor {teacher.Name.En} was teaching {lessonEn}. What was the professor teaching?", lessonEn);
                    return With(q, person: teacher);
                }
            }
        }

        Question InWords(bool ru)
        {
            int n = s.Chance(0.4) ? s.Below(101) : s.Below(10_000);
            string language = ru ? "ru" : "en";
            string words = NumberTranslation.Join(NumberTranslation.Words(n, language));
            var q = ru ? new Question(s.Pick($"Напиши число {Digits(n)} словами.", $"Как пишется словами число {Digits(n)}?"), words)
                       : new Question(s.Pick($"Write {Digits(n)} in words.", $"How do you write the number {Digits(n)} in words?"), words);
            q.Numbers.Add(n);
            return q;
        }

        Question Counting(bool ru)
        {
            int count = 2 + s.Below(6);
            var picked = new List<TinyWorld.Creature>();
            while (picked.Count < count)
            {
                var c = s.Pick(cast.Creatures);
                if (!picked.Contains(c)) picked.Add(c);
            }
            string list = string.Join(", ", picked.Select(c => ru ? c.Name.Ru : c.Name.En));
            var q = ru ? new Question($"Сколько зверей в списке: {list}?", Digits(count))
                       : new Question($"How many animals are in this list: {list}?", Digits(count));
            q.Creatures.AddRange(picked);
            return q;
        }
    }
}
