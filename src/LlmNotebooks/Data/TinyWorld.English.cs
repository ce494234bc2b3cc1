using System.Globalization;

namespace LlmNotebooks.Data;

public static partial class TinyWorld
{
    /// <summary>
    /// English documents. Every variable part is a choice through the <see cref="Scribe"/>, and different options are
    /// different words, so the text determines the choices and Nats is its information content. Facts come from the cast.
    /// </summary>
    internal sealed class EnglishWriter(Cast cast, Scribe s)
    {
        static string A(string word) => "aeiou".Contains(word[0]) ? "an " + word : "a " + word;
        static string Number(int n) => n.ToString("N0", CultureInfo.InvariantCulture);
        static string He(Person p) => p.Female ? "she" : "he";
        static string His(Person p) => p.Female ? "her" : "his";
        static string Him(Person p) => p.Female ? "her" : "him";

        /// <summary>The first sentence, then the optional ones in a random order (ln k! nats for the order).</summary>
        string Entry(string first, params (double P, Func<string>? Sentence)[] optional)
        {
            var chosen = new List<string> { first };
            var rest = new List<string>();
            foreach (var (p, sentence) in optional)
                if (sentence is not null && s.Chance(p)) rest.Add(sentence());
            Shuffle(s, rest);
            chosen.AddRange(rest);
            return string.Join(" ", chosen);
        }

        public string TownEntry(Town t)
        {
            string size = t.Population < 2_000 ? "small town" : t.Population < 10_000 ? "town" : "big town";
            string n = t.Name.En, r = t.River.Name.En;
            var residents = cast.Residents[t];
            return Entry(
                s.Pick($"{n} is {A(size)} on the {r} River.", $"The {size} of {n} lies on the {r} River.", $"{n} stands on the banks of the {r} River."),
                (0.9, () => s.Pick($"About {Number(t.Population)} people live there.", $"It is home to about {Number(t.Population)} people.", $"Around {Number(t.Population)} people live in {n}.")),
                (0.9, () => s.Pick($"It is known for its {t.Product1.En} and its {t.Product2.En}.", $"The town is famous for its {t.Product1.En} and {t.Product2.En}.", $"People come to {n} to buy {t.Product1.En} and {t.Product2.En}.")),
                (0.85, () => s.Pick($"The town has {t.Landmark.En}.", $"In the middle of {n} there is {t.Landmark.En}.", $"Visitors like to see {t.Landmark.En} there.")),
                (0.75, () => s.Pick($"It was founded in the year {t.Founded}.", $"{n} was built in {t.Founded}.")),
                (0.75, residents.Count == 0 ? null : () => { var p = s.Pick(residents); return $"{p.Name.En} lives here and {PersonRole(p)}."; }));
        }

        string PersonRole(Person p) => p.Student ? $"goes to the {cast.School.En} School of Magic" : $"works as {A(p.Job!.Value.En)}";

        public string RiverEntry(River r)
        {
            string n = r.Name.En;
            var towns = cast.TownsOn[r];
            return Entry(
                s.Pick($"The {n} is a river that flows into the {r.Sea.En}.", $"The {n} River runs to the {r.Sea.En}.", $"The {n} River ends in the {r.Sea.En}."),
                (0.9, () => s.Pick($"It is {r.Miles} miles long.", $"The river is {r.Miles} miles long.")),
                (0.85, () => s.Pick($"Many {r.Fish.En} live in its water.", $"Fishers catch {r.Fish.En} in the {n}.")),
                (0.75, towns.Count == 0 ? null : () => { var t = s.Pick(towns); return s.Pick($"The town of {t.Name.En} is on its banks.", $"{t.Name.En} lies on this river."); }),
                (0.65, () => s.Pick("In spring the water is high and fast.", "In summer children swim in it.", "In winter it sometimes freezes.")));
        }

        public string CreatureEntry(Creature c)
        {
            string n = c.Name.En;
            return Entry(
                s.Pick($"The {n} is a small animal that lives in the {c.Home.En}.", $"{Capitalize(A(n))} is a wild animal of the {c.Home.En}.", $"The {n} lives in the {c.Home.En}."),
                (0.9, () => s.Pick($"It is {c.Size.En}.", $"A grown {n} is {c.Size.En}.")),
                (0.9, () => s.Pick($"Its fur is {c.Color.En}.", $"Most {n}s are {c.Color.En}.")),
                (0.85, () => s.Pick($"It eats {c.Food.En}.", $"The {n} likes to eat {c.Food.En}.")),
                (0.85, () => s.Pick($"It is {c.Temper.En}.", $"People say the {n} is {c.Temper.En}.")),
                (0.55, () => s.Pick("It sleeps for most of the winter.", "It sings softly at night.", "It builds its nest from leaves and moss.")));
        }

        public string PersonEntry(Person p)
        {
            string n = p.Name.En;
            string first = p.Student
                ? s.Pick($"{n} is a student from {p.Home.Name.En}.", $"{n} lives in {p.Home.Name.En} and studies magic.")
                : s.Pick($"{n} is {A(p.Job!.Value.En)} from {p.Home.Name.En}.", $"{n} lives in {p.Home.Name.En} and works as {A(p.Job!.Value.En)}.");
            return Entry(first,
                (0.9, () => s.Pick($"{Capitalize(He(p))} is {p.Age} years old.", $"{p.First.En} is {p.Age}.")),
                (0.75, () => s.Pick($"{Capitalize(He(p))} has a pet {p.Pet.Name.En}.", $"{p.First.En}'s pet is {A(p.Pet.Name.En)}.")),
                (0.85, () => s.Pick($"{Capitalize(His(p))} favourite food is {p.Food.En}.", $"{p.First.En} loves {p.Food.En}.")),
                (0.65, () => $"{Capitalize(His(p))} best friend is {cast.BestFriend[p].Name.En}."),
                (p.Student ? 0.6 : 0, () => $"{Capitalize(He(p))} goes to the {cast.School.En} School of Magic in {cast.SchoolTown.Name.En}."));
        }

        static readonly (string Problem, string[] Fixes)[] Problems =
        [
            ("was sad because it had lost its way home", ["showed it the path back to the {home}", "walked with it all the way to the {home}"]),
            ("was hungry and had not eaten all day", ["gave it a piece of bread", "shared {his} lunch with it"]),
            ("was stuck in a hole and could not get out", ["pulled it out very slowly", "used a long stick to help it climb out"]),
            ("was scared of the loud thunder", ["sat next to it until the storm was over", "sang a quiet song to calm it down"]),
            ("was cold and its fur was wet", ["wrapped it in {his} warm scarf", "dried it with a soft towel"]),
        ];

        public string Story()
        {
            var p = s.Pick(cast.People);
            var c = s.Pick(cast.Creatures);
            string name = p.First.En, town = p.Home.Name.En;
            var lines = new List<string>
            {
                $"{s.Pick("One day", "Once upon a time", "Last summer", "On a rainy morning", "Early one morning", "One cold evening")}, {p.Name.En} went to " +
                s.Pick($"the market in {town}.", $"the river near {town}.", $"the big park in {town}.", $"the hills behind {town}."),
                $"{Capitalize(He(p))} wanted to " + s.Pick("find a gift for a friend.", $"see the {p.Home.River.Name.En} River.", "catch a big fish.", "make a new friend.",
                    "fly a red kite.", "pick some berries.", "find a smooth stone.", "draw a picture of the sky."),
                $"{s.Pick("On the way", "Soon", "After a while")}, {He(p)} saw {A(s.Pick("small", "little", "young"))} {c.Name.En} " +
                s.Pick("under a tree.", "near the water.", "behind a big rock.", "in the tall grass.", "on an old fence."),
            };
            if (s.Chance(0.5)) lines.Add($"It was {c.Color.En} and {c.Size.En}.");
            var (problem, fixes) = s.Pick(Problems);
            lines.Add($"The {c.Name.En} {problem}.");
            lines.Add($"{name} {s.Pick(fixes).Replace("{home}", c.Home.En).Replace("{his}", His(p))}.");
            lines.Add(s.Pick($"The {c.Name.En} was happy and licked {name}'s hand.", $"\"Thank you,\" said the {c.Name.En}.", $"The {c.Name.En} jumped with joy."));
            lines.Add(s.Pick($"{name} went home with a big smile.", $"{name} never forgot that day.",
                $"Later {He(p)} told {His(p)} friend {cast.BestFriend[p].First.En} all about it.", $"{name} learned that being kind is always a good idea."));
            return string.Join(" ", lines);
        }

        public string MagicStory(int objectIndex, Person student, Person teacher)
        {
            string name = student.First.En;
            var lines = new List<string>
            {
                s.Pick($"{student.Name.En} was a student at the {cast.School.En} School of Magic.",
                    $"{student.Name.En} studied magic at the {cast.School.En} School in {cast.SchoolTown.Name.En}.",
                    $"{student.Name.En} was in {(student.Age - 10) switch { 1 => "the first", 2 => "the second", 3 => "the third", 4 => "the fourth", 5 => "the fifth", 6 => "the sixth", _ => "the last" }} year at the {cast.School.En} School of Magic.",
                    $"Every morning {student.Name.En} walked up the hill to the {cast.School.En} School of Magic."),
                s.Pick("It was the first day of the new term.", "That morning the lesson was in the old tower.", "Snow was falling outside the classroom windows.",
                    "It was a warm day at the end of spring.", "The bells had just rung for the second lesson.", "Rain was drumming on the roof of the great hall."),
            };
            if (s.Chance(0.7)) lines.Add(s.Pick("The room smelled of old books and candle wax.", "Everyone was a little nervous.", "The owls on the roof were quiet.",
                $"{name} had slept badly and was still yawning.", $"{name} sat next to {cast.BestFriend[student].Name.En}."));
            lines.Add($"Today Professor {teacher.Name.En} was teaching " + s.Pick("flying.", "potions.", "how to talk to animals.", "how to grow plants with magic.",
                "how to make light.", "how to read the stars.", "weather spells.", "how to find lost things.") + " " +
                s.Pick("The professor asked the class to get ready.", "\"Take what you need,\" the professor said.", "The professor pointed at the table by the wall."));
            lines.Add($"{name} took the {TookThe[objectIndex].Word}.");
            lines.Add(s.Pick(objectIndex switch
            {
                0 => ["It was thin and light, and a few blue sparks came out of it.", $"{Capitalize(He(student))} waved it and a small light filled the room.",
                      $"It felt warm in {His(student)} hand.", "A tiny green flame danced at its tip.", $"{Capitalize(He(student))} pointed it at a feather, and the feather rose."],
                1 => ["It was old, but it could still fly.", $"{Capitalize(He(student))} held it tight and rose above the floor.", "Its twigs were tied with a red string."],
                2 => [$"The hat was too big and fell over {His(student)} eyes.", "The hat began to whisper strange words.", "A small bird flew out of the hat."],
                _ => ["It was heavy and black, and it smelled of mint.", $"{Capitalize(He(student))} filled it with water from the well.", "Something inside it was bubbling softly."],
            }));
            if (s.Chance(0.8))
                lines.Add(s.Choose(6) switch
                {
                    0 => $"Then {A(s.Pick(cast.Creatures).Name.En)} ran into the room and hid under a desk.",
                    1 => "Suddenly all the candles went out at once.",
                    2 => $"{cast.BestFriend[student].First.En} laughed so hard that the professor had to wait.",
                    3 => "A window opened by itself and cold air came in.",
                    4 => "For a moment the whole room smelled of oranges.",
                    _ => "Somewhere above them a door closed with a bang.",
                });
            // Choose the ending first: the creature is only drawn (and only costs nats) when the ending shows it.
            lines.Add(s.Choose(6) switch
            {
                0 => "The lesson began.",
                1 => $"{name} smiled at {His(student)} friend {cast.BestFriend[student].First.En}.",
                2 => "It was going to be a good day.",
                3 => $"At the end of the lesson {name} was tired but proud.",
                4 => $"That evening {name} wrote a long letter home about it.",
                _ => $"Outside, {A(s.Pick(cast.Creatures).Name.En)} watched from the window.",
            });
            return string.Join(" ", lines);
        }
    }

    /// <summary>Fisher–Yates with the scribe's numbers; costs ln(k!) nats (every order is equally likely).</summary>
    static void Shuffle<T>(Scribe s, List<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            s.Nats += Math.Log(i + 1);
            int j = s.Below(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
