using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using LlmNotebooks.Transformer;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.FineTuning.LowRank;

/// <summary>
/// LoRA from scratch: <see cref="Apply"/> freezes a model and wraps its target layers in <see cref="LoraLinear"/>s;
/// the returned <see cref="LoraAdapters"/> merges, unmerges, saves and loads them.
/// <code>
/// var adapters = Lora.Apply(model, new LoraConfig { Rank = 8, Alpha = 16, TargetModules = ["c_attn"], FusedQkvSlices = "qv" });
/// Console.WriteLine(model.TrainableParameters());    // trainable params: 16,384 || all params: … || trainable%: …
/// // train: only the adapters have requires_grad, so an optimizer over model.parameters().Where(p =&gt; p.requires_grad)
/// adapters.Save("artifacts/adapters/qa");             // adapter_model.safetensors + adapter_config.json
/// </code>
/// </summary>
public static class Lora
{
    /// <summary>
    /// Freezes every parameter of <paramref name="model"/> and replaces each layer matched by
    /// <see cref="LoraConfig.TargetModules"/> with a <see cref="LoraLinear"/> around it. The model's outputs do not
    /// change (B starts at zero). Nothing is changed when an error is thrown.
    /// </summary>
    /// <exception cref="ArgumentException">A pattern matches no layer (the message lists the layers there are), the
    /// model already has adapters, or a value is out of range for a layer.</exception>
    public static LoraAdapters Apply(nn.Module model, LoraConfig config)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var existing = model.named_modules().Where(p => p.module is LoraLinear).Select(p => p.name).ToList();
        if (existing.Count > 0)
            throw new ArgumentException($"This model already has LoRA adapters ({string.Join(", ", existing.Take(3))}{(existing.Count > 3 ? ", …" : "")}). " +
                                        "Call Unload() on the LoraAdapters that added them first.", nameof(model));
        var targets = MatchTargets(model, config.TargetModules);
        // A model on the meta device (shapes only, for counting) has no weights to fingerprint; its adapters cannot be saved.
        string? fingerprint = model.parameters().Any(p => p.device.type == DeviceType.META) ? null : BaseFingerprint(model);

        var wasTrainable = model.named_parameters().Select(p => (p.parameter, p.parameter.requires_grad)).ToList();
        var made = new List<(string Name, LoraLinear Layer)>();
        try
        {
            for (int i = 0; i < targets.Count; i++)
            {
                var (name, layer) = targets[i];
                var slices = Slices(name, layer, config.FusedQkvSlices);
                made.Add((name, new LoraLinear(layer, config.Rank, config.Alpha, config.Dropout, slices, unchecked((ulong)Hashes.StreamSeed(config.Seed, Hashes.AdapterStream, i)), name: "lora")));
            }
        }
        catch (ArgumentException e)
        {
            foreach (var (p, g) in wasTrainable) p.requires_grad = g;
            foreach (var (_, l) in made) foreach (var a in l.Adapters) { a.A.Dispose(); a.B.Dispose(); }
            throw new ArgumentException($"Cannot adapt '{targets[made.Count].Name}': {e.Message}", e.ParamName, e);
        }
        foreach (var p in model.parameters()) p.requires_grad = false;
        foreach (var (name, layer) in made)
            ModuleSurgery.Replace(model, name, layer);   // the wrapper takes the replaced layer's train/eval mode
        foreach (var (_, layer) in made) foreach (var a in layer.Adapters) { a.A.requires_grad = true; a.B.requires_grad = true; }
        return new LoraAdapters(model, config, made, fingerprint, wasTrainable);
    }

    /// <summary>The linear layers a list of patterns selects, in the model's order (see <see cref="LoraConfig"/>).</summary>
    /// <exception cref="ArgumentException">A pattern that selects no linear layer; the message lists the linear layers there are.</exception>
    public static IReadOnlyList<(string Name, Module<Tensor, Tensor> Layer)> MatchTargets(nn.Module model, IReadOnlyList<string> patterns)
    {
        var all = model.named_modules().Where(p => p.name.Length > 0).ToList();
        var linear = all.Where(p => p.module is TorchSharp.Modules.Linear or ILinearLayer).Select(p => (p.name, Layer: (Module<Tensor, Tensor>)p.module)).ToList();
        var chosen = new HashSet<string>();
        foreach (var pattern in patterns)
        {
            var match = Matcher(pattern);
            var hits = linear.Where(p => match(p.name)).ToList();
            if (hits.Count == 0)
            {
                var others = all.Where(p => match(p.name)).Select(p => $"{p.name} ({p.module.GetType().Name})").ToList();
                throw new ArgumentException(
                    $"The LoRA target \"{pattern}\" matches no linear layer{(others.Count > 0 ? $" (it matches {string.Join(", ", others.Take(4))}, which are not linear)" : "")}. " +
                    $"The linear layers of this model are: {string.Join(", ", linear.Select(p => p.name))}. A pattern is a name, the end of a name " +
                    "after a dot (\"c_attn\"), a glob (\"h.*.attn.c_attn\") or \"re:\" and a regular expression.", nameof(patterns));
            }
            foreach (var h in hits) chosen.Add(h.name);
        }
        return linear.Where(p => chosen.Contains(p.name)).ToList();
    }

    static Func<string, bool> Matcher(string pattern)
    {
        if (pattern.StartsWith("re:", StringComparison.Ordinal))
        {
            Regex regex;
            try { regex = new Regex("^(?:" + pattern[3..] + ")$", RegexOptions.CultureInvariant); }
            catch (ArgumentException e) { throw new ArgumentException($"The LoRA target \"{pattern}\" is not a valid regular expression: {e.Message}", nameof(pattern)); }
            return regex.IsMatch;
        }
        if (pattern.Contains('*') || pattern.Contains('?'))
        {
            var glob = new Regex("^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$", RegexOptions.CultureInvariant);
            return glob.IsMatch;
        }
        return name => name == pattern || name.EndsWith("." + pattern, StringComparison.Ordinal);
    }

    static IReadOnlyList<LoraSlice>? Slices(string name, Module<Tensor, Tensor> layer, string? letters)
    {
        if (string.IsNullOrEmpty(letters)) return null;
        long din = layer is TorchSharp.Modules.Linear l ? l.weight!.shape[1] : ((ILinearLayer)layer).InFeatures;
        long dout = layer is TorchSharp.Modules.Linear l2 ? l2.weight!.shape[0] : ((ILinearLayer)layer).OutFeatures;
        if (dout % 3 != 0 || dout / 3 != din)
            throw new ArgumentException($"FusedQkvSlices = \"{letters}\" needs fused q,k,v layers (d → 3d), but '{name}' maps {din} → {dout}. " +
                                        "Target only the fused attention layers (\"c_attn\"), or leave FusedQkvSlices empty to adapt whole layers.");
        long d = dout / 3;
        return letters.Select(c => new LoraSlice(c.ToString(), "qkv".IndexOf(c) * d, d)).OrderBy(s => s.Start).ToList();
    }

    /// <summary>Counts trainable (requires_grad) and all parameters, as peft's print_trainable_parameters does.</summary>
    public static ParameterSummary TrainableParameters(this nn.Module model)
    {
        long trainable = 0, all = 0;
        foreach (var p in model.parameters())
        {
            all += p.numel();
            if (p.requires_grad) trainable += p.numel();
        }
        return new ParameterSummary(trainable, all);
    }

    /// <summary>Writes peft's line "trainable params: N || all params: M || trainable%: P" (to the console by default) and returns the counts.</summary>
    public static ParameterSummary PrintTrainableParameters(this nn.Module model, Action<string>? write = null)
    {
        var summary = model.TrainableParameters();
        (write ?? Console.WriteLine)(summary.ToString());
        return summary;
    }

    /// <summary>
    /// A SHA-256 that identifies a base model: over the GPT config (for a <see cref="Gpt"/>) and every frozen base tensor's
    /// name, dtype, shape and bytes, in name order. Adapters are left out and a LoRA wrapper's "base_layer." is read
    /// through, so the same base gives the same fingerprint with or without (unmerged) adapters. An adapter saved with
    /// one fingerprint is refused by a model with another: it was trained on different weights.
    /// </summary>
    /// <exception cref="InvalidOperationException">A merged adapter (the base weights then include it), or tensors without values (meta device).</exception>
    public static string BaseFingerprint(nn.Module model)
    {
        if (model.named_modules().Any(p => p.module is LoraLinear { Merged: true }))
            throw new InvalidOperationException("A merged adapter is part of the base weights now; Unmerge() before taking the base model's fingerprint.");
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add(string s) => sha.AppendData(Encoding.UTF8.GetBytes(s + "\n"));
        Add("llmnb-lora-base 1");
        if (model is Gpt gpt) Add("config " + JsonSerializer.Serialize(gpt.Config));
        var tensors = model.state_dict()
            .Where(p => !p.Key.Split('.')[^1].StartsWith("lora_", StringComparison.Ordinal))
            .Select(p => (Name: p.Key.Replace(".base_layer.", ".", StringComparison.Ordinal), Tensor: p.Value))
            .OrderBy(p => p.Name, StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (tensor.device.type == DeviceType.META) throw new InvalidOperationException($"'{name}' is on the meta device (a shape without values); a fingerprint needs real weights.");
            Add($"{name} {tensor.dtype} [{string.Join(",", tensor.shape)}]");
            using var cpu = tensor.detach().cpu().contiguous();
            sha.AppendData(cpu.bytes);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
