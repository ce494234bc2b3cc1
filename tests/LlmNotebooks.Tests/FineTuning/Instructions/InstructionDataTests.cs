using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using LlmNotebooks.Recipe;
using LlmNotebooks.Data;
using LlmNotebooks.Data.Cleaning;
using LlmNotebooks.FineTuning.Instructions;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;
using Xunit.Abstractions;

namespace LlmNotebooks.Tests.FineTuning.Instructions;

/// <summary>The course tokenizer, trained exactly as <see cref="CourseModel.PrepareData"/> trains it (a few seconds, once per test run).</summary>
static class CourseTokenizer
{
    static readonly Lazy<BpeTokenizer> Trained = new(() =>
    {
        var raw = TinyWorld.LoadDataset();
        var kept = new CorpusCleaner().Clean(raw.Select(d => d.Text).ToList()).Kept.Select(i => raw[i]).ToList();
        var (train, _) = CourseModel.Split(kept);
        return BpeTokenizer.Train(CourseModel.FirstMegabyte(CourseModel.Join(train)), CourseModel.VocabSize, [CourseModel.EndOfText]);
    });

    public static BpeTokenizer Value => Trained.Value;
}

public class InstructionDataTests(ITestOutputHelper output)
{
    static readonly InstructionData.InstructionSet Set = InstructionData.Generate();
    static string Folder => Path.Combine(TestSetup.RepoRoot, "datasets", "instructions");

    /// <summary>
    /// Regenerates the committed set when INSTRUCTIONS_REGENERATE=1:
    /// <c>INSTRUCTIONS_REGENERATE=1 dotnet test tests/LlmNotebooks.Tests --filter "FullyQualifiedName~InstructionDataTests"</c>.
    /// Otherwise checks that a fresh generation with the manifest's seed gives the committed files byte for byte.
    /// </summary>
    [Fact]
    public void Committed_files_are_exactly_what_the_generator_writes()
    {
        if (Environment.GetEnvironmentVariable("INSTRUCTIONS_REGENERATE") == "1") InstructionData.WriteDataset(Folder);
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Folder, InstructionData.ManifestFile)));
        Assert.Equal(InstructionData.GeneratorVersion, manifest.RootElement.GetProperty("generatorVersion").GetInt32());
        var fresh = InstructionData.DatasetFileBytes(manifest.RootElement.GetProperty("seed").GetUInt64());
        foreach (var (name, bytes) in fresh)
        {
            var committed = File.ReadAllBytes(Path.Combine(Folder, name));
            Assert.True(bytes.AsSpan().SequenceEqual(committed), $"{name} differs from a fresh generation");
        }
        foreach (var entry in manifest.RootElement.GetProperty("files").EnumerateArray())
            Assert.Equal(entry.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(Folder, entry.GetProperty("name").GetString()!)))));
        var (train, heldOut) = InstructionData.LoadDataset(Folder);
        Assert.Equal(Set.Train, train);
        Assert.Equal(Set.HeldOut, heldOut);
    }

    [Fact]
    public void Sizes_languages_and_uniqueness()
    {
        Assert.Equal(InstructionData.TrainCount, Set.Train.Count);
        Assert.Equal(InstructionData.HeldOutCount, Set.HeldOut.Count);
        Assert.True(Set.Train.Count >= 2000 && Set.HeldOut.Count >= 200);
        var all = Set.Train.Concat(Set.HeldOut).ToList();
        Assert.Equal(all.Count, all.Select(e => e.Instruction).Distinct(StringComparer.Ordinal).Count());
        static bool Russian(InstructionExample e) => e.Instruction.Any(c => c is >= 'а' and <= 'я' or >= 'А' and <= 'Я');
        foreach (var set in new[] { Set.Train, Set.HeldOut })
            Assert.InRange(set.Count(Russian) / (double)set.Count, 0.28, 0.42);
        Assert.All(all, e => Assert.True(e.Output.Split(' ').Length <= 10, $"answer too long: {e.Output}"));
        Assert.All(all, e => Assert.Equal(e.Output.Trim(), e.Output));
        Assert.Equal(Set.Train.Take(20), InstructionData.Generate().Train.Take(20));
        Assert.NotEqual(Set.Train.Take(20), InstructionData.Generate(7).Train.Take(20));
    }

    /// <summary>The held-out rule: no training instruction names a held-out town, river, creature, person or number; every held-out one does.</summary>
    [Fact]
    public void Held_out_questions_ask_about_entities_no_training_question_names()
    {
        var names = Set.HeldOutNamesEnglish.Concat(Set.HeldOutNamesRussian).ToList();
        var namePattern = new Regex(@"\b(?:" + string.Join("|", names.OrderByDescending(n => n.Length).Select(Regex.Escape)) + @")\b", RegexOptions.CultureInvariant);
        var numbers = Set.HeldOutNumbers.ToHashSet();
        bool NamesHeldOut(string instruction) =>
            namePattern.IsMatch(instruction) || Regex.Matches(instruction, @"\d+").Any(m => numbers.Contains(int.Parse(m.Value)));
        Assert.Equal(15 + 2 + 8 + 36, names.Count / 2);
        Assert.Equal(1000, numbers.Count);
        Assert.All(Set.Train, e => Assert.False(NamesHeldOut(e.Instruction), $"training instruction names a held-out entity: {e.Instruction}"));
        Assert.All(Set.HeldOut, e => Assert.True(NamesHeldOut(e.Instruction), $"held-out instruction names no held-out entity: {e.Instruction}"));
        output.WriteLine(string.Join("\n", Set.HeldOut.Take(8).Select(InstructionData.ToJsonLine)));
    }

    [Fact]
    public void Every_formatted_example_fits_the_course_model_s_window()
    {
        var tokenizer = InstructionTemplate.ExtendTokenizer(CourseTokenizer.Value);
        var batcher = new InstructionBatcher(tokenizer, CourseModel.Config.BlockSize);
        var (tokens, longest) = batcher.Longest(Set.Train.Concat(Set.HeldOut));
        var lengths = Set.Train.Concat(Set.HeldOut).Select(e => tokenizer.Encode(InstructionTemplate.Format(e)).Count).ToList();
        output.WriteLine($"longest formatted example: {tokens} tokens: {InstructionTemplate.Format(longest)}; mean {lengths.Average():F1}");
        Assert.True(tokens <= CourseModel.Config.BlockSize, $"{tokens} tokens: {longest}");
        Assert.All(Set.Train.Concat(Set.HeldOut), e => Assert.False(batcher.Encode(e).Truncated));
    }

    static IReadOnlyList<InstructionExample> Parse(string text) => InstructionData.Parse(Encoding.UTF8.GetBytes(text), "test.jsonl");

    [Fact]
    public void Load_reads_a_learner_s_own_file_and_round_trips()
    {
        string path = Path.Combine(Path.GetTempPath(), $"instructions-{Guid.NewGuid():N}.jsonl");
        try
        {
            var examples = new[] { new InstructionExample("Say \"hi\"\\ please", "привет\tмир"), new InstructionExample("2 + 2?", "4") };
            InstructionData.Save(path, examples);
            Assert.Equal("{\"instruction\": \"Say \\\"hi\\\"\\\\ please\", \"output\": \"привет\\tмир\"}", File.ReadAllLines(path)[0]);
            Assert.Equal(examples, InstructionData.Load(path));
        }
        finally { File.Delete(path); }
        // A byte-order mark, Windows line ends, blank lines, extra fields and key order are all fine.
        var parsed = Parse("\uFEFF{\"output\": \"b\", \"instruction\": \"a\", \"id\": 3}\r\n\r\n{\"instruction\": \"c\", \"output\": \"d\", \"input\": \"\"}\n");
        Assert.Equal([new InstructionExample("a", "b"), new InstructionExample("c", "d")], parsed);
    }

    [Fact]
    public void Bad_files_get_errors_that_name_the_line_and_the_fix()
    {
        var e = Assert.Throws<InvalidDataException>(() => Parse("{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"a\"}\n"));
        Assert.Contains("line 2", e.Message);
        Assert.Contains("missing the field \"output\"", e.Message);
        e = Assert.Throws<InvalidDataException>(() => Parse("{\"instruction\": \"a\", \"output\": \"b\"}\n\n{\"instruction\": \"a\", \"output\": \"b\"\n"));
        Assert.Contains("line 3: not valid JSON", e.Message);
        e = Assert.Throws<InvalidDataException>(() => Parse("[1, 2]\n"));
        Assert.Contains("line 1: a JSON array, not an object", e.Message);
        e = Assert.Throws<InvalidDataException>(() => Parse("{\"instruction\": 5, \"output\": \"b\"}"));
        Assert.Contains("\"instruction\" must be a string, got a number", e.Message);
        e = Assert.Throws<InvalidDataException>(() => Parse("{\"instruction\": \" \", \"output\": \"b\"}"));
        Assert.Contains("\"instruction\" is empty", e.Message);
        e = Assert.Throws<InvalidDataException>(() => Parse("{\"instruction\": \"a\", \"input\": \"x\", \"output\": \"b\"}"));
        Assert.Contains("Alpaca", e.Message);
        foreach (var empty in new[] { "", "\n\n  \n" })
            Assert.Contains("holds no examples", Assert.Throws<InvalidDataException>(() => Parse(empty)).Message);
        byte[] latin1 = [.. "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"caf"u8, 0xE9, .. "\", \"output\": \"b\"}\n"u8];
        e = Assert.Throws<InvalidDataException>(() => InstructionData.Parse(latin1, "mine.jsonl"));
        Assert.Contains("mine.jsonl, line 2: bytes that are not UTF-8", e.Message);
        Assert.Throws<FileNotFoundException>(() => InstructionData.Load("/no/such/file.jsonl"));
    }

    [Fact]
    public void A_tampered_dataset_file_is_named_with_how_to_regenerate()
    {
        string copy = Path.Combine(Path.GetTempPath(), "instructions-tamper-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(copy);
        try
        {
            foreach (var name in new[] { InstructionData.TrainFile, InstructionData.HeldOutFile, InstructionData.ManifestFile })
                File.Copy(Path.Combine(Folder, name), Path.Combine(copy, name));
            File.AppendAllText(Path.Combine(copy, InstructionData.HeldOutFile), "{\"instruction\": \"x\", \"output\": \"y\"}\n");
            var e = Assert.Throws<InvalidDataException>(() => InstructionData.LoadDataset(copy));
            Assert.Contains(InstructionData.HeldOutFile, e.Message);
            Assert.Contains("WriteDataset", e.Message);
        }
        finally { Directory.Delete(copy, recursive: true); }
    }
}
