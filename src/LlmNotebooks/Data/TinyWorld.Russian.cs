namespace LlmNotebooks.Data;

public static partial class TinyWorld
{
    /// <summary>
    /// Russian documents: the same world in simple, grammatical templates. Verbs agree with the person's gender
    /// (взял / взяла); people appear only in the nominative, so invented names never need declining; creature names
    /// end in a consonant and decline like "кот" (дорлин, дорлина, дорлину).
    /// </summary>
    internal sealed class RussianWriter(Cast cast, Scribe s)
    {
        static string Past(Person p, string masculine, string feminine) => p.Female ? feminine : masculine;
        static string Years(int n) => Plural(n, "год", "года", "лет");
        static string Kilometres(int n) => Plural(n, "километр", "километра", "километров");

        /// <summary>Russian plural after a number: 1 год, 2 года, 5 лет, 11 лет, 21 год.</summary>
        internal static string Plural(int n, string one, string few, string many) =>
            (n % 100) is >= 11 and <= 14 ? many : (n % 10) switch { 1 => one, >= 2 and <= 4 => few, _ => many };

        string Entry(string first, params (double P, Func<string>? Sentence)[] optional)
        {
            var rest = new List<string>();
            foreach (var (p, sentence) in optional)
                if (sentence is not null && s.Chance(p)) rest.Add(sentence());
            Shuffle(s, rest);
            return string.Join(" ", [first, .. rest]);
        }

        public string TownEntry(Town t)
        {
            string n = t.Name.Ru, r = t.River.Name.Ru;
            var residents = cast.Residents[t];
            return Entry(
                s.Pick($"{n} — город на реке {r}.", $"Город {n} стоит на реке {r}.", $"{n} расположен на берегу реки {r}."),
                (0.9, () => s.Pick($"В нём живёт около {t.Population} человек.", $"Здесь живут примерно {t.Population} человек.")),
                (0.9, () => s.Pick($"Город славится {t.Product1.Ru} и {t.Product2.Ru}.", $"{n} знаменит {t.Product1.Ru} и {t.Product2.Ru}.")),
                (0.85, () => s.Pick($"В городе есть {t.Landmark.Ru}.", $"Главная достопримечательность города — {t.Landmark.Ru}.")),
                (0.75, () => $"Город был основан в {t.Founded} году."),
                (0.75, residents.Count == 0 ? null : () =>
                {
                    var p = s.Pick(residents);
                    return p.Student ? $"Здесь живёт {p.Name.Ru}, {Past(p, "ученик", "ученица")} школы магии «{cast.School.Ru}»."
                                     : $"Здесь живёт {p.Name.Ru}, {p.Job!.Value.Ru}.";
                }));
        }

        public string RiverEntry(River r)
        {
            string n = r.Name.Ru;
            var towns = cast.TownsOn[r];
            int km = (int)Math.Round(r.Miles * 1.609);
            return Entry(
                s.Pick($"{n} — река, которая впадает в {r.Sea.Ru}.", $"Река {n} течёт в {r.Sea.Ru}."),
                (0.9, () => $"Её длина — {km} {Kilometres(km)}."),
                (0.85, () => s.Pick($"В реке водится {r.Fish.Ru}.", $"Рыбаки ловят здесь рыбу: {r.Fish.Ru}.")),
                (0.75, towns.Count == 0 ? null : () => $"На её берегу стоит город {s.Pick(towns).Name.Ru}."),
                (0.65, () => s.Pick("Весной вода в ней высокая и быстрая.", "Летом дети купаются в ней.", "Зимой она иногда замерзает.")));
        }

        public string CreatureEntry(Creature c)
        {
            string n = Capitalize(c.Name.Ru);
            return Entry(
                s.Pick($"{n} — небольшой зверь, который живёт {c.Home.Ru}.", $"{n} — дикий зверь. Он живёт {c.Home.Ru}."),
                (0.9, () => $"Он размером с {c.Size.Ru}."),
                (0.9, () => $"Он {c.Color.Ru} цвета."),
                (0.85, () => $"Он ест {c.Food.Ru}."),
                (0.85, () => s.Pick($"Он {c.Temper.Ru}.", $"Говорят, что {c.Name.Ru} очень {c.Temper.Ru}.")),
                (0.55, () => s.Pick("Почти всю зиму он спит.", "Ночью он тихо поёт.", "Гнездо он строит из листьев и мха.")));
        }

        public string PersonEntry(Person p)
        {
            string n = p.Name.Ru;
            string first = p.Student
                ? $"{n} — {Past(p, "ученик", "ученица")} школы магии «{cast.School.Ru}»."
                : $"{n} — {p.Job!.Value.Ru} из города {p.Home.Name.Ru}.";
            return Entry(first,
                (0.9, () => $"{(p.Female ? "Ей" : "Ему")} {p.Age} {Years(p.Age)}."),
                (0.75, () => $"У {(p.Female ? "неё" : "него")} есть ручной {p.Pet.Name.Ru}."),
                (0.85, () => $"Больше всего {(p.Female ? "она" : "он")} любит {p.Food.Ru}."),
                (p.Student ? 0.6 : 0, () => $"{(p.Female ? "Она" : "Он")} живёт в городе {p.Home.Name.Ru}."));
        }

        static readonly (string Problem, string[] Fixes)[] Problems =
        [
            ("был грустный, потому что потерял дорогу домой", ["{показал|показала} ему дорогу домой", "{проводил|проводила} его до самого дома"]),
            ("был голодный и ничего не ел весь день", ["{дал|дала} ему кусок хлеба", "{поделился|поделилась} с ним своим обедом"]),
            ("застрял в яме и не мог выбраться", ["очень осторожно {вытащил|вытащила} его", "{помог|помогла} ему выбраться длинной палкой"]),
            ("боялся грома", ["{сел|села} рядом и {подождал|подождала}, пока не кончится гроза", "тихо {спел|спела} ему песню"]),
            ("замёрз и промок", ["{укрыл|укрыла} его тёплым шарфом", "{вытер|вытерла} его мягким полотенцем"]),
        ];

        /// <summary>"{взял|взяла}" → the form for this person.</summary>
        static string Agree(Person p, string text)
        {
            var sb = new System.Text.StringBuilder();
            int i = 0;
            while (i < text.Length)
            {
                int open = text.IndexOf('{', i);
                if (open < 0) { sb.Append(text, i, text.Length - i); break; }
                int bar = text.IndexOf('|', open), close = text.IndexOf('}', open);
                sb.Append(text, i, open - i);
                sb.Append(p.Female ? text[(bar + 1)..close] : text[(open + 1)..bar]);
                i = close + 1;
            }
            return sb.ToString();
        }

        public string Story()
        {
            var p = s.Pick(cast.People);
            var c = s.Pick(cast.Creatures);
            string name = p.First.Ru, town = p.Home.Name.Ru, cr = c.Name.Ru, Cr = Capitalize(c.Name.Ru);
            var lines = new List<string>
            {
                $"{s.Pick("Однажды", "Как-то раз", "Прошлым летом", "Дождливым утром", "Рано утром")} {p.Name.Ru} {Past(p, "пошёл", "пошла")} " +
                s.Pick($"на рынок в городе {town}.", $"к реке возле города {town}.", $"в большой парк в городе {town}.", $"на холмы за городом {town}."),
                $"{(p.Female ? "Она" : "Он")} {Past(p, "хотел", "хотела")} " + s.Pick("найти подарок для друга.", $"увидеть реку {p.Home.River.Name.Ru}.",
                    "поймать большую рыбу.", "найти нового друга.", "запустить красного воздушного змея.", "собрать ягоды."),
                $"{s.Pick("По дороге", "Вскоре", "Через некоторое время")} {(p.Female ? "она" : "он")} {Past(p, "увидел", "увидела")} " +
                $"{s.Pick("маленького", "молодого", "крошечного")} {cr}а " + s.Pick("под деревом.", "у воды.", "за большим камнем.", "в высокой траве."),
            };
            if (s.Chance(0.5)) lines.Add($"Он был {c.Color.Ru} цвета, размером с {c.Size.Ru}.");
            var (problem, fixes) = s.Pick(Problems);
            lines.Add($"{Cr} {problem}.");
            lines.Add($"{name} {Agree(p, s.Pick(fixes))}.");
            lines.Add(s.Pick($"{Cr} обрадовался и запрыгал.", $"«Спасибо», — сказал {cr}.", $"{Cr} благодарно посмотрел на {(p.Female ? "неё" : "него")}."));
            lines.Add(Agree(p, s.Pick($"Домой {name} {{вернулся|вернулась}} с улыбкой.", $"{name} надолго {{запомнил|запомнила}} этот день.",
                $"{name} {{понял|поняла}}, что доброта всегда помогает.")));
            return string.Join(" ", lines);
        }

        public string MagicStory(int objectIndex, Person student, Person teacher)
        {
            string name = student.First.Ru;
            var lines = new List<string>
            {
                $"{student.Name.Ru} {Past(student, "учился", "училась")} в школе магии «{cast.School.Ru}».",
                s.Pick("Это был первый день нового учебного года.", "В то утро урок проходил в старой башне.", "За окнами класса падал снег.",
                    "Был тёплый день в конце весны.", "По крыше большого зала стучал дождь."),
            };
            if (s.Chance(0.5)) lines.Add(s.Pick("В классе пахло старыми книгами и воском.", "Все немного волновались.", "Совы на крыше сидели тихо.",
                $"{name} плохо {Past(student, "спал", "спала")} и всё ещё зевал{(student.Female ? "а" : "")}."));
            lines.Add($"Сегодня профессор {teacher.Name.Ru} {Past(teacher, "вёл", "вела")} урок: " + s.Pick("полёты на мётлах.", "зелья.", "разговор с животными.",
                "как выращивать растения магией.", "как зажигать свет.", "как читать звёзды.", "заклинания погоды.", "как находить потерянные вещи."));
            lines.Add(s.Pick($"Профессор {Past(teacher, "попросил", "попросила")} всех приготовиться.", "«Берите то, что вам нужно», — сказал" + (teacher.Female ? "а" : "") + " профессор."));
            lines.Add($"{name} {Past(student, "взял", "взяла")} {TookTheRussianPhrase[objectIndex]}.");
            lines.Add(s.Pick(objectIndex switch
            {
                0 => ["Палочка была тонкая и лёгкая, и из неё вылетели синие искры.", $"{name} {Past(student, "взмахнул", "взмахнула")} ею, и комнату наполнил свет."],
                1 => ["Метла была старая, но ещё могла летать.", $"{name} крепко {Past(student, "держал", "держала")} её и {Past(student, "поднялся", "поднялась")} над полом."],
                2 => ["Шапка была слишком большой и закрыла глаза.", "Шапка начала шептать странные слова."],
                _ => ["Котёл был тяжёлый и чёрный и пах мятой.", $"{name} {Past(student, "наполнил", "наполнила")} его водой из колодца."],
            }));
            if (s.Chance(0.6))
                lines.Add(s.Choose(4) switch
                {
                    0 => $"Вдруг в класс вбежал {s.Pick(cast.Creatures).Name.Ru} и спрятался под партой.",
                    1 => "Внезапно все свечи погасли.",
                    2 => "Окно открылось само, и в класс ворвался холодный воздух.",
                    _ => "На минуту во всём классе запахло апельсинами.",
                });
            lines.Add(s.Choose(5) switch
            {
                0 => "Урок начался.",
                1 => "День обещал быть хорошим.",
                2 => $"К концу урока {name} {Past(student, "устал", "устала")}, но {Past(student, "был доволен", "была довольна")}.",
                3 => $"Вечером {name} {Past(student, "написал", "написала")} домой длинное письмо.",
                _ => $"За окном сидел {s.Pick(cast.Creatures).Name.Ru} и смотрел в класс.",
            });
            return string.Join(" ", lines);
        }
    }
}
