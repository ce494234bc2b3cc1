using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LlmNotebooks.FineTuning.Quantizing;

/// <summary>
/// QLoRA's quantization step for whole models, and the measurements a notebook shows about it:
/// <code>
/// var report = Quantization.QuantizeLinears(gpt);                 // every nn.Linear → Nf4Linear
/// Quantization.Compare(randn(1024, 1024))                         // NF4 / INT4 / FP4 errors side by side
/// Quantization.BitsPerParameter(768 * 768)                        // 4.127…
/// </code>
/// </summary>
public static class Quantization
{
    /// <summary>
    /// Replaces Linear layers of <paramref name="model"/> by <see cref="Nf4Linear"/>s holding their weights in 4 bits
    /// (biases in fp32): the ones named in <paramref name="names"/> (dotted names, see <see cref="ModuleSurgery.LinearNames"/>),
    /// or every Linear when it is null. The replaced fp32 layers are disposed. Embeddings and LayerNorms are left as they are.
    /// </summary>
    /// <exception cref="ArgumentException">A name that is not a Linear of the model (the message lists those that are), a weight whose size the
    /// block size does not divide, or a weight with a NaN, ∞ or out-of-range value (named, with its index). Every layer is checked before
    /// the first is replaced, so a refusal leaves the model as it was.</exception>
    public static QuantizationReport QuantizeLinears(nn.Module model, IEnumerable<string>? names = null, FourBitFormat? format = null,
                                                     int blockSize = BlockQuantizer.DefaultBlockSize, bool doubleQuantize = true,
                                                     int scaleBlockSize = BlockQuantizer.DefaultScaleBlockSize)
    {
        ArgumentNullException.ThrowIfNull(model);
        var linears = ModuleSurgery.LinearNames(model);
        var chosen = names?.ToList() ?? linears.ToList();
        var unknown = chosen.Where(n => !linears.Contains(n)).ToList();
        if (unknown.Count > 0)
        {
            var quantized = model.named_modules().Where(m => m.module is Nf4Linear).Select(m => m.name).ToHashSet();
            string already = unknown.Any(quantized.Contains) ? " (some are already quantized)" : "";
            throw new ArgumentException($"Not Linear layers of this model: {string.Join(", ", unknown)}{already}. " +
                                        $"Its Linear layers are: {(linears.Count == 0 ? "none" : Guard.Shorten(linears))}.", nameof(names));
        }
        long before = StoredBytes(model), weights = 0;
        // Check every layer first, so that a bad block size or a rigid field fails before the model is half quantized.
        foreach (var name in chosen)
        {
            ModuleSurgery.RequireReplaceable(model, name, typeof(Nf4Linear));
            var w = ((Linear)ModuleSurgery.Find(model, name)).weight;
            try { BlockQuantizer.RequireBlocks(w.numel(), w.shape, blockSize); }
            catch (ArgumentException e) { throw new ArgumentException($"{name}: {e.Message}", nameof(blockSize), e); }
            BlockQuantizer.RequireRepresentable(w, $"{name}.weight");
        }
        foreach (var name in chosen)
        {
            var linear = (Linear)ModuleSurgery.Find(model, name);
            weights += linear.weight.numel();
            var q = Nf4Linear.FromLinear(linear, format, blockSize, doubleQuantize, scaleBlockSize, name: name);
            try { ModuleSurgery.Replace(model, name, q).Dispose(); }
            catch { q.Dispose(); throw; }
        }
        return new QuantizationReport(chosen, weights, before, StoredBytes(model));
    }

    /// <summary>
    /// The bytes of everything a module would save: every tensor of its state dict (parameters and persistent buffers),
    /// element count times element size. A tied weight (GPT's token embedding, reused as the output layer) counts once.
    /// </summary>
    public static long StoredBytes(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.state_dict().Values.Sum(t => t.numel() * t.ElementSize);
    }

    /// <summary>
    /// Stored bits per value of a tensor of <paramref name="count"/> values (see <see cref="QuantizedTensor.StoredBytesFor"/>):
    /// 8 · (count/2 + count/64 + 4·⌈count/(64·256)⌉ + 4) / count with QLoRA's settings. For 768 × 768 values: 4.1270.
    /// </summary>
    public static double BitsPerParameter(long count, int blockSize = BlockQuantizer.DefaultBlockSize, bool doubleQuantize = true,
                                          int scaleBlockSize = BlockQuantizer.DefaultScaleBlockSize) =>
        8.0 * QuantizedTensor.StoredBytesFor(count, blockSize, doubleQuantize, scaleBlockSize) / count;

    /// <summary>
    /// Bits per value for a very large tensor (the per-tensor mean no longer counts): 4 + 32/blockSize without double
    /// quantization (4.5 at 64), and 4 + 8/blockSize + 32/(blockSize · scaleBlockSize) with it:
    /// 4 + 8/64 + 32/16,384 = 4.126953125 — QLoRA's "0.127 bits per parameter" for the scales.
    /// </summary>
    public static double BitsPerParameterLimit(int blockSize = BlockQuantizer.DefaultBlockSize, bool doubleQuantize = true,
                                               int scaleBlockSize = BlockQuantizer.DefaultScaleBlockSize)
    {
        if (blockSize <= 0 || scaleBlockSize <= 0) throw new ArgumentException($"Block sizes must be positive, got {blockSize} and {scaleBlockSize}.");
        return doubleQuantize ? 4 + 8.0 / blockSize + 32.0 / ((double)blockSize * scaleBlockSize) : 4 + 32.0 / blockSize;
    }

    /// <summary>sqrt(mean((a − b)²)) / std(a): the rounding error in units of the weights' own spread.</summary>
    public static double RelativeRmse(Tensor original, Tensor approximation)
    {
        if (!original.shape.SequenceEqual(approximation.shape))
            throw new ArgumentException($"Both tensors need the same shape, got {Tensors.ShapeGuard.Format(original.shape)} and {Tensors.ShapeGuard.Format(approximation.shape)}.");
        using var scope = NewDisposeScope();
        var a = original.to(ScalarType.Float64);
        double std = a.std().item<double>();
        if (!(std > 0)) throw new ArgumentException("The original tensor has no spread (its standard deviation is 0), so a relative error is undefined.", nameof(original));
        double rmse = (a - approximation.to(ScalarType.Float64)).square().mean().sqrt().item<double>();
        return rmse / std;
    }

    /// <summary>
    /// Quantizes <paramref name="weight"/> in each format (default: NF4, INT4, FP4) with the same block size and scale
    /// treatment, and measures the error of each. On normally distributed weights NF4 comes out best, then INT4, then FP4.
    /// </summary>
    public static IReadOnlyList<FormatError> Compare(Tensor weight, IEnumerable<FourBitFormat>? formats = null, int blockSize = BlockQuantizer.DefaultBlockSize,
                                                     bool doubleQuantize = true, int scaleBlockSize = BlockQuantizer.DefaultScaleBlockSize)
    {
        var result = new List<FormatError>();
        foreach (var format in formats ?? FourBitFormat.All)
        {
            using var scope = NewDisposeScope();
            using var q = BlockQuantizer.Quantize(weight, format, blockSize, doubleQuantize, scaleBlockSize);
            var back = q.Dequantize();
            double maxError = (weight.to(ScalarType.Float32) - back).abs().max().item<float>();
            result.Add(new FormatError(format.Name, RelativeRmse(weight, back), maxError, q.BitsPerParameter, q.StoredBytes));
        }
        return result;
    }

    /// <summary>A seeded tensor of standard normal values — the shape trained weights roughly have — for comparisons.</summary>
    public static Tensor GaussianWeights(long rows, long columns, long seed = 0)
    {
        using var generator = new Generator(unchecked((ulong)seed));
        return randn([rows, columns], generator: generator);
    }
}
