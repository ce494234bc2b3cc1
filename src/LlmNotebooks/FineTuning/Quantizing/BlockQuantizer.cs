using LlmNotebooks.Tensors;
using static TorchSharp.torch;

namespace LlmNotebooks.FineTuning.Quantizing;

/// <summary>
/// Block-wise 4-bit quantization, as QLoRA stores a frozen base model:
/// <list type="number">
/// <item>the weight, flattened in row-major order, is cut into blocks of <see cref="DefaultBlockSize"/> (64) values;</item>
/// <item>each block is divided by its absmax (largest |w|), so it lies in [-1, 1], and every value becomes the 4-bit code
/// of its nearest level in the <see cref="FourBitFormat"/>;</item>
/// <item>two codes are packed into each byte (<see cref="Pack"/>);</item>
/// <item>the absmax scales, one fp32 per 64 values (0.5 extra bits per value), are themselves quantized ("double
/// quantization"): their mean is subtracted, and they are stored as 8-bit absmax codes in groups of
/// <see cref="DefaultScaleBlockSize"/> (256), with one fp32 scale per group — 8/64 + 32/(64·256) ≈ 0.127 bits per value.</item>
/// </list>
/// Small blocks keep one outlier from flattening a whole row: only its own 63 neighbours share its large scale.
/// bitsandbytes quantizes the scales with its "dynamic" 8-bit float map; here they use plain symmetric int8 (-127..127),
/// which costs the same 8 bits and is easier to read.
/// </summary>
public static class BlockQuantizer
{
    /// <summary>QLoRA's block size for the 4-bit codes: 64 values share one absmax.</summary>
    public const int DefaultBlockSize = 64;

    /// <summary>QLoRA's block size for double quantization: 256 absmax scales share one fp32 scale.</summary>
    public const int DefaultScaleBlockSize = 256;

    /// <summary>
    /// Quantizes <paramref name="weight"/> (any shape, any float dtype; read as float32) into <paramref name="format"/> (NF4 by
    /// default) in blocks of <paramref name="blockSize"/> values, each with its absmax, double-quantized unless
    /// <paramref name="doubleQuantize"/> is false. Deterministic: the same weight always gives the same bytes.
    /// </summary>
    /// <param name="weight">The tensor to quantize.</param>
    /// <param name="format">The 4-bit format (NF4 when null).</param>
    /// <param name="blockSize">Values per absmax scale.</param>
    /// <param name="doubleQuantize">Whether the absmax scales are themselves stored in 8 bits.</param>
    /// <param name="scaleBlockSize">Absmax scales per fp32 group scale when double-quantized.</param>
    /// <param name="name">What the tensor is called in an error message ("h.0.attn.c_attn.weight").</param>
    /// <exception cref="ArgumentException">The block size is not positive and even, or does not divide the weight's element
    /// count; or a value is NaN, ±∞ or beyond float32's range (the message names the tensor and the first such index).</exception>
    public static QuantizedTensor Quantize(Tensor weight, FourBitFormat? format = null, int blockSize = DefaultBlockSize,
                                           bool doubleQuantize = true, int scaleBlockSize = DefaultScaleBlockSize, string name = "weight")
    {
        format ??= FourBitFormat.Nf4;
        RequireFloat(weight, "weight");
        RequireRepresentable(weight, name);
        long n = weight.numel();
        RequireBlocks(n, weight.shape, blockSize);
        if (doubleQuantize && scaleBlockSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(scaleBlockSize), $"The scale block size must be positive (QLoRA: {DefaultScaleBlockSize}), got {scaleBlockSize}.");

        using var scope = NewDisposeScope();
        var blocks = weight.detach().to(ScalarType.Float32).reshape(n / blockSize, blockSize);        // (blocks, block)
        var absmax = blocks.abs().amax(1);                                                             // (blocks)
        var safe = where(absmax > 0, absmax, ones_like(absmax));                                       // an all-zero block stays 0
        var codes = Encode(blocks / safe.unsqueeze(1), format).reshape(n);
        var packed = Pack(codes);
        if (!doubleQuantize)
            return new QuantizedTensor(format, weight.shape, blockSize, packed.MoveToOuterDisposeScope(), absmax.MoveToOuterDisposeScope());
        var (scaleCodes, groupScales, mean) = QuantizeScales(absmax, scaleBlockSize);
        return new QuantizedTensor(format, weight.shape, blockSize, packed.MoveToOuterDisposeScope(), null,
                                   scaleCodes.MoveToOuterDisposeScope(), groupScales.MoveToOuterDisposeScope(), mean.MoveToOuterDisposeScope(), scaleBlockSize);
    }

    /// <summary>
    /// The code (index of the nearest level) of every value of <paramref name="normalised"/>, which should lie in [-1, 1]:
    /// uint8 of the same shape. Nearest means: below the midpoint between two levels goes down, above goes up, exactly on
    /// it goes down. Example for INT4 (levels k/7): 0.4 → 10 (level 3/7), 0.95 → 14 (level 1).
    /// </summary>
    public static Tensor Encode(Tensor normalised, FourBitFormat format)
    {
        RequireFloat(normalised, "normalised");
        using var scope = NewDisposeScope();
        var thresholds = tensor(format.Thresholds.ToArray(), device: normalised.device);
        var codes = bucketize(normalised.to(ScalarType.Float32).contiguous(), thresholds);            // int64, 0..Count-1
        return codes.to(ScalarType.Byte).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Packs 4-bit codes (uint8 values 0..15, an even count, any shape: read in row-major order) two per byte, the first
    /// in the high nibble: codes [1, 2, 15, 0] → bytes [0x12, 0xF0]. Same order as bitsandbytes.
    /// </summary>
    public static Tensor Pack(Tensor codes)
    {
        if (codes.dtype != ScalarType.Byte)
            throw new ArgumentException($"Codes to pack must be uint8 (ScalarType.Byte) values 0..15, got {codes.dtype}.", nameof(codes));
        long n = codes.numel();
        if (n % 2 != 0) throw new ArgumentException($"Two codes share a byte, so the count must be even; got {n}.", nameof(codes));
        using var scope = NewDisposeScope();
        var pairs = codes.reshape(n / 2, 2).to(ScalarType.Int32);
        if (n > 0 && pairs.max().item<int>() > 15)
            throw new ArgumentException($"4-bit codes lie in 0..15; the largest here is {pairs.max().item<int>()}.", nameof(codes));
        var packed = pairs.select(1, 0) * 16 + pairs.select(1, 1);                                        // high nibble, low nibble
        return packed.to(ScalarType.Byte).MoveToOuterDisposeScope();
    }

    /// <summary>The inverse of <see cref="Pack"/>: bytes [0x12, 0xF0] → codes [1, 2, 15, 0] (uint8, twice as many, 1-D).</summary>
    public static Tensor Unpack(Tensor packed)
    {
        if (packed.dtype != ScalarType.Byte)
            throw new ArgumentException($"Packed codes are uint8 (ScalarType.Byte), got {packed.dtype}.", nameof(packed));
        using var scope = NewDisposeScope();
        var bytes = packed.reshape(-1).to(ScalarType.Int32);
        var high = bytes.div(16, rounding_mode: RoundingMode.floor);
        var low = bytes.remainder(16);
        return stack([high, low], 1).reshape(-1).to(ScalarType.Byte).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Double quantization of absmax scales (QLoRA §3): subtract their mean (scales are all positive, so centring them
    /// uses the 8-bit range on both sides), then store each group of <paramref name="groupSize"/> as int8 codes
    /// round(127 · (s − mean) / max|s − mean|) with that max kept in fp32. The last group may be shorter.
    /// Decoding: s' = code · groupScale / 127 + mean (<see cref="QuantizedTensor.Scales"/>).
    /// </summary>
    public static (Tensor Codes, Tensor GroupScales, Tensor Mean) QuantizeScales(Tensor scales, int groupSize = DefaultScaleBlockSize)
    {
        RequireFloat(scales, "scales");
        RequireRepresentable(scales, "scales");
        if (scales.dim() != 1 || scales.shape[0] == 0) throw new ArgumentException($"Expected a non-empty 1-D tensor of scales, got {ShapeGuard.Format(scales.shape)}.", nameof(scales));
        if (groupSize <= 0) throw new ArgumentOutOfRangeException(nameof(groupSize), $"The group size must be positive, got {groupSize}.");
        using var scope = NewDisposeScope();
        long count = scales.shape[0], groups = (count + groupSize - 1) / groupSize;
        var s = scales.to(ScalarType.Float32);
        var mean = s.mean().reshape(1);
        var centred = nn.functional.pad(s - mean, [0, groups * groupSize - count]).view(groups, groupSize);   // zero padding: no effect on a max
        var groupScales = centred.abs().amax(1);                                                             // (groups)
        var safe = where(groupScales > 0, groupScales, ones_like(groupScales));
        var codes = (centred / safe.unsqueeze(1) * 127).round().clamp(-127, 127).reshape(-1).narrow(0, 0, count);
        return (codes.to(ScalarType.Int8).MoveToOuterDisposeScope(), groupScales.MoveToOuterDisposeScope(), mean.MoveToOuterDisposeScope());
    }

    /// <summary>Throws unless <paramref name="blockSize"/> is positive, even, and divides <paramref name="count"/>; the message says what to do.</summary>
    public static void RequireBlocks(long count, IEnumerable<long> shape, int blockSize)
    {
        if (blockSize <= 0 || blockSize % 2 != 0)
            throw new ArgumentException($"The block size must be a positive even number (two 4-bit codes share a byte), got {blockSize}. QLoRA uses {DefaultBlockSize}.", nameof(blockSize));
        if (count == 0 || count % blockSize != 0)
        {
            string fits = string.Join(", ", new[] { 16, 32, 64, 128, 256 }.Where(b => count > 0 && count % b == 0));
            throw new ArgumentException(
                $"A block size of {blockSize} does not divide the {count:N0} values of a weight of shape {ShapeGuard.Format(shape)} " +
                $"({count:N0} = {count / blockSize} × {blockSize} + {count % blockSize}). Choose a block size that divides it" +
                (fits.Length > 0 ? $" (here: {fits})" : "") + ", or leave this tensor unquantized.", nameof(blockSize));
        }
    }

    /// <summary>
    /// Throws unless every value of <paramref name="values"/> is finite and within float32's range (the codes' scales are
    /// float32). One NaN or ∞ would not stay in its place: it becomes its block's absmax, and with double quantization the
    /// mean of all the scales, so every dequantized value of the tensor would come back non-finite. The message names the
    /// tensor (<paramref name="name"/>), the first bad index and its value.
    /// </summary>
    /// <exception cref="ArgumentException">A NaN, ±∞, or a float64 value beyond ±3.4·10³⁸.</exception>
    public static void RequireRepresentable(Tensor values, string name)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (!is_floating_point(values.dtype) || values.numel() == 0) return;
        using var scope = NewDisposeScope();
        var x = values.detach();
        var bad = isfinite(x).logical_not();
        if (x.dtype == ScalarType.Float64) bad = bad.logical_or(x.abs().gt(float.MaxValue));
        if (!bad.any().item<bool>()) return;
        long flat = bad.reshape(-1).nonzero().reshape(-1)[0].item<long>();
        double value = x.reshape(-1)[flat].to(ScalarType.Float64).item<double>();
        long total = bad.sum().item<long>();
        var index = new long[x.dim()];
        for (long rest = flat, d = x.dim() - 1; d >= 0; d--) { index[d] = rest % x.shape[d]; rest /= x.shape[d]; }
        string what = double.IsNaN(value) ? "NaN" : double.IsInfinity(value) ? (value > 0 ? "+∞" : "−∞")
            : $"{value.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)}, beyond float32's range (±3.4e38)";
        throw new ArgumentException(
            $"Cannot quantize {name}: its value at [{string.Join(", ", index)}] is {what}" + (total > 1 ? $" ({total:N0} values are not representable)" : "") +
            $". A 4-bit tensor stores each value as a fraction of its block's largest |value|, and the scales share one mean, so one such value " +
            $"would make all {x.numel():N0} dequantized values non-finite. Find where it came from (a diverged run? load an earlier checkpoint), " +
            "or leave this tensor unquantized.", name);
    }

    static void RequireFloat(Tensor t, string name)
    {
        if (!is_floating_point(t.dtype))
            throw new ArgumentException($"Only floating-point tensors can be quantized; {name} is {t.dtype}. Convert it with .to(float32) first.", name);
    }
}
