using System.Diagnostics;
using LlmNotebooks.Data;
using LlmNotebooks.Data.Cleaning;

namespace LlmNotebooks.Tests.Data;

public class CleaningTests
{
    const string Story = "One day, Mira Belwood went to the market in Brindle. She wanted to buy a gift for a friend. On the way, she saw a small dorlin " +
                         "under a tree. The dorlin was hungry and had not eaten all day. Mira gave it a piece of bread. The dorlin jumped with joy.";
    const string Other = "Tamford is a big town on the Velmara River. About 24,500 people live there. It is known for its salt and its glass. " +
                         "The town has an old stone bridge. It was founded in the year 1419.";
    const string Russian = "Однажды Мира пошла на рынок в городе Брален. Она хотела найти подарок для друга. По дороге она увидела маленького дорлина.";

    static readonly CorpusCleaner Cleaner = new();

    static string? StageOf(CleaningResult r, int index) => r.Removed.SingleOrDefault(x => x.Index == index)?.Stage;

    [Fact]
    public void Exact_duplicates_go_and_the_first_copy_stays()
    {
        var r = Cleaner.Clean([Story, Other, "  " + Story.ToUpperInvariant().Replace(". ", ".\n "), Story]);
        Assert.Equal([0, 1], r.Kept);
        Assert.All(r.Removed, x => Assert.Equal((CorpusCleaner.ExactDedup, 0), (x.Stage, x.DuplicateOf!.Value)));
    }

    [Fact]
    public void A_near_duplicate_with_a_few_words_changed_is_caught_and_an_unrelated_document_is_not()
    {
        string edited = Story.Replace("small", "tiny").Replace("hungry", "sad") + " Read more...";
        Assert.InRange(MinHash.Jaccard(Story, edited), 0.7, 0.95);
        var r = Cleaner.Clean([Story, Other, edited]);
        Assert.Equal([0, 1], r.Kept);
        Assert.Equal(CorpusCleaner.NearDedup, StageOf(r, 2));
        Assert.Equal(0, r.Removed.Single().DuplicateOf);
    }

    [Fact]
    public void MinHash_estimates_are_close_to_the_exact_Jaccard_similarity()
    {
        var docs = TinyWorld.Generate().Where(d => d.Label == DocumentLabel.Clean).Take(60).Select(d => d.Text).ToList();
        var pairs = Enumerable.Range(0, 40).Select(i => (docs[i], docs[(i * 7 + 3) % docs.Count])).ToList();
        // Add similar pairs too: each text against a copy with a sentence dropped.
        pairs.AddRange(docs.Take(20).Select(d => (d, string.Join(". ", d.Split(". ").Skip(1)))));
        foreach (var (a, b) in pairs)
        {
            double exact = MinHash.Jaccard(a, b), estimate = MinHash.EstimatedJaccard(MinHash.Signature(a), MinHash.Signature(b));
            Assert.True(Math.Abs(exact - estimate) < 0.15, $"exact {exact:F3}, estimate {estimate:F3}");   // ~3.5 standard errors at 128 hashes
        }
        Assert.Equal(1.0, MinHash.EstimatedJaccard(MinHash.Signature(Story), MinHash.Signature(Story.Replace(",", " ,  "))));
    }

    [Theory]
    [InlineData("Mira went to the market in Brindle. She saw a dorlin â€” a small one.", "mojibake")]
    [InlineData("Ð\u009cÐ¸Ñ€Ð° Ð¿Ð¾ÑˆÐ»Ð° Ð½Ð° Ñ€Ñ‹Ð½Ð¾Ðº.", "mojibake")]
    [InlineData("РњРёСЂР° РїРѕС€Р»Р° РЅР° СЂС‹РЅРѕРє РІ РіРѕСЂРѕРґРµ.", "mojibake")]
    [InlineData("\uFFFD\uFFFD\uFFFD\uFFFD \uFFFD\uFFFD\uFFFD\uFFFD\uFFFD \uFFFD\uFFFD \uFFFD\uFFFD\uFFFD\uFFFD\uFFFD.", "encoding")]
    [InlineData("Buy cheap wands online!!! Best prices, free shipping. Click here >>> www.magicdeals.com", "boilerplate")]
    [InlineData("We use cookies to give you the best experience on our website. Accept all | Manage settings", "boilerplate")]
    [InlineData("HOT DEALS on brooms!!! Only today -40% off. Buy now!!!", "spam")]
    [InlineData("Home | News | Towns | Rivers | About | Contact", "navigation")]
    [InlineData("43}+ Iswe#= s{u%|}d m4gi/ 4t the W\\6\\3l%*c9 8choo3 in E8d1[e4", "noise")]
    [InlineData("The lesson began.", "too short")]
    public void Heuristics_catch_garbage_and_spam(string text, string reasonStart)
    {
        var r = Cleaner.Clean([Story, text]);
        Assert.Equal(CorpusCleaner.Heuristics, StageOf(r, 1));
        Assert.StartsWith(reasonStart, r.Removed.Single().Reason);
    }

    [Fact]
    public void A_German_document_and_a_German_line_go_while_English_and_Russian_stay()
    {
        const string German = "Tamford ist eine kleine Stadt am Fluss Velmara. Dort leben etwa 4200 Menschen. Die Kinder spielen gern am Ufer des Flusses.";
        var r = Cleaner.Clean([Story, German, Russian, Other + "\nDas Wetter ist oft kalt und es regnet viel."]);
        Assert.Equal([0, 2], r.Kept);
        Assert.Equal("language: de", r.Removed.Single(x => x.Index == 1).Reason);
        Assert.Equal("language: line 2 is de", r.Removed.Single(x => x.Index == 3).Reason);
    }

    [Theory]
    [InlineData("The cat sat on the mat and looked at the dog.", "en")]
    [InlineData("Кошка сидела на коврике и смотрела на собаку.", "ru")]
    [InlineData("Die Katze sitzt auf der Matte und schaut den Hund an.", "de")]
    [InlineData("El gato está en la alfombra y mira al perro.", "es")]
    [InlineData("Le chat est sur le tapis et regarde le chien.", "fr")]
    [InlineData("Kot siedzi na macie i patrzy na psa.", "pl")]
    [InlineData("12345 !!! ...", "unknown")]
    public void LanguageId_tells_the_languages_apart(string text, string expected) => Assert.Equal(expected, LanguageId.Detect(text));

    [Fact]
    public void On_the_committed_corpus_precision_and_recall_are_at_least_95_percent_in_a_few_seconds()
    {
        var docs = TinyWorld.LoadDataset(Path.Combine(TestSetup.RepoRoot, "datasets", "tinyworld"));
        var clock = Stopwatch.StartNew();
        var result = Cleaner.Clean(docs.Select(d => d.Text).ToList());
        Assert.True(clock.Elapsed.TotalSeconds < 15, $"cleaning took {clock.Elapsed.TotalSeconds:F1} s");
        var scores = CleaningEvaluation.Score(result, docs);
        var overall = scores.Single(s => s.Stage == "overall");
        Assert.True(overall.Precision >= 0.95 && overall.Recall >= 0.95, $"{overall}");
        Assert.All(scores, s => Assert.True(s.Precision >= 0.9, $"{s}"));
        foreach (var label in CleaningEvaluation.ByLabel(result, docs))
            if (label.Label == DocumentLabel.Clean) Assert.True(label.Share <= 0.02, $"{label}");
            else Assert.True(label.Share >= 0.9, $"{label}");
    }
}
