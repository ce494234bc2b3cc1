using System.Text.RegularExpressions;
using LlmNotebooks.Platform;
using LlmNotebooks.Tensors;
using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.Serialization;

/// <summary>
/// OpenAI's pretrained GPT-2 weights, read from Hugging Face's <c>model.safetensors</c> into the course's own
/// <see cref="Gpt"/>. The library's module names already follow GPT-2's keys (wte, wpe, h.0.ln_1, h.0.attn.c_attn, …),
/// so the mapping is one to one, with one twist: GPT-2 was written with "Conv1D" layers, which store their weight as
/// (in, out) and compute x · W + b, while nn.Linear stores (out, in) and computes x · Wᵀ + b. Every c_attn, c_proj and
/// c_fc weight is therefore transposed on the way in. The output layer is the token embedding itself (tied), as in
/// the file. The attention masks some files carry (h.N.attn.bias, h.N.attn.masked_bias) are not weights and are skipped.
/// <code>
/// if (Gpt2Weights.TryFind(out var path, out var howToGet))
/// {
///     using var gpt2 = Gpt2Weights.LoadGpt2Small(path);
///     Sampler.Generate(gpt2, new Gpt2Tokenizer(), "Every effort moves", 8, SamplingOptions.Greedy);
/// }
/// else Console.WriteLine(howToGet);
/// </code>
/// </summary>
public static class Gpt2Weights
{
    /// <summary>Where Hugging Face serves GPT-2 small's weights (548 MB, float32).</summary>
    public const string DownloadUrl = "https://huggingface.co/openai-community/gpt2/resolve/main/model.safetensors";

    /// <summary>Environment variable that points to the file, or to a folder holding model.safetensors.</summary>
    public const string EnvironmentVariable = "LLMNB_GPT2";

    const string FileName = "model.safetensors";
    const string HfPrefix = "transformer.";

    /// <summary>&lt;repo&gt;/artifacts/models/gpt2/model.safetensors, beside the course model's folder (null outside a checkout).</summary>
    public static string? DefaultPath
    {
        get
        {
            try { return Path.Combine(Checkout.Root, "artifacts", "models", "gpt2", FileName); }
            catch (DirectoryNotFoundException) { return null; }
        }
    }

    /// <summary>
    /// Looks for GPT-2 small's weights: first where <see cref="EnvironmentVariable"/> points (a file, or a folder with
    /// model.safetensors), then at <see cref="DefaultPath"/>. Returns false with <paramref name="howToGet"/> saying exactly
    /// how to get the file when neither has it.
    /// </summary>
    public static bool TryFind(out string path, out string howToGet) =>
        TryFind(Environment.GetEnvironmentVariable(EnvironmentVariable), DefaultPath, out path, out howToGet);

    /// <summary><see cref="TryFind(out string, out string)"/> with the two places given explicitly (for tests, or another folder).</summary>
    public static bool TryFind(string? environmentValue, string? defaultPath, out string path, out string howToGet)
    {
        var notes = new List<string>();
        if (!string.IsNullOrWhiteSpace(environmentValue))
        {
            string candidate = Directory.Exists(environmentValue) ? Path.Combine(environmentValue, FileName) : environmentValue;
            if (File.Exists(candidate)) { path = Path.GetFullPath(candidate); howToGet = ""; return true; }
            notes.Add($"{EnvironmentVariable} is set to '{environmentValue}', but there is no {(Directory.Exists(environmentValue) ? FileName + " in that folder" : "file there")}.");
        }
        if (defaultPath is not null && File.Exists(defaultPath)) { path = Path.GetFullPath(defaultPath); howToGet = ""; return true; }

        notes.Add(HowToGet(defaultPath));
        path = "";
        howToGet = string.Join(" ", notes);
        return false;
    }

    static string HowToGet(string? target)
    {
        target ??= Path.Combine("<the course checkout>", "artifacts", "models", "gpt2", FileName);
        return $"GPT-2 small's weights are not on this machine. Download {FileName} (548 MB) from {DownloadUrl} " +
               $"and put it at {target}, for example with: curl -L --create-dirs -o \"{target}\" {DownloadUrl} " +
               $"(or save it anywhere and set {EnvironmentVariable} to the file, or to its folder).";
    }

    /// <summary>
    /// Builds a <see cref="Gpt"/> with <see cref="GptConfig.Gpt2Small"/> and loads the file into it, after checking that
    /// the file really is GPT-2 small (and not, say, GPT-2 medium). About 1 GB of memory while loading.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/> (the message says how to get it).</exception>
    /// <exception cref="InvalidDataException">Not a GPT-2 small checkpoint, a key missing, or a shape that does not fit.</exception>
    public static Gpt LoadGpt2Small(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"No file at {Path.GetFullPath(path)}. {HowToGet(DefaultPath)}", path);
        var config = GptConfig.Gpt2Small;
        var shape = Describe(path, ReadIndex(path));
        if (shape != (config.VocabSize, config.BlockSize, config.Layers, config.Channels))
            throw new InvalidDataException($"{path} is not GPT-2 small: it holds {Name(shape)}. Expected GPT-2 small ({config.Layers} layers, {config.Channels} wide, " +
                                           $"vocabulary {config.VocabSize:N0}, context {config.BlockSize}) from {DownloadUrl}.");
        var model = new Gpt(config);
        try { Load(model, path); return model; }
        catch { model.Dispose(); throw; }
    }

    /// <summary>
    /// Loads a GPT-2-format safetensors file (Hugging Face's keys, with or without a "transformer." prefix; Conv1D weights
    /// stored (in, out); float32, float16 or bfloat16) into <paramref name="model"/>, whose config must match the file's
    /// shapes. Every key and shape is checked before any tensor data is read.
    /// </summary>
    /// <exception cref="ArgumentException">A config GPT-2's weights do not fit as trained (see <see cref="RequireGpt2Block"/>): the exact GELU, no biases.</exception>
    /// <exception cref="InvalidDataException">A key missing (named), an unexpected key, keys with and without the "transformer." prefix in one
    /// file, a shape that differs (key, expected, got), or an unsupported dtype.</exception>
    public static void Load(Gpt model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        RequireGpt2Block(model.Config);
        var index = ReadIndex(path);
        string prefix = Prefix(path, index);
        var entries = KeyMap(model.Config);
        var fileKeys = index.Keys.Select(k => k.StartsWith(prefix, StringComparison.Ordinal) ? k[prefix.Length..] : k).ToHashSet();

        var missing = entries.Where(e => !fileKeys.Contains(e.FileKey)).Select(e => e.FileKey).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"{path} lacks {missing.Count} GPT-2 weight(s): {Guard.Shorten(missing, 10)}. " +
                                           $"{(index.ContainsKey(prefix + "wte.weight") ? "Is it complete, and a GPT-2 with " + model.Config.Layers + " layers?" : "Is it a GPT-2 checkpoint at all? It has: " + Guard.Shorten(index.Keys.ToList(), 10) + ".")}");
        var known = entries.Select(e => e.FileKey).ToHashSet();
        var unexpected = fileKeys.Where(k => !known.Contains(k) && !IsIgnored(k)).Order(StringComparer.Ordinal).ToList();
        if (unexpected.Count > 0)
            throw new InvalidDataException($"{path} has keys a GPT-2 with this config does not: {Guard.Shorten(unexpected, 10)}. " +
                                           $"The file holds {Name(Describe(path, index))}; the model is {model.Config}.");
        foreach (var e in entries)
        {
            var info = index[prefix + e.FileKey];
            if (!info.Shape.SequenceEqual(e.FileShape))
                throw new InvalidDataException($"{path}: '{e.FileKey}' should be {ShapeGuard.Format(e.FileShape)}{(e.Transpose ? " (Conv1D: in, out)" : "")} " +
                                               $"for {model.Config}, got {ShapeGuard.Format(info.Shape)}.");
            if (info.DType is not ("F32" or "F16" or "BF16"))
                throw new InvalidDataException($"{path}: '{e.FileKey}' is {info.DType}; GPT-2 weights are floating point (F32, F16 or BF16).");
        }

        var target = model.state_dict();
        var loaded = SafetensorsFile.ReadTensors(path, entries.Select(e => prefix + e.FileKey));
        try
        {
            using var _ = no_grad();
            foreach (var e in entries)
            {
                using var scope = NewDisposeScope();
                var source = loaded[prefix + e.FileKey].to(ScalarType.Float32);
                target[e.ModelKey].copy_(e.Transpose ? source.t() : source);          // Conv1D (in, out) → Linear (out, in)
            }
        }
        finally { foreach (var t in loaded.Values) t.Dispose(); }
    }

    /// <summary>One weight of a GPT-2 file: its key there, its key in <see cref="Gpt"/>, its shape in the file, and whether it is a Conv1D weight to transpose.</summary>
    public sealed record KeyMapping(string FileKey, string ModelKey, long[] FileShape, bool Transpose);

    /// <summary>
    /// Every weight a GPT-2 file holds for <paramref name="config"/> and where it goes (keys without the "transformer."
    /// prefix). Example for layer 0: h.0.attn.c_attn.weight (C, 3C) → h.0.attn.c_attn.weight (3C, C), transposed.
    /// </summary>
    public static IReadOnlyList<KeyMapping> KeyMap(GptConfig config)
    {
        config.Validate();
        if (!config.Bias) throw new ArgumentException("GPT-2's Linear layers have biases; a config with Bias = false cannot hold its weights.", nameof(config));
        long V = config.VocabSize, T = config.BlockSize, C = config.Channels;
        var map = new List<KeyMapping>
        {
            new("wte.weight", "wte.weight", [V, C], false),
            new("wpe.weight", "wpe.weight", [T, C], false),
        };
        for (int i = 0; i < config.Layers; i++)
        {
            string h = $"h.{i}.";
            map.Add(new(h + "ln_1.weight", h + "ln_1.weight", [C], false));
            map.Add(new(h + "ln_1.bias", h + "ln_1.bias", [C], false));
            map.Add(new(h + "attn.c_attn.weight", h + "attn.c_attn.weight", [C, 3 * C], true));   // q, k, v side by side: columns 0..C-1 are q
            map.Add(new(h + "attn.c_attn.bias", h + "attn.c_attn.bias", [3 * C], false));
            map.Add(new(h + "attn.c_proj.weight", h + "attn.c_proj.weight", [C, C], true));
            map.Add(new(h + "attn.c_proj.bias", h + "attn.c_proj.bias", [C], false));
            map.Add(new(h + "ln_2.weight", h + "ln_2.weight", [C], false));
            map.Add(new(h + "ln_2.bias", h + "ln_2.bias", [C], false));
            map.Add(new(h + "mlp.c_fc.weight", h + "mlp.c_fc.weight", [C, 4 * C], true));
            map.Add(new(h + "mlp.c_fc.bias", h + "mlp.c_fc.bias", [4 * C], false));
            map.Add(new(h + "mlp.c_proj.weight", h + "mlp.c_proj.weight", [4 * C, C], true));
            map.Add(new(h + "mlp.c_proj.bias", h + "mlp.c_proj.bias", [C], false));
        }
        map.Add(new("ln_f.weight", "ln_f.weight", [C], false));
        map.Add(new("ln_f.bias", "ln_f.bias", [C], false));
        return map;
    }

    /// <summary>
    /// Throws unless <paramref name="config"/> computes a block the way GPT-2 was trained, so that its weights give GPT-2's
    /// outputs: the tanh approximation of GELU, and biases in every Linear and LayerNorm. (The shapes are checked against
    /// the file separately.) One place for every such field of the config.
    /// </summary>
    static void RequireGpt2Block(GptConfig config)
    {
        if (!config.TanhGelu)
            throw new ArgumentException("This model's config has TanhGelu = false (the exact GELU), but GPT-2 was trained with the tanh GELU: use GptConfig.Gpt2Small " +
                                        "or set TanhGelu: true. With the exact GELU its logits would differ from GPT-2's by about 1.5e-3, silently.", "model");
        if (!config.Bias)
            throw new ArgumentException("This model's config has Bias = false, but GPT-2's Linear and LayerNorm layers have biases: use GptConfig.Gpt2Small or set Bias: true.", "model");
        var gpt2Block = new GptConfig(config.VocabSize, config.BlockSize, config.Layers, config.Heads, config.Channels, config.Dropout, Bias: true, TanhGelu: true, RopeTheta: config.RopeTheta);
        if (config with { MlpHidden = null } != gpt2Block || config.FeedForwardHidden != 4 * config.Channels)
        {
            var changed = new List<string>();
            if (config.Norm != gpt2Block.Norm) changed.Add($"Norm = {config.Norm}");
            if (config.Positions != gpt2Block.Positions) changed.Add($"Positions = {config.Positions}");
            if (config.Mlp != gpt2Block.Mlp) changed.Add($"Mlp = {config.Mlp}");
            if (config.FeedForwardHidden != 4 * config.Channels) changed.Add($"MlpHidden = {config.MlpHidden}");
            if (config.KeyValueHeads != config.Heads) changed.Add($"KvHeads = {config.KvHeads}");
            if (config.QkNorm) changed.Add("QkNorm = true");
            if (config.Window is not null) changed.Add($"Window = {config.Window}");
            if (config.NormEps != gpt2Block.NormEps) changed.Add($"NormEps = {config.NormEps}");
            throw new ArgumentException($"GPT-2's weights fit only GPT-2's block (LayerNorm, learned positions, a GELU network of 4C, one key/value head per query head), " +
                                        $"but this model's config has {string.Join(", ", changed)}: use GptConfig.Gpt2Small. (A Llama-family checkpoint loads with LlamaWeights.)", "model");
        }
    }

    /// <summary>
    /// The key prefix of a GPT-2 file: "transformer." (Hugging Face's GPT2LMHeadModel) or none (GPT2Model). lm_head.weight
    /// never has it. A file whose other keys mix the two was put together from different sources and is refused.
    /// </summary>
    static string Prefix(string path, IReadOnlyDictionary<string, SafetensorsFile.TensorInfo> index)
    {
        var keys = index.Keys.Where(k => k != "lm_head.weight").ToList();
        var with = keys.Where(k => k.StartsWith(HfPrefix, StringComparison.Ordinal)).ToList();
        if (with.Count == 0) return "";
        var without = keys.Where(k => !k.StartsWith(HfPrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        if (without.Count > 0)
            throw new InvalidDataException($"{path} mixes key prefixes: {with.Count} keys start with \"{HfPrefix}\" (such as {with.Order(StringComparer.Ordinal).First()}) " +
                                           $"and {without.Count} do not ({Guard.Shorten(without, 5)}). A GPT-2 file names its weights one way throughout; " +
                                           $"this one was put together from different sources. Export it again from one model, or download {FileName} from {DownloadUrl}.");
        return HfPrefix;
    }

    static readonly Regex IgnoredKey = new(@"^(h\.\d+\.attn\.(bias|masked_bias)|lm_head\.weight)$", RegexOptions.CultureInvariant);

    /// <summary>Keys that are in GPT-2 files but are not weights of the model: causal-mask buffers, and the output layer (a copy of wte).</summary>
    static bool IsIgnored(string key) => IgnoredKey.IsMatch(key);

    static IReadOnlyDictionary<string, SafetensorsFile.TensorInfo> ReadIndex(string path)
    {
        try { return SafetensorsFile.ReadIndex(path); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{e.Message} Expected GPT-2's model.safetensors from {DownloadUrl}.", e); }
    }

    /// <summary>(vocabulary, context, layers, width) read from a GPT-2 file's shapes.</summary>
    static (long Vocab, long Context, long Layers, long Width) Describe(string path, IReadOnlyDictionary<string, SafetensorsFile.TensorInfo> index)
    {
        string prefix = Prefix(path, index);
        if (!index.TryGetValue(prefix + "wte.weight", out var wte) || !index.TryGetValue(prefix + "wpe.weight", out var wpe) || wte.Shape.Length != 2 || wpe.Shape.Length != 2)
            throw new InvalidDataException($"{path} is not a GPT-2 checkpoint: it has no 2-D wte.weight and wpe.weight. Its keys: {Guard.Shorten(index.Keys.ToList(), 10)}.");
        var layer = new Regex(@"^h\.(\d+)\.", RegexOptions.CultureInvariant);
        long layers = index.Keys.Select(k => layer.Match(k.StartsWith(prefix, StringComparison.Ordinal) ? k[prefix.Length..] : k))
                                .Where(m => m.Success).Select(m => long.Parse(m.Groups[1].Value) + 1).DefaultIfEmpty(0).Max();
        return (wte.Shape[0], wpe.Shape[0], layers, wte.Shape[1]);
    }

    static string Name((long Vocab, long Context, long Layers, long Width) s)
    {
        string? known = (s.Layers, s.Width) switch { (12, 768) => "GPT-2 small", (24, 1024) => "GPT-2 medium", (36, 1280) => "GPT-2 large", (48, 1600) => "GPT-2 XL", _ => null };
        return $"a GPT-2 with {s.Layers} layers, {s.Width} wide, vocabulary {s.Vocab:N0}, context {s.Context}" + (known is null ? "" : $" ({known})");
    }
}
