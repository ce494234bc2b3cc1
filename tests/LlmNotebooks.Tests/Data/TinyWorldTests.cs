using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using LlmNotebooks.Data;

namespace LlmNotebooks.Tests.Data;

public class TinyWorldTests
{
    static readonly IReadOnlyList<CorpusDocument> Corpus = TinyWorld.Generate();
    static string Folder => Path.Combine(TestSetup.RepoRoot, "datasets", "tinyworld");

    /// <summary>
    /// Regenerates the committed dataset when TINYWORLD_REGENERATE=1:
    /// <c>TINYWORLD_REGENERATE=1 dotnet test tests/LlmNotebooks.Tests --filter "FullyQualifiedName~TinyWorldTests"</c>.
    /// Otherwise checks that a fresh generation with the manifest's seed gives the committed files byte for byte.
    /// </summary>
    [Fact]
    public void Committed_files_are_exactly_what_the_generator_writes()
    {
        if (Environment.GetEnvironmentVariable("TINYWORLD_REGENERATE") == "1") TinyWorld.WriteDataset(Folder);
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Folder, "manifest.json")));
        Assert.Equal(TinyWorld.GeneratorVersion, manifest.RootElement.GetProperty("generatorVersion").GetInt32());
        ulong seed = manifest.RootElement.GetProperty("seed").GetUInt64();
        var fresh = TinyWorld.DatasetFileBytes(seed);
        foreach (var entry in manifest.RootElement.GetProperty("files").EnumerateArray())
        {
            string name = entry.GetProperty("name").GetString()!;
            var committed = File.ReadAllBytes(Path.Combine(Folder, name));
            Assert.Equal(entry.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(committed)));
            Assert.True(fresh.Single(f => f.Name == name).Bytes.AsSpan().SequenceEqual(committed), $"{name} differs from a fresh generation");
        }
        Assert.True(fresh.Single(f => f.Name == "manifest.json").Bytes.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(Folder, "manifest.json"))));
    }

    [Fact]
    public void LoadDataset_gives_back_the_generated_documents()
    {
        var loaded = TinyWorld.LoadDataset(Folder);
        Assert.Equal(Corpus.Select(d => (d.Id, d.Text, d.Label, d.Language, d.SourceId)), loaded.Select(d => (d.Id, d.Text, d.Label, d.Language, d.SourceId)));
        Assert.All(Corpus.Zip(loaded), p => Assert.Equal(p.First.Nats, p.Second.Nats, 1e-6));
    }

    [Fact]
    public void Same_seed_gives_the_same_corpus_and_another_seed_a_different_one()
    {
        var again = TinyWorld.Generate();
        Assert.Equal(Corpus, again);
        var other = TinyWorld.Generate(7);
        Assert.NotEqual(Corpus.Take(50).Select(d => d.Text), other.Take(50).Select(d => d.Text));
    }

    [Fact]
    public void Size_and_label_counts_are_in_the_planned_ranges()
    {
        long Bytes(IEnumerable<CorpusDocument> docs) => docs.Sum(d => (long)Encoding.UTF8.GetByteCount(d.Text));
        var clean = Corpus.Where(d => d.Label == DocumentLabel.Clean).ToList();
        Assert.InRange(Bytes(Corpus), 2_500_000, 3_000_000);
        Assert.InRange(Bytes(clean), 2_000_000, 2_500_000);
        Assert.InRange(clean.Count(d => d.Language == "ru") / (double)clean.Count, 0.12, 0.18);
        double dirt = 1 - clean.Count / (double)Corpus.Count;
        Assert.InRange(dirt, 0.15, 0.20);
        foreach (var label in Enum.GetValues<DocumentLabel>().Where(l => l != DocumentLabel.Clean))
            Assert.InRange(Corpus.Count(d => d.Label == label) / (double)Corpus.Count, 0.015, 0.06);
        Assert.Equal(Corpus.Select((_, i) => i), Corpus.Select(d => d.Id));
    }

    [Fact]
    public void Duplicates_come_after_their_clean_source()
    {
        foreach (var d in Corpus.Where(d => d.Label is DocumentLabel.ExactDuplicate or DocumentLabel.NearDuplicate))
        {
            var source = Corpus[d.SourceId!.Value];
            Assert.True(source.Id < d.Id);
            Assert.Equal(DocumentLabel.Clean, source.Label);
            Assert.Equal(source.Language, d.Language);
            if (d.Label == DocumentLabel.ExactDuplicate) Assert.Equal(source.Text, d.Text);
            else Assert.NotEqual(source.Text, d.Text);
        }
        Assert.All(Corpus.Where(d => d.Label is not (DocumentLabel.ExactDuplicate or DocumentLabel.NearDuplicate)), d => Assert.Null(d.SourceId));
    }

    [Fact]
    public void Clean_documents_carry_their_information_and_dirt_none()
    {
        Assert.All(Corpus.Where(d => d.Label == DocumentLabel.Clean), d => Assert.True(d.Nats > 5, $"document {d.Id}: {d.Nats} nats"));
        Assert.All(Corpus.Where(d => d.Label != DocumentLabel.Clean), d => Assert.Equal(0, d.Nats));
        // No two clean documents are the same text (so no clean document is an unlabelled duplicate).
        Assert.Equal(Corpus.Count(d => d.Label == DocumentLabel.Clean), Corpus.Where(d => d.Label == DocumentLabel.Clean).Select(d => d.Text).Distinct().Count());
    }

    [Theory]
    [InlineData("en", @"\btook the (\w+)\.")]
    [InlineData("ru", @"\bвзяла? (?:волшебную )?(\w+)\.")]
    public void Took_the_follows_its_distribution(string language, string pattern)
    {
        var distribution = TinyWorld.TookTheDistribution(language);
        Assert.Equal(1.0, distribution.Sum(w => w.Probability), 1e-12);
        var taken = Corpus.Where(d => d.Label == DocumentLabel.Clean && d.Language == language)
            .SelectMany(d => Regex.Matches(d.Text, pattern).Select(m => m.Groups[1].Value)).ToList();
        Assert.True(taken.Count > 100, $"only {taken.Count} matches");
        Assert.All(taken, w => Assert.Contains(w, distribution.Select(p => p.Word)));   // nothing else is ever "taken"
        foreach (var (word, p) in distribution)
        {
            double tolerance = 3 * Math.Sqrt(p * (1 - p) / taken.Count) + 0.01;   // three standard errors of a sampled share
            Assert.InRange(taken.Count(w => w == word) / (double)taken.Count, p - tolerance, p + tolerance);
        }
    }

    [Fact]
    public void A_tampered_file_is_named_with_how_to_regenerate()
    {
        string copy = Path.Combine(Path.GetTempPath(), "tinyworld-tamper-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(copy);
        try
        {
            foreach (var name in new[] { "raw.txt", "labels.tsv", "manifest.json" })
                File.Copy(Path.Combine(Folder, name), Path.Combine(copy, name));
            File.AppendAllText(Path.Combine(copy, "labels.tsv"), "x");
            var e = Assert.Throws<InvalidDataException>(() => TinyWorld.LoadDataset(copy));
            Assert.Contains("labels.tsv", e.Message);
            Assert.Contains("WriteDataset", e.Message);
        }
        finally { Directory.Delete(copy, recursive: true); }
    }

    [Fact]
    public void DatasetFolder_is_found_from_the_checkout() =>
        Assert.Equal(Path.GetFullPath(Folder), Path.GetFullPath(TinyWorld.DatasetFolder));
}
