using System.Globalization;
using System.Text;
using LlmNotebooks.Data;
using LlmNotebooks.Data.Cleaning;
using LlmNotebooks.Platform;
using LlmNotebooks.Tensors;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;
using LlmNotebooks.Serialization;
using static TorchSharp.torch;

namespace LlmNotebooks.Recipe;

/// <summary>
/// The course's own pretrained model: chapter 4 trains it step by step, and chapters 5 and 6 fine-tune it. This class
/// holds the recipe (data split, tokenizer, config, training options, seed), so that any chapter can rebuild exactly
/// the same model when the saved one is missing or stale:
/// <code>
/// var (model, tokenizer) = CourseModel.LoadOrTrain();   // loads artifacts/models/course-gpt, or retrains (≈ 2 minutes)
/// </code>
/// Recipe: TinyWorld → <see cref="CorpusCleaner"/> → every 20th kept document to validation → documents joined with
/// &lt;|endoftext|&gt; → a byte-level BPE with <see cref="VocabSize"/> tokens trained on the first megabyte of the
/// training text → <see cref="Config"/> trained with <see cref="Options"/> from seed <see cref="Seed"/>.
/// </summary>
public static class CourseModel
{
    /// <summary>Separates documents; the model learns where a text ends.</summary>
    public const string EndOfText = "<|endoftext|>";
    /// <summary>1,791 merges + 256 bytes + the end-of-text token.</summary>
    public const int VocabSize = 2048;
    /// <summary>The course seed (<see cref="Defaults.Seed"/>), from which the model is initialised and trained.</summary>
    public const int Seed = (int)Defaults.Seed;
    /// <summary>Bump when the recipe changes; saved models from another version are retrained.</summary>
    public const int RecipeVersion = 2;
    /// <summary>The tokenizer trains on this many UTF-8 bytes from the start of the training text.</summary>
    public const int TokenizerTrainingBytes = 1 << 20;

    /// <summary>4 layers × 4 heads × 128 wide, a context of 64 tokens: about 1.06 M parameters.</summary>
    public static GptConfig Config { get; } = new(VocabSize, BlockSize: 64, Layers: 4, Heads: 4, Channels: 128);

    /// <summary>About two minutes on two CPU cores.</summary>
    public static TrainerOptions Options { get; } = new()
    {
        Steps = 1200, BatchSize = 16, MaxLr = 3e-3, MinLr = 3e-4, WarmupSteps = 60, WeightDecay = 0.1, GradClip = 1.0,
        EvalEvery = 100, EvalBatches = 8, Seed = Seed, Title = "course model",
    };

    /// <summary>&lt;repo&gt;/artifacts/models/course-gpt: model.safetensors and tokenizer.bpe (the default folder of every method that takes one).</summary>
    public static string Folder => Path.Combine(Checkout.Root, "artifacts", "models", "course-gpt");
    const string ModelFile = "model.safetensors", TokenizerFile = "tokenizer.bpe";

    /// <summary>Every 20th document (by position) goes to validation, the rest to training.</summary>
    public static (List<CorpusDocument> Train, List<CorpusDocument> Validation) Split(IReadOnlyList<CorpusDocument> documents) =>
        (documents.Where((_, i) => i % 20 != 19).ToList(), documents.Where((_, i) => i % 20 == 19).ToList());

    /// <summary>The documents' texts, each followed by <see cref="EndOfText"/>.</summary>
    public static string Join(IEnumerable<CorpusDocument> documents)
    {
        var sb = new StringBuilder();
        foreach (var d in documents) sb.Append(d.Text).Append(EndOfText);
        return sb.ToString();
    }

    /// <summary>The longest prefix of <paramref name="text"/> with at most <see cref="TokenizerTrainingBytes"/> UTF-8 bytes (never splitting a character).</summary>
    public static string FirstMegabyte(string text)
    {
        long bytes = 0;
        int i = 0;
        while (i < text.Length)
        {
            int width = char.IsHighSurrogate(text[i]) && i + 1 < text.Length ? 2 : 1;
            int size = Encoding.UTF8.GetByteCount(text.AsSpan(i, width));
            if (bytes + size > TokenizerTrainingBytes) break;
            bytes += size;
            i += width;
        }
        return text[..i];
    }

    /// <summary>The tokenizer and token streams of the recipe, and the entropy floor of the validation text (nats per token).</summary>
    public sealed record PreparedData(BpeTokenizer Tokenizer, TokenBatches Train, TokenBatches Validation, double Floor, int TrainDocuments, int ValidationDocuments);

    /// <summary>
    /// The recipe's documents: TinyWorld cleaned as chapter 4 cleans it (<see cref="CorpusCleaner"/>), then split by
    /// <see cref="Split"/>. The validation documents are the ones the course model never trained on (chapter 5 measures
    /// forgetting on them).
    /// </summary>
    public static (List<CorpusDocument> Train, List<CorpusDocument> Validation) Documents()
    {
        var raw = TinyWorld.LoadDataset();
        var kept = new CorpusCleaner().Clean(raw.Select(d => d.Text).ToList()).Kept.Select(i => raw[i]).ToList();
        return Split(kept);
    }

    /// <summary>Runs the data part of the recipe: load, clean, split (<see cref="Documents"/>), train the tokenizer, encode (a few seconds).</summary>
    public static PreparedData PrepareData()
    {
        var (train, validation) = Documents();
        string trainText = Join(train), validationText = Join(validation);
        var tokenizer = BpeTokenizer.Train(FirstMegabyte(trainText), VocabSize, [EndOfText]);
        var validationTokens = tokenizer.Encode(validationText);
        return new PreparedData(tokenizer, new TokenBatches(tokenizer.Encode(trainText), Config.BlockSize), new TokenBatches(validationTokens, Config.BlockSize),
                                validation.Sum(d => d.Nats) / validationTokens.Count, train.Count, validation.Count);
    }

    /// <summary>
    /// A freshly initialised course model (seeded, so always the same initial weights). The initialisation draws from
    /// torch's global generator, seeded with <see cref="Seed"/> for the call and then restored
    /// (<see cref="TorchRandom.Seeded"/>): the caller's later random numbers do not depend on this call.
    /// </summary>
    public static Gpt CreateModel()
    {
        using (TorchRandom.Seeded(Seed)) return new Gpt(Config);
    }

    /// <summary>Trains the course model from scratch with the recipe and saves it (about two minutes).</summary>
    public static (Gpt Model, BpeTokenizer Tokenizer, TrainingHistory History) Train(string? folder = null)
    {
        var data = PrepareData();
        var model = CreateModel();
        using var trainer = new Trainer(model, data.Train, data.Validation, Options);
        var history = trainer.Run();
        Save(model, data.Tokenizer, history, folder);
        return (model, data.Tokenizer, history);
    }

    /// <summary>
    /// Saves the model and tokenizer into <see cref="Folder"/> (both written atomically). The model's metadata records
    /// the recipe version, the dataset's manifest hash and the tokenizer's hash, which <see cref="TryLoad"/> checks.
    /// </summary>
    public static void Save(Gpt model, BpeTokenizer tokenizer, TrainingHistory history, string? folder = null)
    {
        folder ??= Folder;
        string ModelPath = Path.Combine(folder, ModelFile), TokenizerPath = Path.Combine(folder, TokenizerFile);
        if (model.Config != Config) throw new ArgumentException($"This is not the course model's config: {model.Config}; expected {Config}.", nameof(model));
        if (tokenizer.VocabSize != VocabSize) throw new ArgumentException($"The course tokenizer has {VocabSize} tokens, this one {tokenizer.VocabSize}.", nameof(tokenizer));
        tokenizer.Save(TokenizerPath);
        Checkpoint.Save(model, ModelPath, new Dictionary<string, string>
        {
            ["recipe_version"] = RecipeVersion.ToString(CultureInfo.InvariantCulture),
            ["dataset_manifest_sha256"] = DatasetHash(),
            ["tokenizer_sha256"] = FileHash(TokenizerPath),
            ["validation_loss"] = history.LastValidationLoss.ToString("R", CultureInfo.InvariantCulture),
            ["train_tokens"] = history.Tokens.ToString(CultureInfo.InvariantCulture),
            ["tokens_per_second"] = history.TokensPerSecond.ToString("F0", CultureInfo.InvariantCulture),
        });
    }

    /// <summary>
    /// Loads the saved course model and tokenizer when both are present and valid (same recipe version, same dataset,
    /// matching tokenizer, shapes checked); otherwise returns null with the reason.
    /// </summary>
    public static (Gpt Model, BpeTokenizer Tokenizer)? TryLoad(out string reason, string? folder = null)
    {
        folder ??= Folder;
        string ModelPath = Path.Combine(folder, ModelFile), TokenizerPath = Path.Combine(folder, TokenizerFile);
        if (!File.Exists(ModelPath) || !File.Exists(TokenizerPath))
        {
            reason = $"no saved course model in {folder}";
            return null;
        }
        try
        {
            var metadata = SafetensorsFile.ReadMetadata(ModelPath);
            string Get(string key) => metadata.TryGetValue(key, out var v) ? v : "";
            if (Get("recipe_version") != RecipeVersion.ToString(CultureInfo.InvariantCulture)) { reason = $"it was made by recipe version '{Get("recipe_version")}', this is {RecipeVersion}"; return null; }
            if (Get("dataset_manifest_sha256") != DatasetHash()) { reason = "the TinyWorld dataset has changed since it was trained"; return null; }
            if (Get("tokenizer_sha256") != FileHash(TokenizerPath)) { reason = "tokenizer.bpe does not belong to model.safetensors"; return null; }
            if (Checkpoint.ReadGptConfig(ModelPath) != Config) { reason = "its config differs from CourseModel.Config"; return null; }
            var tokenizer = BpeTokenizer.Load(TokenizerPath);
            var model = Checkpoint.LoadGpt(ModelPath);
            reason = "";
            return (model, tokenizer);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or FormatException)
        {
            reason = $"the saved files are unreadable ({e.Message})";
            return null;
        }
    }

    /// <summary>The saved course model when it is valid; otherwise it is retrained with the recipe (deterministically) and saved.</summary>
    public static (Gpt Model, BpeTokenizer Tokenizer) LoadOrTrain(Action<string>? log = null, string? folder = null)
    {
        log ??= Console.WriteLine;
        folder ??= Folder;
        if (TryLoad(out string reason, folder) is { } loaded)
        {
            log($"Loaded the course model from {folder}.");
            return loaded;
        }
        log($"Training the course model from scratch (about two minutes): {reason}.");
        var (model, tokenizer, history) = Train(folder);
        log($"Saved to {folder}: validation loss {history.LastValidationLoss:F3}.");
        return (model, tokenizer);
    }

    static string DatasetHash() => FileHash(Path.Combine(TinyWorld.DatasetFolder, "manifest.json"));

    static string FileHash(string path) => Hashes.Sha256Hex(File.ReadAllBytes(path));
}
