using LlmNotebooks.Data;
using LlmNotebooks.Data.Cleaning;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;
using LlmNotebooks.Recipe;

namespace LlmNotebooks.Tests.Recipe;

public class CourseModelTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("llmnb-course-").FullName;
    public void Dispose() => Directory.Delete(_folder, recursive: true);

    static CorpusDocument Doc(int id, string text) => new(id, text, DocumentLabel.Clean, "en", null, 1);

    [Fact]
    public void Every_twentieth_document_is_held_out_and_documents_end_with_the_separator()
    {
        var docs = Enumerable.Range(0, 100).Select(i => Doc(i, $"doc {i}")).ToList();
        var (train, validation) = CourseModel.Split(docs);
        Assert.Equal(95, train.Count);
        Assert.Equal(new[] { 19, 39, 59, 79, 99 }, validation.Select(d => d.Id));
        Assert.Equal("doc 0<|endoftext|>doc 1<|endoftext|>", CourseModel.Join(docs.Take(2)));
    }

    [Fact]
    public void The_recipes_documents_are_the_cleaned_corpus_split_one_in_twenty_with_no_overlap()
    {
        var (train, validation) = CourseModel.Documents();
        var raw = TinyWorld.LoadDataset();
        Assert.Equal(new CorpusCleaner().Clean(raw.Select(d => d.Text).ToList()).Kept.Count, train.Count + validation.Count);
        Assert.Empty(train.Select(d => d.Id).Intersect(validation.Select(d => d.Id)));
        Assert.InRange(validation.Count, (train.Count + validation.Count) / 20, (train.Count + validation.Count) / 20 + 1);
        Assert.Equal(validation.Count, CourseModel.PrepareData().ValidationDocuments);
    }

    [Fact]
    public void The_first_megabyte_never_splits_a_character()
    {
        string text = string.Concat(Enumerable.Repeat("я😀", 300_000));              // 2 + 4 bytes per pair
        string mb = CourseModel.FirstMegabyte(text);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(mb) <= CourseModel.TokenizerTrainingBytes);
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(mb) > CourseModel.TokenizerTrainingBytes - 4);
        Assert.False(char.IsHighSurrogate(mb[^1]));
        Assert.Equal("abc", CourseModel.FirstMegabyte("abc"));
    }

    [Fact]
    public void A_saved_model_loads_back_and_a_mismatched_or_missing_one_is_refused_with_a_reason()
    {
        Assert.Null(CourseModel.TryLoad(out string reason, _folder));
        Assert.Contains("no saved course model", reason);

        using var model = CourseModel.CreateModel();
        var tokenizer = BpeTokenizer.Train("Mira took the wand. Tim took the broom.", CourseModel.VocabSize, [CourseModel.EndOfText]);
        // A tiny text cannot fill 2,048 tokens; pad the vocabulary by refusing such a tokenizer instead.
        if (tokenizer.VocabSize != CourseModel.VocabSize)
        {
            Assert.Throws<ArgumentException>(() => CourseModel.Save(model, tokenizer, new TrainingHistory(), _folder));
            tokenizer = BpeTokenizer.Train(string.Join(" ", Enumerable.Range(0, 40_000).Select(i => $"w{i * 7919 % 100_003}")), CourseModel.VocabSize, [CourseModel.EndOfText]);
        }
        Assert.Equal(CourseModel.VocabSize, tokenizer.VocabSize);
        CourseModel.Save(model, tokenizer, new TrainingHistory(), _folder);
        var loaded = CourseModel.TryLoad(out reason, _folder);
        Assert.NotNull(loaded);
        using (var m = loaded!.Value.Model)
            foreach (var (a, b) in model.parameters().Zip(m.parameters())) Assert.True(a.eq(b).all().item<bool>());
        Assert.Equal(tokenizer.Merges, loaded.Value.Tokenizer.Merges);

        // A tokenizer that does not belong to the model is noticed.
        BpeTokenizer.Train("other text entirely, other merges", 300, [CourseModel.EndOfText]).Save(Path.Combine(_folder, "tokenizer.bpe"));
        Assert.Null(CourseModel.TryLoad(out reason, _folder));
        Assert.Contains("does not belong", reason);

        // A truncated model file is refused, not loaded.
        CourseModel.Save(model, tokenizer, new TrainingHistory(), _folder);
        string modelPath = Path.Combine(_folder, "model.safetensors");
        File.WriteAllBytes(modelPath, File.ReadAllBytes(modelPath)[..1000]);
        Assert.Null(CourseModel.TryLoad(out reason, _folder));
        Assert.Contains("unreadable", reason);
    }
}
