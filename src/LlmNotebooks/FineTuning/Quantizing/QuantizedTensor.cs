using LlmNotebooks.Tensors;
using static TorchSharp.torch;

namespace LlmNotebooks.FineTuning.Quantizing;

/// <summary>
/// A float tensor stored in a 4-bit format (<see cref="BlockQuantizer.Quantize"/> makes one): the 4-bit codes, two per
/// byte, and one absmax scale per block of <see cref="BlockSize"/> values. The scales are kept either in fp32
/// (<see cref="Absmax"/>), or — QLoRA's double quantization — themselves quantized to 8 bits
/// (<see cref="AbsmaxCodes"/>, <see cref="AbsmaxGroupScales"/>, <see cref="AbsmaxMean"/>).
/// <code>
/// using var q = BlockQuantizer.Quantize(weight, FourBitFormat.Nf4);   // 64 values a block, scales double-quantized
/// using var back = q.Dequantize();                                     // float32, weight's shape
/// q.BitsPerParameter                                                   // ≈ 4.127
/// </code>
/// The object owns its tensors: dispose it (or hand the tensors to an <see cref="Nf4Linear"/>, which then owns them).
/// </summary>
public sealed class QuantizedTensor : IDisposable
{
    /// <summary>The 4-bit format whose levels the codes index.</summary>
    public FourBitFormat Format { get; }
    /// <summary>The shape of the original tensor (restored by <see cref="Dequantize"/>).</summary>
    public long[] Shape { get; }
    /// <summary>How many consecutive values (in row-major order) share one absmax scale: 64 in QLoRA.</summary>
    public int BlockSize { get; }
    /// <summary>How many absmax scales share one fp32 scale when double-quantized: 256 in QLoRA (0 when not double-quantized).</summary>
    public int ScaleBlockSize { get; }

    /// <summary>uint8, numel/2 bytes: value 2i in the high nibble of byte i, value 2i+1 in the low nibble (see <see cref="BlockQuantizer.Pack"/>).</summary>
    public Tensor Codes { get; }
    /// <summary>float32, one per block: the block's largest |w|. Null when the scales are double-quantized.</summary>
    public Tensor? Absmax { get; }
    /// <summary>int8, one per block: (absmax − mean) in 8-bit absmax form, -127..127. Null when not double-quantized.</summary>
    public Tensor? AbsmaxCodes { get; }
    /// <summary>float32, one per group of <see cref="ScaleBlockSize"/> absmax codes: the group's largest |absmax − mean|.</summary>
    public Tensor? AbsmaxGroupScales { get; }
    /// <summary>float32 [1]: the mean of all absmax values, subtracted before their quantization.</summary>
    public Tensor? AbsmaxMean { get; }

    readonly bool _ownsTensors;

    /// <summary>Assembles a quantized tensor from its parts (checked against each other). <see cref="BlockQuantizer.Quantize"/> is the usual way to get one.</summary>
    public QuantizedTensor(FourBitFormat format, long[] shape, int blockSize, Tensor codes, Tensor? absmax,
                           Tensor? absmaxCodes = null, Tensor? absmaxGroupScales = null, Tensor? absmaxMean = null, int scaleBlockSize = 0,
                           bool ownsTensors = true)
    {
        Format = format ?? throw new ArgumentNullException(nameof(format));
        Shape = shape.ToArray();
        BlockSize = blockSize;
        Codes = codes;
        Absmax = absmax;
        AbsmaxCodes = absmaxCodes;
        AbsmaxGroupScales = absmaxGroupScales;
        AbsmaxMean = absmaxMean;
        ScaleBlockSize = absmaxCodes is null ? 0 : scaleBlockSize;
        _ownsTensors = ownsTensors;

        long n = Shape.Aggregate(1L, (a, b) => a * b), blocks = n / Math.Max(blockSize, 1);
        if (blockSize <= 0 || n % blockSize != 0) throw new ArgumentException($"Block size {blockSize} does not divide the {n} values of shape {ShapeGuard.Format(Shape)}.");
        Require(codes, "codes", ScalarType.Byte, n / 2);
        if (absmax is not null) Require(absmax, "absmax", ScalarType.Float32, blocks);
        else
        {
            if (absmaxCodes is null || absmaxGroupScales is null || absmaxMean is null)
                throw new ArgumentException("Give either fp32 absmax scales, or all three parts of double-quantized scales (codes, group scales, mean).");
            if (scaleBlockSize <= 0) throw new ArgumentException($"Double-quantized scales need a positive scale block size, got {scaleBlockSize}.");
            Require(absmaxCodes, "absmax codes", ScalarType.Int8, blocks);
            Require(absmaxGroupScales, "absmax group scales", ScalarType.Float32, (blocks + scaleBlockSize - 1) / scaleBlockSize);
            Require(absmaxMean, "absmax mean", ScalarType.Float32, 1);
        }
    }

    static void Require(Tensor t, string what, ScalarType dtype, long count)
    {
        if (t.dtype != dtype || t.dim() != 1 || t.shape[0] != count)
            throw new ArgumentException($"The {what} must be a 1-D {dtype} tensor of {count} elements, got {t.dtype} {ShapeGuard.Format(t.shape)}.");
    }

    /// <summary>Whether the absmax scales are stored in 8 bits (QLoRA's double quantization).</summary>
    public bool DoubleQuantized => AbsmaxCodes is not null;

    /// <summary>How many values the original tensor has.</summary>
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>How many blocks of <see cref="BlockSize"/> values (= how many absmax scales).</summary>
    public long Blocks => Count / BlockSize;

    /// <summary>
    /// The bytes the quantized tensor occupies: the packed codes (numel/2), plus either 4 bytes per block (fp32 absmax),
    /// or 1 byte per block + 4 bytes per group of <see cref="ScaleBlockSize"/> blocks + 4 bytes for the mean.
    /// Its shape, block sizes and format are bookkeeping of a few bytes and are not counted.
    /// </summary>
    public long StoredBytes => StoredBytesFor(Count, BlockSize, DoubleQuantized, ScaleBlockSize);

    /// <summary>Stored bits per original value: 8 · <see cref="StoredBytes"/> / <see cref="Count"/> (≈ 4.127 for NF4 with double quantization).</summary>
    public double BitsPerParameter => 8.0 * StoredBytes / Count;

    /// <summary>
    /// The byte count of <see cref="StoredBytes"/> for a tensor of <paramref name="count"/> values, without making one.
    /// Example: 768 × 768 values, blocks of 64, double-quantized in groups of 256: 294,912 + 9,216 + 4 · 36 + 4 = 304,276 bytes.
    /// </summary>
    public static long StoredBytesFor(long count, int blockSize, bool doubleQuantized, int scaleBlockSize = BlockQuantizer.DefaultScaleBlockSize)
    {
        if (count <= 0 || blockSize <= 0 || count % blockSize != 0 || blockSize % 2 != 0)
            throw new ArgumentException($"Expected a positive count divisible by a positive even block size, got {count} values in blocks of {blockSize}.");
        long blocks = count / blockSize, codes = count / 2;
        if (!doubleQuantized) return codes + 4 * blocks;
        if (scaleBlockSize <= 0) throw new ArgumentException($"The scale block size must be positive, got {scaleBlockSize}.", nameof(scaleBlockSize));
        long groups = (blocks + scaleBlockSize - 1) / scaleBlockSize;
        return codes + blocks + 4 * groups + 4;
    }

    /// <summary>The absmax scale of every block as dequantization uses it: exact fp32, or decoded from its 8-bit form.</summary>
    public Tensor Scales()
    {
        if (Absmax is not null) return Absmax.clone();
        using var scope = NewDisposeScope();
        long groupSize = ScaleBlockSize;
        var perBlock = AbsmaxGroupScales!.repeat_interleave(groupSize).narrow(0, 0, Blocks);   // each block's group scale
        var scales = AbsmaxCodes!.to(ScalarType.Float32) * (perBlock / 127f) + AbsmaxMean!;
        return scales.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Back to float32 with the original shape: each code's level times its block's scale. Rather than unpacking the
    /// nibbles, each byte looks up its pair of levels in a 256-row table (row b = [level of b's high nibble, level of
    /// its low nibble]), which is one gather instead of several passes over the codes.
    /// </summary>
    public Tensor Dequantize()
    {
        using var scope = NewDisposeScope();
        var pairs = tensor(Format.BytePairLevels, [256, 2], device: Codes.device);
        var normalised = pairs.index_select(0, Codes.to(ScalarType.Int64)).view(Blocks, BlockSize);   // (blocks, block) in [-1, 1]
        var values = normalised * Scales().unsqueeze(1);
        return values.view(Shape).MoveToOuterDisposeScope();
    }

    public override string ToString() =>
        $"{Format.Name} {ShapeGuard.Format(Shape)}, blocks of {BlockSize}" + (DoubleQuantized ? $", scales double-quantized in groups of {ScaleBlockSize}" : ", fp32 scales") +
        $": {StoredBytes:N0} bytes ({BitsPerParameter:F3} bits per value)";

    public void Dispose()
    {
        if (!_ownsTensors) return;
        Codes.Dispose();
        Absmax?.Dispose();
        AbsmaxCodes?.Dispose();
        AbsmaxGroupScales?.Dispose();
        AbsmaxMean?.Dispose();
    }
}
