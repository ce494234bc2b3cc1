namespace LlmNotebooks.Data;

public static partial class TinyWorld
{
    /// <summary>A word or phrase in both languages of the corpus; the Russian form is the case the templates need.</summary>
    internal readonly record struct Both(string En, string Ru);

    internal sealed record River(Both Name, int Miles, Both Sea, Both Fish);
    internal sealed record Town(Both Name, River River, int Population, Both Product1, Both Product2, Both Landmark, int Founded);
    internal sealed record Creature(Both Name, Both Size, Both Color, Both Food, Both Home, Both Temper);
    internal sealed record Person(Both First, Both Family, bool Female, Town Home, int Age, Both? Job, Creature Pet, Both Food)
    {
        public Both Name => new($"{First.En} {Family.En}", $"{First.Ru} {Family.Ru}");
        public bool Student => Job is null;
    }

    /// <summary>
    /// The fixed cast of one world: every fact about a town, river, creature or person is decided here, once, from
    /// the seed, so all documents agree about it ("Brindle has about 4,200 people" in every entry and story). A model
    /// trained on the corpus can learn these facts; they are not part of any document's <see cref="CorpusDocument.Nats"/>.
    /// </summary>
    internal sealed class Cast
    {
        public required IReadOnlyList<River> Rivers { get; init; }
        public required IReadOnlyList<Town> Towns { get; init; }
        public required IReadOnlyList<Creature> Creatures { get; init; }
        public required IReadOnlyList<Person> People { get; init; }
        public required IReadOnlyList<Person> Students { get; init; }
        public required IReadOnlyList<Person> Teachers { get; init; }
        public required IReadOnlyDictionary<Town, IReadOnlyList<Person>> Residents { get; init; }
        public required IReadOnlyDictionary<River, IReadOnlyList<Town>> TownsOn { get; init; }
        public required IReadOnlyDictionary<Person, Person> BestFriend { get; init; }
        public required Both School { get; init; }
        public required Town SchoolTown { get; init; }
    }

    // Syllables with a Latin and a Cyrillic spelling; all end in a consonant, so invented Russian nouns decline
    // regularly (дорлин → дорлина, дорлину, дорлином).
    static readonly Both[] Syllables =
    [
        new("bel", "бел"), new("bran", "бран"), new("cor", "кор"), new("dal", "дал"), new("dor", "дор"), new("el", "эл"),
        new("fen", "фен"), new("gal", "гал"), new("har", "хар"), new("is", "ис"), new("kel", "кел"), new("lan", "лан"),
        new("lor", "лор"), new("mar", "мар"), new("mel", "мел"), new("nor", "нор"), new("or", "ор"), new("pen", "пен"),
        new("quin", "квин"), new("ral", "рал"), new("ros", "рос"), new("sal", "сал"), new("tam", "там"), new("tor", "тор"),
        new("ul", "ул"), new("val", "вал"), new("ven", "вен"), new("wil", "вил"), new("yar", "яр"), new("zel", "зел"),
    ];
    static readonly Both[] TownEndings =
        [new("ford", "форд"), new("wick", "вик"), new("ton", "тон"), new("by", "би"), new("holm", "хольм"), new("stead", "стед"), new("moor", "мур"), new("dale", "дейл")];
    static readonly Both[] FamilyEndings = [new("wood", "вуд"), new("well", "велл"), new("son", "сон"), new("ley", "ли"), new("more", "мор")];

    static readonly Both[] MaleNames =
    [
        new("Bram", "Брам"), new("Tobin", "Тобин"), new("Oren", "Орен"), new("Fenn", "Фенн"), new("Galen", "Гален"), new("Hob", "Хоб"),
        new("Ivo", "Иво"), new("Jory", "Джори"), new("Kit", "Кит"), new("Lars", "Ларс"), new("Milo", "Мило"), new("Nils", "Нильс"),
        new("Pim", "Пим"), new("Rolf", "Рольф"), new("Sten", "Стен"), new("Teo", "Тео"), new("Ulf", "Ульф"), new("Wim", "Вим"),
        new("Arlo", "Арло"), new("Edric", "Эдрик"),
    ];
    static readonly Both[] FemaleNames =
    [
        new("Mira", "Мира"), new("Tilda", "Тильда"), new("Nora", "Нора"), new("Greta", "Грета"), new("Ilsa", "Ильза"), new("Lina", "Лина"),
        new("Ada", "Ада"), new("Runa", "Руна"), new("Wenna", "Венна"), new("Elsa", "Эльза"), new("Dora", "Дора"), new("Vera", "Вера"),
        new("Hanna", "Ханна"), new("Kira", "Кира"), new("Lotta", "Лотта"), new("Maja", "Майя"), new("Sela", "Села"), new("Tova", "Това"),
        new("Yara", "Яра"), new("Fria", "Фрия"),
    ];

    // Russian forms: products in the instrumental (славится солью), landmarks and fish in the nominative, seas in
    // the accusative (впадает в Серое море), sizes in the accusative (размером с кошку), colours in the genitive
    // (серого цвета), food in the accusative, homes as a place phrase, tempers as masculine adjectives, jobs in the
    // nominative and, for "работает кем", derived below.
    static readonly Both[] Products =
    [
        new("salt", "солью"), new("glass", "стеклом"), new("cheese", "сыром"), new("wool", "шерстью"), new("honey", "мёдом"),
        new("apples", "яблоками"), new("rope", "верёвками"), new("bells", "колоколами"), new("paper", "бумагой"), new("boats", "лодками"),
        new("pottery", "посудой"), new("bread", "хлебом"), new("candles", "свечами"), new("clocks", "часами"),
    ];
    static readonly Both[] Landmarks =
    [
        new("an old stone bridge", "старый каменный мост"), new("a tall clock tower", "высокая башня с часами"),
        new("a round market square", "круглая рыночная площадь"), new("a white lighthouse", "белый маяк"),
        new("a big library", "большая библиотека"), new("a windmill on a hill", "мельница на холме"),
        new("a rose garden", "розовый сад"), new("a little wooden church", "маленькая деревянная церковь"),
    ];
    static readonly Both[] Seas = [new("Grey Sea", "Серое море"), new("Quiet Sea", "Тихое море"), new("North Sea", "Северное море"), new("Green Sea", "Зелёное море")];
    static readonly Both[] Fish = [new("trout", "форель"), new("pike", "щука"), new("carp", "карп"), new("perch", "окунь"), new("catfish", "сом")];
    static readonly Both[] Sizes =
        [new("as small as a mouse", "мышь"), new("as big as a cat", "кошку"), new("as big as a dog", "собаку"), new("as big as a fox", "лису"), new("as big as a horse", "лошадь")];
    static readonly Both[] Colors =
        [new("grey", "серого"), new("red", "рыжего"), new("white", "белого"), new("black", "чёрного"), new("green", "зелёного"), new("blue", "голубого"), new("golden", "золотого")];
    static readonly Both[] CreatureFoods =
        [new("berries", "ягоды"), new("mushrooms", "грибы"), new("nuts", "орехи"), new("small fish", "мелкую рыбу"), new("grass", "траву"), new("seeds", "семена")];
    static readonly Both[] Homes =
        [new("forests", "в лесах"), new("marshes", "на болотах"), new("hills", "в горах"), new("caves", "в пещерах"), new("meadows", "на лугах")];
    static readonly Both[] Tempers =
        [new("shy", "пугливый"), new("gentle", "добрый"), new("curious", "любопытный"), new("grumpy", "ворчливый"), new("playful", "игривый")];
    static readonly Both[] Jobs =
    [
        new("doctor", "врач"), new("teacher", "учитель"), new("baker", "пекарь"), new("librarian", "библиотекарь"), new("cook", "повар"),
        new("farmer", "фермер"), new("carpenter", "плотник"), new("potter", "гончар"), new("smith", "кузнец"), new("fisher", "рыбак"),
    ];
    static readonly Both[] PeopleFoods =
    [
        new("apple pie", "яблочный пирог"), new("fish soup", "рыбный суп"), new("honey cake", "медовый торт"), new("fresh bread", "свежий хлеб"),
        new("plum jam", "сливовое варенье"), new("cheese", "сыр"), new("pancakes", "блины"), new("berry tea", "ягодный чай"),
    ];

    static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
    static Both Capitalize(Both b) => new(Capitalize(b.En), Capitalize(b.Ru));

    /// <summary>Builds the cast from the seed (its own random stream, so the cast does not depend on the documents).</summary>
    internal static Cast BuildCast(ulong seed)
    {
        var rng = new Scribe(seed ^ 0xC0FFEE_0DDBA11UL);
        var usedNames = new HashSet<string>(StringComparer.Ordinal);
        Both Unique(Func<Both> make)
        {
            while (true)
            {
                var name = make();
                if (usedNames.Add(name.En.ToLowerInvariant()) && usedNames.Add(name.Ru.ToLowerInvariant())) return name;
            }
        }
        Both Syl() => Syllables[rng.Below(Syllables.Length)];
        T Any<T>(IReadOnlyList<T> items) => items[rng.Below(items.Count)];

        var rivers = Enumerable.Range(0, 20).Select(_ =>
        {
            var name = Unique(() => { var (x, y) = (Syl(), Syl()); return Capitalize(new Both(x.En + y.En + "a", x.Ru + y.Ru + "а")); });
            return new River(name, 20 + 5 * rng.Below(60), Any(Seas), Any(Fish));
        }).ToList();
        var towns = Enumerable.Range(0, 150).Select(_ =>
        {
            var name = Unique(() => { var (s, e) = (Syl(), Any(TownEndings)); return Capitalize(new Both(s.En + e.En, s.Ru + e.Ru)); });
            int p1 = rng.Below(Products.Length), p2 = (p1 + 1 + rng.Below(Products.Length - 1)) % Products.Length;
            int population = rng.Below(3) switch { 0 => 300 + 100 * rng.Below(20), 1 => 2_000 + 100 * rng.Below(80), _ => 10_000 + 500 * rng.Below(70) };
            return new Town(name, Any(rivers), population, Products[p1], Products[p2], Any(Landmarks), 900 + rng.Below(900));
        }).ToList();
        var creatures = Enumerable.Range(0, 80).Select(_ =>
        {
            var name = Unique(() => { var (x, y) = (Syl(), Syl()); return new Both(x.En + y.En, x.Ru + y.Ru); });
            return new Creature(name, Any(Sizes), Any(Colors), Any(CreatureFoods), Any(Homes), Any(Tempers));
        }).ToList();
        var people = new List<Person>();
        var fullNames = new HashSet<string>(StringComparer.Ordinal);
        var families = Enumerable.Range(0, 60).Select(_ => Unique(() => { var (s, e) = (Syl(), Any(FamilyEndings)); return Capitalize(new Both(s.En + e.En, s.Ru + e.Ru)); })).ToList();
        while (people.Count < 360)
        {
            bool female = rng.Below(2) == 0;
            var first = Any(female ? FemaleNames : MaleNames);
            var family = Any(families);
            if (!fullNames.Add(first.En + " " + family.En)) continue;
            bool student = rng.Below(10) < 3;
            people.Add(new Person(first, family, female, Any(towns), student ? 11 + rng.Below(7) : 18 + rng.Below(63),
                student ? null : Any(Jobs), Any(creatures), Any(PeopleFoods)));
        }
        var adults = people.Where(p => !p.Student).ToList();
        var friends = new Dictionary<Person, Person>();
        foreach (var p in people)
        {
            var pool = p.Student ? people.Where(q => q.Student).ToList() : adults;
            Person f;
            do f = Any(pool); while (ReferenceEquals(f, p));
            friends[p] = f;
        }
        var schoolSyllables = (Syl(), Syl());
        return new Cast
        {
            Rivers = rivers, Towns = towns, Creatures = creatures, People = people,
            Students = people.Where(p => p.Student).ToList(),
            Teachers = adults.Where(p => p.Job == Jobs[1]).Take(6).ToList(),
            Residents = towns.ToDictionary(t => t, t => (IReadOnlyList<Person>)people.Where(p => p.Home == t).ToList()),
            TownsOn = rivers.ToDictionary(r => r, r => (IReadOnlyList<Town>)towns.Where(t => t.River == r).ToList()),
            BestFriend = friends,
            School = Capitalize(new Both(schoolSyllables.Item1.En + schoolSyllables.Item2.En + "wick", schoolSyllables.Item1.Ru + schoolSyllables.Item2.Ru + "вик")),
            SchoolTown = Any(towns),
        };
    }
}
