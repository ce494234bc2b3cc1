using System.Globalization;
using System.Text;

namespace LlmNotebooks.Data;

public static partial class TinyWorld
{
    /// <summary>
    /// The dirt a web crawl brings with it, made from the clean documents written so far: copies and edited copies,
    /// cookie banners and spam, text that went through the wrong encoding, and pages in languages the corpus does not
    /// accept. Nothing here marks the text itself as dirty: only the label (kept apart, in labels.tsv) says what it is.
    /// </summary>
    internal sealed class DirtWriter(Cast cast, Scribe s, EnglishWriter english)
    {
        // ---- duplicates ------------------------------------------------------------------------------------------

        static readonly (string From, string To)[] Synonyms =
        [
            ("small", "tiny"), ("big", "large"), ("town", "village"), ("happy", "glad"), ("old", "ancient"), ("people", "folk"),
            ("river", "stream"), ("smile", "grin"), ("little", "wee"), ("quiet", "silent"), ("lives", "dwells"), ("about", "roughly"),
            ("known", "famous"), ("loves", "adores"), ("went", "walked"), ("saw", "spotted"), ("gave", "handed"), ("very", "really"),
        ];
        static readonly string[] EnglishTails = ["Read more...", "Continue reading »", "(Source: the TinyWorld wiki)", "Share this story.", "[edit]"];
        static readonly string[] RussianTails = ["Читать далее...", "Подробнее »", "(Источник: вики TinyWorld)", "[править]"];

        /// <summary>An earlier clean document with one to three small edits.</summary>
        public string NearDuplicate(CorpusDocument source)
        {
            string text = source.Text;
            // Small edits: one per 20 words at most (up to three), so that the copy stays a copy.
            int words = text.Split(' ').Length, edits = 1 + s.Below(Math.Clamp(words / 20, 1, 3));
            for (int e = 0; e < edits || text == source.Text; e++)
                text = s.Below(5) switch
                {
                    0 => ReplaceWord(text),
                    1 => SwapWords(text),
                    2 => ChangeNumber(text),
                    3 => Punctuation(text),
                    _ => text + " " + Any(source.Language == "ru" ? RussianTails : EnglishTails),
                };
            return text;
        }

        T Any<T>(IReadOnlyList<T> items) => items[s.Below(items.Count)];

        string ReplaceWord(string text)
        {
            var words = text.Split(' ');
            var synonymAt = Enumerable.Range(0, words.Length).Where(i => Synonyms.Any(p => p.From == words[i])).ToList();
            if (synonymAt.Count > 0)
            {
                int i = Any(synonymAt);
                words[i] = Synonyms.First(p => p.From == words[i]).To;
                return string.Join(' ', words);
            }
            // A typo: two neighbouring letters swapped inside a longer word.
            var long_ = Enumerable.Range(0, words.Length).Where(i => words[i].Length >= 5 && words[i].All(char.IsLetter)).ToList();
            if (long_.Count == 0) return text + ".";
            int w = Any(long_), at = 1 + s.Below(words[w].Length - 2);
            var chars = words[w].ToCharArray();
            (chars[at], chars[at + 1]) = (chars[at + 1], chars[at]);
            words[w] = new string(chars);
            return string.Join(' ', words);
        }

        string SwapWords(string text)
        {
            var words = text.Split(' ');
            if (words.Length < 4) return text + "!";
            int i = 1 + s.Below(words.Length - 2);
            (words[i], words[i + 1]) = (words[i + 1], words[i]);
            return string.Join(' ', words);
        }

        string ChangeNumber(string text)
        {
            var digits = Enumerable.Range(0, text.Length).Where(i => char.IsAsciiDigit(text[i])).ToList();
            if (digits.Count == 0) return ReplaceWord(text);
            int at = Any(digits);
            char replacement = (char)('0' + (text[at] - '0' + 1 + s.Below(9)) % 10);
            return text[..at] + replacement + text[(at + 1)..];
        }

        string Punctuation(string text) => s.Below(4) switch
        {
            0 => text.Replace(". ", ".  "),
            1 => text.Replace(", ", " , "),
            2 => text.TrimEnd('.'),
            _ => ReplaceFirst(text, ". ", "; "),
        };

        static string ReplaceFirst(string text, string what, string with)
        {
            int i = text.IndexOf(what, StringComparison.Ordinal);
            return i < 0 ? text : text[..i] + with + text[(i + what.Length)..];
        }

        // ---- boilerplate and spam --------------------------------------------------------------------------------

        static readonly string[] Sites = ["TinyWorld Daily", "Riverside News", "The Town Crier", "MagicDeals", "BestPrices24", "Northern Post"];
        static readonly string[] Goods = ["wands", "brooms", "cauldrons", "magic hats", "honey", "boots", "phones", "watches"];

        string EnglishBoilerplate()
        {
            string site = Any(Sites), town = Any(cast.Towns).Name.En;
            return s.Below(8) switch
            {
                0 => "We use cookies to give you the best experience on our website. By continuing to browse, you agree to our use of cookies." +
                     Any([" Accept all | Manage settings", " Learn more in our Privacy Policy.", " [Accept] [Reject]", ""]),
                1 => $"Subscribe to our newsletter and never miss a story from {site}! " + Any(["Enter your email address below.", "Sign up now, it's free.", "No spam, we promise."]),
                2 => $"Buy cheap {Any(Goods)} online!!! Best prices in {town}, free shipping. Click here >>> www.{site.Replace(" ", "").ToLowerInvariant()}.com",
                3 => $"HOT DEALS on {Any(Goods)}!!! Only today -{10 * (1 + s.Below(9))}% off. Order now!!!",
                4 => string.Join(Any([" | ", " · ", " » "]), new[] { "Home", "News", "Towns", "Rivers", "Creatures", "Magic", "About us", "Contact", "Login" }
                        .Where(_ => s.Below(4) != 0)) is { Length: > 0 } menu ? menu : "Home | Contact",
                5 => $"Copyright © {2005 + s.Below(20)} {site}. All rights reserved." + Any([" Privacy Policy | Terms of Use", " Powered by WordPress.", ""]),
                6 => Any(["Share this: Facebook Twitter Email Print", "Comments (0) Leave a reply", "Like this: Like Loading...", "Posted in Uncategorized | Leave a comment"]),
                _ => $"« Previous 1 2 3 … {3 + s.Below(20)} Next »",
            };
        }

        string RussianBoilerplate()
        {
            string site = Any(Sites);
            return s.Below(5) switch
            {
                0 => "Мы используем файлы cookie, чтобы сайт работал лучше. Продолжая пользоваться сайтом, вы соглашаетесь с этим. Принять",
                1 => $"Подпишитесь на нашу рассылку и получайте новости {site} первыми!",
                2 => $"Купить дёшево {Any(["палочки", "мётлы", "котлы", "телефоны"])}!!! Скидки до {10 * (1 + s.Below(9))}%!!! Жми сюда >>>",
                3 => $"© {2005 + s.Below(20)} {site}. Все права защищены.",
                _ => "Главная | Новости | Города | Реки | О нас | Контакты",
            };
        }

        /// <summary>One to three pieces of page furniture, on one line or several.</summary>
        public (string Text, string Language) Boilerplate()
        {
            bool russian = s.Below(5) == 0;
            var pieces = Enumerable.Range(0, 1 + s.Below(3)).Select(_ => russian ? RussianBoilerplate() : EnglishBoilerplate()).ToList();
            return (string.Join(s.Below(2) == 0 ? "\n" : " ", pieces), russian ? "ru" : "en");
        }

        // ---- encoding garbage ------------------------------------------------------------------------------------

        /// <summary>Windows-1252 bytes 0x80–0x9F (the rest is Latin-1); the five undefined bytes stay C1 controls.</summary>
        const string Cp1252High = "€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ";
        /// <summary>Windows-1251 bytes 0x80–0xBF (0xC0–0xFF are А–я); 0x98 is undefined.</summary>
        const string Cp1251High = "ЂЃ‚ѓ„…†‡€‰Љ‹ЊЌЋЏђ‘’“”•–—\u0098™љ›њќћџ\u00A0ЎўЈ¤Ґ¦§Ё©Є«¬\u00AD®Ї°±Ііґµ¶·ё№є»јЅѕї";

        /// <summary>The UTF-8 bytes of <paramref name="text"/> read as Windows-1252 ("é" → "Ã©", "р" → "Ñ€").</summary>
        internal static string AsCp1252(string text) =>
            string.Concat(Encoding.UTF8.GetBytes(text).Select(b => b is >= 0x80 and <= 0x9F ? Cp1252High[b - 0x80] : (char)b));

        /// <summary>The UTF-8 bytes of <paramref name="text"/> read as Windows-1251 ("Мира" → "РњРёСЂР°").</summary>
        internal static string AsCp1251(string text) =>
            string.Concat(Encoding.UTF8.GetBytes(text).Select(b => b < 0x80 ? (char)b : b < 0xC0 ? Cp1251High[b - 0x80] : (char)('А' + b - 0xC0)));

        /// <summary>Text saved as Windows-1251/1252 and read as UTF-8: every non-ASCII letter becomes U+FFFD.</summary>
        internal static string LegacyBytesReadAsUtf8(string text)
        {
            var bytes = text.Select(c => c < 0x80 ? (byte)c
                : c is >= 'А' and <= 'я' ? (byte)(0xC0 + c - 'А')
                : c == 'ё' ? (byte)0xB8 : c == 'Ё' ? (byte)0xA8
                : Cp1252High.IndexOf(c) is >= 0 and var i ? (byte)(0x80 + i) : (byte)'?').ToArray();
            return Encoding.UTF8.GetString(bytes);
        }

        /// <summary>English with typographic punctuation (’ “ ” —), as a web page would have it.</summary>
        static string Typographic(string text)
        {
            var sb = new StringBuilder();
            bool open = true;
            foreach (char c in text)
                sb.Append(c switch { '\'' => '’', '"' => (open = !open) ? '”' : '“', _ => c });
            string t = ReplaceFirst(sb.ToString(), ", ", " — ");
            return t == text ? t + " — TinyWorld" : t;
        }

        public (string Text, string Language) EncodingGarbage(IReadOnlyList<CorpusDocument> clean)
        {
            var source = Any(clean);
            string text = source.Language == "en" ? Typographic(source.Text) : source.Text;
            string garbled = s.Below(10) switch
            {
                < 4 => AsCp1252(text),
                < 6 => source.Language == "ru" ? AsCp1251(text) : AsCp1252(text),
                < 8 => LegacyBytesReadAsUtf8(text),
                _ => SymbolNoise(source.Text),
            };
            // Sometimes only the second half of the page went wrong.
            if (s.Below(4) == 0)
            {
                int cut = text.IndexOf(". ", text.Length / 2, StringComparison.Ordinal);
                if (cut > 0 && garbled.Length > 0)
                {
                    string head = source.Text[..Math.Min(cut + 2, source.Text.Length)];
                    string tail = text[Math.Min(cut + 2, text.Length)..];
                    string gTail = s.Below(2) == 0 ? AsCp1252(tail) : SymbolNoise(tail);
                    if (gTail != tail) garbled = head + gTail;
                }
            }
            return (garbled, source.Language);
        }

        const string Symbols = "#$%&*+=<>@^~|{}[]\\/_0123456789";

        string SymbolNoise(string text)
        {
            var chars = text.ToCharArray();
            for (int i = 0; i < chars.Length; i++)
                if (chars[i] != ' ' && s.Below(10) < 4) chars[i] = Symbols[s.Below(Symbols.Length)];
            return new string(chars);
        }

        // ---- wrong language --------------------------------------------------------------------------------------

        static readonly (string Language, string[] Sentences)[] Foreign =
        [
            ("de", ["{T} ist eine kleine Stadt am Fluss {R}.", "Dort leben etwa {N} Menschen.", "Die Stadt ist bekannt für ihren Markt und ihre alte Brücke.",
                    "Im Sommer kommen viele Besucher in die Stadt.", "Die Kinder spielen gern am Ufer des Flusses.", "{P} wohnt in {T} und arbeitet jeden Tag im Garten.",
                    "Das Wetter ist oft kalt und es regnet viel."]),
            ("es", ["{T} es un pueblo pequeño junto al río {R}.", "Allí viven unas {N} personas.", "El pueblo es famoso por su mercado y su puente viejo.",
                    "En verano muchos visitantes llegan a la ciudad.", "Los niños juegan en la orilla del río.", "{P} vive en {T} y trabaja todos los días en el jardín.",
                    "El tiempo es frío y llueve mucho."]),
            ("fr", ["{T} est une petite ville au bord de la rivière {R}.", "Environ {N} personnes y habitent.", "La ville est connue pour son marché et son vieux pont.",
                    "En été, beaucoup de visiteurs viennent dans la ville.", "Les enfants jouent au bord de la rivière.", "{P} habite à {T} et travaille tous les jours dans le jardin.",
                    "Il fait souvent froid et il pleut beaucoup."]),
            ("pl", ["{T} to małe miasto nad rzeką {R}.", "Mieszka tam około {N} osób.", "Miasto jest znane ze swojego rynku i starego mostu.",
                    "Latem do miasta przyjeżdża wielu gości.", "Dzieci lubią bawić się nad brzegiem rzeki.", "{P} mieszka w {T} i codziennie pracuje w ogrodzie.",
                    "Pogoda jest często zimna i dużo pada."]),
            ("it", ["{T} è una piccola città sul fiume {R}.", "Ci vivono circa {N} persone.", "La città è famosa per il suo mercato e il suo vecchio ponte.",
                    "In estate molti visitatori arrivano in città.", "I bambini giocano sulla riva del fiume.", "{P} abita a {T} e lavora ogni giorno nel giardino.",
                    "Il tempo è spesso freddo e piove molto."]),
            ("nl", ["{T} is een kleine stad aan de rivier de {R}.", "Er wonen ongeveer {N} mensen.", "De stad is bekend om haar markt en haar oude brug.",
                    "In de zomer komen er veel bezoekers naar de stad.", "De kinderen spelen graag aan de oever van de rivier.", "{P} woont in {T} en werkt elke dag in de tuin.",
                    "Het weer is vaak koud en het regent veel."]),
        ];

        string ForeignText(string[] sentences, int count)
        {
            var town = Any(cast.Towns);
            var person = Any(cast.People);
            var order = Enumerable.Range(0, sentences.Length).ToList();
            for (int i = order.Count - 1; i > 0; i--) { int j = s.Below(i + 1); (order[i], order[j]) = (order[j], order[i]); }
            return string.Join(" ", order.Take(count).Select(i => sentences[i]
                .Replace("{T}", town.Name.En).Replace("{R}", town.River.Name.En).Replace("{P}", person.Name.En)
                .Replace("{N}", town.Population.ToString(CultureInfo.InvariantCulture))));
        }

        /// <summary>A page in another language, or (one time in three) an English page with a foreign paragraph.</summary>
        public (string Text, string Language) WrongLanguage()
        {
            var (language, sentences) = Any(Foreign);
            if (s.Below(3) == 0)
            {
                double nats = s.Nats;
                string page = english.Story();
                s.Nats = nats;
                return (page + "\n" + ForeignText(sentences, 2 + s.Below(2)), language);
            }
            return (ForeignText(sentences, 3 + s.Below(4)), language);
        }
    }
}
