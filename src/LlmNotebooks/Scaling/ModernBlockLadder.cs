using LlmNotebooks.Transformer;

namespace LlmNotebooks.Scaling;

/// <summary>
/// Chapter 7's ablation: GPT-2's block, then one modern piece added at a time (RMSNorm, rotary positions, SwiGLU without
/// biases, grouped-query attention, QK-norm), every rung at the GPT-2 block's parameter count: each gets the feed-forward
/// hidden size that brings its count closest (the pieces change the count: RoPE has no position table, RMSNorm no bias,
/// SwiGLU three matrices, GQA smaller key and value projections).
/// </summary>
public static class ModernBlockLadder
{
    /// <summary><paramref name="config"/> with the feed-forward hidden size (1 … 8C) whose parameter count is closest to <paramref name="target"/>.</summary>
    public static GptConfig MatchParameters(GptConfig config, long target)
    {
        ArgumentNullException.ThrowIfNull(config);
        Guard.AtLeast(target, 1, nameof(target));
        return Enumerable.Range(1, 8 * config.Channels).Select(h => config with { MlpHidden = h }).MinBy(c => Math.Abs(c.ParameterCount() - target))!;
    }

    /// <summary>
    /// The rungs, each with a short name: "GPT-2 block" (<paramref name="gpt2Block"/> itself), "+ RMSNorm", "+ RoPE",
    /// "+ SwiGLU, no biases", "+ GQA (kv heads)", "+ QK-norm"; the last one is the full modern block.
    /// </summary>
    /// <param name="gpt2Block">A config with GPT-2's block (the defaults); its sizes are kept.</param>
    /// <param name="kvHeads">Key/value heads of the GQA rung (must divide Heads); null: half the heads (at least 1).</param>
    public static IReadOnlyList<(string Name, GptConfig Config)> Build(GptConfig gpt2Block, int? kvHeads = null)
    {
        ArgumentNullException.ThrowIfNull(gpt2Block);
        gpt2Block.Validate();
        if (gpt2Block.Norm != NormKind.LayerNorm || gpt2Block.Positions != PositionKind.Learned || gpt2Block.Mlp != MlpKind.Gelu || gpt2Block.KvHeads is not null || gpt2Block.QkNorm)
            throw new ArgumentException($"The ladder starts from GPT-2's block (LayerNorm, learned positions, GELU, full heads, no QK-norm), got {gpt2Block}.", nameof(gpt2Block));
        int kv = kvHeads ?? Math.Max(1, gpt2Block.Heads / 2);
        long target = gpt2Block.ParameterCount();
        var rms = MatchParameters(gpt2Block with { Norm = NormKind.RmsNorm }, target);
        var rope = MatchParameters(rms with { Positions = PositionKind.Rotary }, target);
        var swiglu = MatchParameters(rope with { Mlp = MlpKind.SwiGlu, Bias = false }, target);
        var gqa = MatchParameters(swiglu with { KvHeads = kv }, target);
        var qk = MatchParameters(gqa with { QkNorm = true }, target);
        foreach (var c in new[] { gqa, qk }) c.Validate();
        return [("GPT-2 block", gpt2Block), ("+ RMSNorm", rms), ("+ RoPE", rope), ("+ SwiGLU, no biases", swiglu), ($"+ GQA ({kv} kv heads)", gqa), ("+ QK-norm", qk)];
    }
}
