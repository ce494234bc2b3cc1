namespace LlmNotebooks.FineTuning.LowRank;

/// <summary>
/// A range of a layer's outputs that gets its own adapter: rows [Start, Start + Length) of the weight. GPT-2's fused
/// c_attn computes queries, keys and values in one Linear (C → 3C); its slices are q = [0, C), k = [C, 2C), v = [2C, 3C).
/// </summary>
public sealed record LoraSlice(string Name, long Start, long Length);
