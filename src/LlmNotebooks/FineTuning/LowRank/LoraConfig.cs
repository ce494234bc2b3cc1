using LlmNotebooks.Transformer;

namespace LlmNotebooks.FineTuning.LowRank;

/// <summary>
/// What to adapt and how (the equivalent of peft's <c>LoraConfig</c>).
/// <para><see cref="TargetModules"/> are patterns over the model's module names (<c>named_modules()</c>); a
/// <see cref="Gpt"/> has "h.0.attn.c_attn" (q, k, v fused, C → 3C), "h.0.attn.c_proj" (C → C), "h.0.mlp.c_fc"
/// (C → 4C) and "h.0.mlp.c_proj" (4C → C) in every block h.0, h.1, …. A pattern matches a name when</para>
/// <list type="bullet">
/// <item>it is the whole name, or the end of the name after a dot (peft's rule): "c_attn" matches every block's
/// "h.i.attn.c_attn"; "attn.c_proj" only attention's projection; "c_proj" both projections;</item>
/// <item>it contains * or ? (a glob over the whole name; * also crosses dots): "h.0.*" is every Linear of block 0;</item>
/// <item>it starts with "re:" (a regular expression that must match the whole name): "re:h\.[01]\.attn\.c_attn".</item>
/// </list>
/// Only layers that map vectors linearly (a Linear, or a module implementing <see cref="ILinearLayer"/>) are adapted.
/// </summary>
public sealed record LoraConfig
{
    /// <summary>r, the rank of each update (1 … min(d_in, d_out)).</summary>
    public int Rank { get; init; } = 8;
    /// <summary>α: updates are scaled by α / r.</summary>
    public double Alpha { get; init; } = 16;
    /// <summary>Dropout on the adapters' inputs during training, in [0, 1).</summary>
    public double Dropout { get; init; } = 0.05;
    /// <summary>Name patterns of the layers to adapt (see the class summary).</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = ["c_attn"];
    /// <summary>
    /// For fused query/key/value layers (d_out = 3·d): which thirds to adapt, as letters of "qkv" — "qv" gives the
    /// seed's "q and v" (two adapters, r·(d_in + d) each). Null or empty adapts the whole layer (one adapter,
    /// r·(d_in + 3d)).
    /// </summary>
    public string? FusedQkvSlices { get; init; }
    /// <summary>Seeds A's initialisation and the dropout masks (each adapted layer gets its own stream); the course seed by default.</summary>
    public long Seed { get; init; } = Defaults.Seed;

    /// <summary>Throws with a clear message when a value is out of range (the layer sizes are checked by <see cref="Lora.Apply"/>).</summary>
    public void Validate()
    {
        if (Rank <= 0) throw new ArgumentOutOfRangeException(nameof(Rank), $"LoRA's rank r must be at least 1 (typical: 4, 8, 16); got {Rank}.");
        if (!double.IsFinite(Alpha) || Alpha <= 0) throw new ArgumentOutOfRangeException(nameof(Alpha), $"LoRA's α must be a positive number (α = r or 2r are common); got {Alpha}.");
        if (double.IsNaN(Dropout) || Dropout < 0 || Dropout >= 1) throw new ArgumentOutOfRangeException(nameof(Dropout), $"LoRA dropout must be in [0, 1) (0 turns it off); got {Dropout}.");
        if (TargetModules is null || TargetModules.Count == 0 || TargetModules.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException("Name at least one target module pattern, e.g. TargetModules = [\"c_attn\"] (see LoraConfig's documentation).", nameof(TargetModules));
        if (!string.IsNullOrEmpty(FusedQkvSlices) && (FusedQkvSlices.Any(c => !"qkv".Contains(c)) || FusedQkvSlices.Distinct().Count() != FusedQkvSlices.Length))
            throw new ArgumentException($"FusedQkvSlices takes distinct letters of \"qkv\", such as \"qv\"; got \"{FusedQkvSlices}\".", nameof(FusedQkvSlices));
    }
}
