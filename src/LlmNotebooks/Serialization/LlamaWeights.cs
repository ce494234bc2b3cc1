using System.Text.Json;
using System.Text.Json.Nodes;
using LlmNotebooks.Platform;
using LlmNotebooks.Tensors;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.Serialization;

/// <summary>
/// A Llama-architecture checkpoint from Hugging Face (LlamaForCausalLM: SmolLM2, TinyLlama, …), read from its folder
/// (<c>config.json</c> and <c>model.safetensors</c>) into the course's own <see cref="Gpt"/> with the modern block
/// (<see cref="GptConfig.Modernized"/>: RMSNorm, rotary positions, SwiGLU, no biases, grouped-query attention).
/// The mapping is one to one except that the course stacks matrices Hugging Face keeps apart: q_proj, k_proj and v_proj are
/// the rows of c_attn (queries first), gate_proj and up_proj the rows of c_fc (gate first). Hugging Face's Linear layers
/// store (out, in), as TorchSharp's do, so nothing is transposed; bfloat16 and float16 files are widened to float32.
/// The course model's output layer is its token embedding (tied): a checkpoint with an lm_head of its own is refused.
/// <code>
/// using var smol = LlamaWeights.TryLoad(out string reason, blockSize: 256);
/// if (smol is null) Console.WriteLine(reason);   // which files are missing, and the commands that get them
/// else
/// {
///     var tokenizer = LlamaWeights.LoadTokenizer();
///     var prompt = tokenizer.Encode("The capital of France is");
///     var completion = BatchedGeneration.Generate(smol, [prompt], 12, stopTokens: [0], useCache: true)[0];
///     Console.WriteLine(tokenizer.Decode(completion.Content));
/// }
/// </code>
/// Chapter 7 (section 7.9) holds the notebook cell built on it.
/// </summary>
public static class LlamaWeights
{
    /// <summary>The model's description in a Hugging Face folder.</summary>
    public const string ConfigFile = "config.json";

    /// <summary>The weights in a Hugging Face folder (one file: models up to a few GB are not sharded).</summary>
    public const string WeightsFile = "model.safetensors";

    /// <summary>The small Llama-architecture model the course loads: SmolLM2-135M (Hugging Face, Apache 2.0).</summary>
    public const string Repository = "HuggingFaceTB/SmolLM2-135M";

    /// <summary>The files the course needs from <see cref="Repository"/>: the config, the weights (bfloat16, 269 MB) and the tokenizer's files.</summary>
    public static IReadOnlyList<string> Files { get; } = [ConfigFile, WeightsFile, ByteLevelBpeTokenizer.VocabFile, ByteLevelBpeTokenizer.MergesFile, ByteLevelBpeTokenizer.TokenizerJsonFile];

    /// <summary>The longest context <see cref="ReadConfig"/> gives when none is asked for (the cache and the position check grow with it).</summary>
    public const int DefaultMaxBlockSize = 2048;

    const string Prefix = "model.";
    const string LmHead = "lm_head.weight";
    const string Embedding = "model.embed_tokens.weight";
    static readonly string[] FloatTypes = ["F32", "F16", "BF16"];

    /// <summary>&lt;checkout&gt;/artifacts/models/smollm2-135m, beside GPT-2's folder (null outside a checkout).</summary>
    public static string? DefaultFolder
    {
        get
        {
            try { return Path.Combine(Checkout.Root, "artifacts", "models", "smollm2-135m"); }
            catch (DirectoryNotFoundException) { return null; }
        }
    }

    /// <summary>Exactly how to get SmolLM2-135M's files into <see cref="DefaultFolder"/> (run from the checkout's root).</summary>
    public static string HowToGet
    {
        get
        {
            const string folder = "artifacts/models/smollm2-135m";
            string curl = string.Join(" && ", Files.Select(f => $"curl -L --create-dirs -o {folder}/{f} https://huggingface.co/{Repository}/resolve/main/{f}"));
            return $"SmolLM2-135M ({Repository}, about 270 MB) is not on this machine. From the course checkout's root, run either\n" +
                   $"  huggingface-cli download {Repository} {string.Join(" ", Files)} --local-dir {folder}\n" +
                   $"(pip install -U huggingface_hub gives huggingface-cli) or, with curl alone,\n  {curl}\n" +
                   $"The files then lie in {DefaultFolder ?? folder}.";
        }
    }

    /// <summary>
    /// Loads SmolLM2-135M from <see cref="DefaultFolder"/>, or returns null with <paramref name="reason"/> saying which files are
    /// missing and <see cref="HowToGet"/> them. Files that are there but wrong throw (they are not a reason to skip).
    /// </summary>
    public static Gpt? TryLoad(out string reason, int? blockSize = null) => TryLoad(DefaultFolder, out reason, blockSize);

    /// <summary><see cref="TryLoad(out string, int?)"/> from another <paramref name="folder"/>.</summary>
    public static Gpt? TryLoad(string? folder, out string reason, int? blockSize = null)
    {
        var missing = folder is null ? Files.ToList() : Files.Where(f => !File.Exists(Path.Combine(folder, f))).ToList();
        if (missing.Count > 0)
        {
            reason = $"Missing in {(folder is null ? "the course checkout (none found)" : Path.GetFullPath(folder))}: {string.Join(", ", missing)}. {HowToGet}";
            return null;
        }
        reason = "";
        return Load(folder!, blockSize);
    }

    /// <summary>The model's tokenizer, from <c>vocab.json</c> and <c>merges.txt</c> in <paramref name="folder"/> (SmolLM2's: &lt;|endoftext|&gt; 0, &lt;|im_start|&gt; 1, &lt;|im_end|&gt; 2).</summary>
    public static ByteLevelBpeTokenizer LoadTokenizer(string? folder = null) => ByteLevelBpeTokenizer.FromFolder(folder ?? RequireDefaultFolder());

    static string RequireDefaultFolder() =>
        DefaultFolder ?? throw new DirectoryNotFoundException($"No course checkout was found, so there is no default folder. Pass the folder holding {string.Join(", ", Files)}.");

    /// <summary>
    /// The <see cref="GptConfig"/> of the Llama checkpoint in <paramref name="folder"/>, from its <c>config.json</c>:
    /// hidden_size, num_attention_heads, num_key_value_heads, num_hidden_layers, intermediate_size, vocab_size,
    /// rms_norm_eps and rope_theta, on <see cref="GptConfig.Modernized"/>'s block. The context is <paramref name="blockSize"/>,
    /// or max_position_embeddings capped at <see cref="DefaultMaxBlockSize"/> (the model's key/value cache grows with it).
    /// Refused by name: another architecture, biases, a head_dim other than hidden_size / num_attention_heads, rope_scaling
    /// (the course's rotary positions are the plain ones), an activation other than SiLU.
    /// </summary>
    /// <exception cref="FileNotFoundException">No config.json in the folder (the message says how to get it).</exception>
    /// <exception cref="InvalidDataException">A field missing, of the wrong kind, or describing a model the course's block cannot be.</exception>
    public static GptConfig ReadConfig(string folder, int? blockSize = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        string path = Path.Combine(folder, ConfigFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"No {ConfigFile} in {Path.GetFullPath(folder)}. {HowToGet}", path);
        JsonObject json;
        try { json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("the top level is not an object"); }
        catch (JsonException e) { throw new InvalidDataException($"{path} is not a JSON object ({e.Message}). Download it again.", e); }

        string? modelType = String(json, path, "model_type");
        if (modelType is not null && modelType != "llama")
            throw new InvalidDataException($"{path}: model_type is \"{modelType}\"; this loader reads Llama-architecture models (model_type \"llama\", LlamaForCausalLM) " +
                                           $"such as {Repository}. Another architecture needs a loader of its own.");
        if (json["architectures"] is JsonArray arch && arch.Count > 0 && !arch.Any(a => a?.GetValueKind() == JsonValueKind.String && a.GetValue<string>() == "LlamaForCausalLM"))
            throw new InvalidDataException($"{path}: architectures is {arch.ToJsonString()}; expected [\"LlamaForCausalLM\"] (a Llama causal language model such as {Repository}).");

        int C = Int(json, path, "hidden_size") ?? throw Missing(path, "hidden_size");
        int heads = Int(json, path, "num_attention_heads") ?? throw Missing(path, "num_attention_heads");
        int kvHeads = Int(json, path, "num_key_value_heads") ?? heads;                 // Hugging Face's default: multi-head attention
        int layers = Int(json, path, "num_hidden_layers") ?? throw Missing(path, "num_hidden_layers");
        int hidden = Int(json, path, "intermediate_size") ?? throw Missing(path, "intermediate_size");
        int vocab = Int(json, path, "vocab_size") ?? throw Missing(path, "vocab_size");
        int maxPositions = Int(json, path, "max_position_embeddings") ?? 2048;          // Hugging Face's LlamaConfig defaults, where a field is absent
        double eps = Double(json, path, "rms_norm_eps") ?? 1e-6;
        double theta = Double(json, path, "rope_theta") ?? 10000;

        if (heads <= 0 || C % heads != 0)
            throw new InvalidDataException($"{path}: hidden_size {C} must be a positive multiple of num_attention_heads {heads}.");
        if (Int(json, path, "head_dim") is int headDim && headDim != C / heads)
            throw new InvalidDataException($"{path}: head_dim is {headDim}, but the course's attention uses hidden_size / num_attention_heads = {C} / {heads} = {C / heads} " +
                                           "as the head size. A model whose heads are a different size cannot be loaded into it.");
        foreach (var field in new[] { "attention_bias", "mlp_bias" })
            if (json[field] is JsonNode flag && flag.GetValueKind() != JsonValueKind.False)
                throw new InvalidDataException($"{path}: {field} is {flag.ToJsonString()}; the course's Llama block has no biases (Bias = false), so only checkpoints with {field}: false load.");
        if (json["rope_scaling"] is JsonNode scaling)
            throw new InvalidDataException($"{path}: rope_scaling is {scaling.ToJsonString()}; the course's rotary positions are the plain ones (rope_scaling: null), " +
                                           "so a model trained with scaled positions (Llama 3.1's, YaRN, linear, dynamic) would read its positions wrongly. Choose a checkpoint without rope_scaling.");
        if (String(json, path, "hidden_act") is string act && act != "silu")
            throw new InvalidDataException($"{path}: hidden_act is \"{act}\"; the course's SwiGLU uses SiLU (hidden_act \"silu\").");
        if (blockSize is int b && b <= 0) throw new ArgumentOutOfRangeException(nameof(blockSize), $"blockSize must be positive (the context window in tokens), got {b}.");

        var config = new GptConfig(VocabSize: vocab, BlockSize: blockSize ?? Math.Min(maxPositions, DefaultMaxBlockSize), Layers: layers, Heads: heads, Channels: C)
            .Modernized() with { MlpHidden = hidden, KvHeads = kvHeads, RopeTheta = theta, NormEps = eps };
        try { config.Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path} describes a model the course cannot build: {e.Message}", e); }
        return config;
    }

    /// <summary>
    /// Reads the checkpoint in <paramref name="folder"/> (<see cref="ReadConfig"/>, then <c>model.safetensors</c>) into a new
    /// <see cref="Gpt"/>. Every tensor's name, shape and dtype is checked against <see cref="KeyMap"/> before anything is read;
    /// then the weights are read a layer at a time and widened to float32. About 4 bytes per parameter of memory (540 MB for SmolLM2-135M).
    /// </summary>
    /// <exception cref="FileNotFoundException">config.json or model.safetensors missing (the message says how to get them).</exception>
    /// <exception cref="InvalidDataException">The config cannot be loaded (see <see cref="ReadConfig"/>), a key is missing or unknown, a shape or dtype differs (key, expected, found), or the output layer is not tied.</exception>
    public static Gpt Load(string folder, int? blockSize = null)
    {
        var config = ReadConfig(folder, blockSize);
        string path = Path.Combine(folder, WeightsFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"No {WeightsFile} in {Path.GetFullPath(folder)}. {HowToGet}", path);
        var index = SafetensorsFile.ReadIndex(path);
        var map = KeyMap(config);
        bool hasHead = Check(path, config, index, map);
        if (!hasHead && !TiedInConfig(folder))
            throw new InvalidDataException($"{Path.Combine(folder, ConfigFile)} says tie_word_embeddings: false (an output layer of its own), but {path} has no '{LmHead}'. " +
                                           $"The course's Gpt ties its output layer to the token embedding; a checkpoint saved tied has tie_word_embeddings: true. Are the two files from the same model?");

        var model = new Gpt(config);
        try
        {
            var target = model.state_dict();
            using var _ = no_grad();
            foreach (var group in map.GroupBy(e => e.Layer))
            {
                using var scope = NewDisposeScope();
                var names = group.Select(e => e.FileKey).ToList();
                if (group.Key < 0 && hasHead) names.Add(LmHead);
                var loaded = SafetensorsFile.ReadTensors(path, names);
                foreach (var e in group)
                    target[e.ModelKey].narrow(0, e.Row, e.FileShape[0]).copy_(loaded[e.FileKey].to(ScalarType.Float32));
                if (group.Key < 0 && hasHead && !loaded[LmHead].eq(loaded[Embedding]).all().item<bool>())
                    throw new InvalidDataException($"{path}: '{LmHead}' differs from '{Embedding}': this checkpoint has an output layer of its own (untied), " +
                                                   "but the course's Gpt scores tokens with its token embedding (logits = hidden · wteᵀ), so it cannot hold both. " +
                                                   "Choose a checkpoint with tie_word_embeddings: true (SmolLM2's are).");
            }
            return model;
        }
        catch { model.Dispose(); throw; }
    }

    /// <summary>
    /// Checks every key, shape and dtype of the file against the map (and the optional lm_head) without reading tensor data.
    /// Returns whether the file holds an lm_head (to be compared with the embedding once read).
    /// </summary>
    static bool Check(string path, GptConfig config, IReadOnlyDictionary<string, SafetensorsFile.TensorInfo> index, IReadOnlyList<KeyMapping> map)
    {
        var expected = map.Select(e => e.FileKey).ToHashSet();
        var missing = map.Select(e => e.FileKey).Where(k => !index.ContainsKey(k)).ToList();
        var unknown = index.Keys.Where(k => !expected.Contains(k) && k != LmHead).Order(StringComparer.Ordinal).ToList();
        if (missing.Count > 0 || unknown.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"it lacks {missing.Count} key(s) a Llama with {config.Layers} layers has: {Guard.Shorten(missing, 10)}");
            if (unknown.Count > 0)
                parts.Add($"it has {unknown.Count} key(s) the course's Llama block does not: " +
                          string.Join(", ", unknown.Take(10).Select(k => $"'{k}'" + (Nearest(k, missing) is string near ? $" (expected '{near}'?)" : ""))) + (unknown.Count > 10 ? ", …" : ""));
            throw new InvalidDataException($"{path}: {string.Join("; ", parts)}. Expected exactly the keys of {nameof(LlamaWeights)}.{nameof(KeyMap)} for {ConfigFile}'s sizes " +
                                           $"(and optionally {LmHead}): is the file complete, from the same repository as {ConfigFile}, and a LlamaForCausalLM?");
        }
        bool hasHead = index.ContainsKey(LmHead);
        var checks = map.Select(e => (e.FileKey, e.FileShape)).ToList();
        if (hasHead) checks.Add((LmHead, [config.VocabSize, config.Channels]));
        foreach (var (key, shape) in checks)
        {
            var info = index[key];
            if (!info.Shape.SequenceEqual(shape))
                throw new InvalidDataException($"{path}: '{key}' should be {ShapeGuard.Format(shape)} for the sizes in {ConfigFile}, found {ShapeGuard.Format(info.Shape)}. " +
                                               $"Are {ConfigFile} and {WeightsFile} from the same model? Download both from the same repository.");
            if (!FloatTypes.Contains(info.DType))
                throw new InvalidDataException($"{path}: '{key}' is {info.DType}; expected floating-point weights ({string.Join(", ", FloatTypes)}). " +
                                               "A quantized or integer export cannot be loaded: download the repository's original model.safetensors.");
        }
        return hasHead;
    }

    /// <summary>One weight of a Llama file: its key there, the course model's parameter it fills (rows Row … Row + FileShape[0] − 1), its shape in the file, and its layer (−1 outside the blocks).</summary>
    public sealed record KeyMapping(string FileKey, string ModelKey, long[] FileShape, long Row, int Layer);

    /// <summary>
    /// Every weight of a Llama checkpoint with <paramref name="config"/>'s sizes and where it goes. Example for layer 0
    /// (C wide, kv key/value heads of size hs, hidden = MlpHidden): model.layers.0.self_attn.q_proj.weight (C, C) → rows 0 … C−1 of
    /// h.0.attn.c_attn.weight; k_proj (kv·hs, C) → the next kv·hs rows; v_proj → the last; mlp.gate_proj (hidden, C) → rows
    /// 0 … hidden−1 of h.0.mlp.c_fc.weight, up_proj → the rest; down_proj → h.0.mlp.c_proj.weight.
    /// </summary>
    public static IReadOnlyList<KeyMapping> KeyMap(GptConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (config.Norm != NormKind.RmsNorm || config.Positions != PositionKind.Rotary || config.Mlp != MlpKind.SwiGlu || config.Bias || config.QkNorm || config.Window is not null)
            throw new ArgumentException($"A Llama checkpoint fills the modern block (config.Modernized(): RMSNorm, rotary, SwiGLU, no biases) without QK-norm or a window; got {config}.", nameof(config));
        long V = config.VocabSize, C = config.Channels, kv = (long)config.KeyValueHeads * config.HeadSize, hidden = config.FeedForwardHidden;
        var map = new List<KeyMapping> { new(Embedding, "wte.weight", [V, C], 0, -1) };
        for (int i = 0; i < config.Layers; i++)
        {
            string f = $"{Prefix}layers.{i}.", h = $"h.{i}.";
            map.Add(new(f + "input_layernorm.weight", h + "ln_1.weight", [C], 0, i));
            map.Add(new(f + "self_attn.q_proj.weight", h + "attn.c_attn.weight", [C, C], 0, i));
            map.Add(new(f + "self_attn.k_proj.weight", h + "attn.c_attn.weight", [kv, C], C, i));
            map.Add(new(f + "self_attn.v_proj.weight", h + "attn.c_attn.weight", [kv, C], C + kv, i));
            map.Add(new(f + "self_attn.o_proj.weight", h + "attn.c_proj.weight", [C, C], 0, i));
            map.Add(new(f + "post_attention_layernorm.weight", h + "ln_2.weight", [C], 0, i));
            map.Add(new(f + "mlp.gate_proj.weight", h + "mlp.c_fc.weight", [hidden, C], 0, i));
            map.Add(new(f + "mlp.up_proj.weight", h + "mlp.c_fc.weight", [hidden, C], hidden, i));
            map.Add(new(f + "mlp.down_proj.weight", h + "mlp.c_proj.weight", [C, hidden], 0, i));
        }
        map.Add(new(Prefix + "norm.weight", "ln_f.weight", [C], 0, -1));
        return map;
    }

    /// <summary>The missing key closest to an unknown one (a typo's likely intent), when one is within a few edits.</summary>
    static string? Nearest(string key, IReadOnlyList<string> candidates)
    {
        var best = candidates.Select(c => (c, d: Distance(key, c))).OrderBy(p => p.d).FirstOrDefault();
        return best.c is not null && best.d <= Math.Max(3, key.Length / 5) ? best.c : null;
    }

    static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    /// <summary>tie_word_embeddings of the folder's config.json (Hugging Face's LlamaConfig default, false, when absent).</summary>
    static bool TiedInConfig(string folder)
    {
        string path = Path.Combine(folder, ConfigFile);
        var json = (JsonObject)JsonNode.Parse(File.ReadAllText(path))!;
        return json["tie_word_embeddings"] switch
        {
            null => false,
            JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
            var other => throw new InvalidDataException($"{path}: \"tie_word_embeddings\" should be true or false, found {other.ToJsonString()}."),
        };
    }

    static InvalidDataException Missing(string path, string field) =>
        new($"{path} has no \"{field}\"; a Llama config.json (LlamaForCausalLM) always does. Download {ConfigFile} again from the model's repository.");

    static int? Int(JsonObject json, string path, string field) => json[field] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out int i) => i,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out double d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue => (int)d,
        var other => throw new InvalidDataException($"{path}: \"{field}\" should be a whole number, found {other.ToJsonString()}."),
    };

    static double? Double(JsonObject json, string path, string field) => json[field] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => v.GetValue<double>(),
        var other => throw new InvalidDataException($"{path}: \"{field}\" should be a number, found {other.ToJsonString()}."),
    };

    static string? String(JsonObject json, string path, string field) => json[field] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        var other => throw new InvalidDataException($"{path}: \"{field}\" should be a string, found {other.ToJsonString()}."),
    };
}
