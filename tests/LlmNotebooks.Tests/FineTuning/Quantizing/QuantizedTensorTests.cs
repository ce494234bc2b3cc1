using LlmNotebooks.FineTuning.Quantizing;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.FineTuning.Quantizing;

/// <summary>The checks of <see cref="QuantizedTensor"/>'s constructor, its byte count, its text and who frees its tensors.</summary>
public class QuantizedTensorTests
{
    static Tensor Codes(long bytes) => zeros(bytes, dtype: ScalarType.Byte);

    [Fact]
    public void Fp32_scales_have_no_scale_block_size_even_if_one_is_given()
    {
        using var scope = NewDisposeScope();
        using var q = new QuantizedTensor(FourBitFormat.Nf4, [2, 64], 64, Codes(64), ones(2), scaleBlockSize: 256, ownsTensors: false);
        Assert.False(q.DoubleQuantized);
        Assert.Equal(0, q.ScaleBlockSize);
        Assert.Equal(64 + 4 * 2, q.StoredBytes);
    }

    [Fact]
    public void A_block_size_that_does_not_divide_the_shape_is_refused()
    {
        using var scope = NewDisposeScope();
        // 96 values in blocks of 64: the codes (48 bytes) and one absmax would fit the integer division, so only the guard catches it.
        var e = Assert.Throws<ArgumentException>(() => new QuantizedTensor(FourBitFormat.Nf4, [3, 32], 64, Codes(48), ones(1)));
        Assert.Equal("Block size 64 does not divide the 96 values of shape (3, 32).", e.Message);
        e = Assert.Throws<ArgumentException>(() => new QuantizedTensor(FourBitFormat.Nf4, [2, 64], 0, Codes(64), ones(2)));
        Assert.Equal("Block size 0 does not divide the 128 values of shape (2, 64).", e.Message);
    }

    [Fact]
    public void Each_part_is_checked_by_name_dtype_and_length()
    {
        using var scope = NewDisposeScope();
        var nf4 = FourBitFormat.Nf4;
        long[] shape = [2, 64];                                                       // 2 blocks of 64, 64 code bytes
        var e = Assert.Throws<ArgumentException>(() => new QuantizedTensor(nf4, shape, 64, Codes(64), ones(3)));
        Assert.Equal("The absmax must be a 1-D Float32 tensor of 2 elements, got Float32 (3).", e.Message);

        Tensor goodCodes() => zeros(2, dtype: ScalarType.Int8);
        QuantizedTensor Dq(Tensor? codes, Tensor? groupScales, Tensor? mean, int scaleBlockSize = 256) =>
            new(nf4, shape, 64, Codes(64), null, codes, groupScales, mean, scaleBlockSize);

        const string parts = "Give either fp32 absmax scales, or all three parts of double-quantized scales (codes, group scales, mean).";
        Assert.Equal(parts, Assert.Throws<ArgumentException>(() => Dq(null, null, null)).Message);
        Assert.Equal(parts, Assert.Throws<ArgumentException>(() => Dq(goodCodes(), ones(1), null)).Message);     // no mean
        Assert.Equal(parts, Assert.Throws<ArgumentException>(() => Dq(goodCodes(), null, ones(1))).Message);     // no group scales
        Assert.Equal(parts, Assert.Throws<ArgumentException>(() => Dq(null, ones(1), ones(1))).Message);        // no codes
        Assert.Equal("Double-quantized scales need a positive scale block size, got 0.",
                     Assert.Throws<ArgumentException>(() => Dq(goodCodes(), ones(1), ones(1), scaleBlockSize: 0)).Message);

        // Right length, wrong dtype: the dtype alone must fail the check.
        Assert.Equal("The absmax codes must be a 1-D Int8 tensor of 2 elements, got Byte (2).",
                     Assert.Throws<ArgumentException>(() => Dq(zeros(2, dtype: ScalarType.Byte), ones(1), ones(1))).Message);
        Assert.Equal("The absmax group scales must be a 1-D Float32 tensor of 1 elements, got Float32 (2).",
                     Assert.Throws<ArgumentException>(() => Dq(goodCodes(), ones(2), ones(1))).Message);
        Assert.Equal("The absmax mean must be a 1-D Float32 tensor of 1 elements, got Float32 (2).",
                     Assert.Throws<ArgumentException>(() => Dq(goodCodes(), ones(1), ones(2))).Message);
        using var fine = Dq(goodCodes(), ones(1), ones(1));                           // all three parts right: accepted
        Assert.Equal(256, fine.ScaleBlockSize);
    }

    [Fact]
    public void Stored_bytes_for_refuses_what_it_cannot_count()
    {
        const string expected = "Expected a positive count divisible by a positive even block size";
        foreach (var (count, block) in new (long, int)[] { (0, 64), (-64, 64), (96, 64), (96, 3), (128, 0), (128, -2) })
        {
            var e = Assert.Throws<ArgumentException>(() => QuantizedTensor.StoredBytesFor(count, block, doubleQuantized: false));
            Assert.Equal($"{expected}, got {count} values in blocks of {block}.", e.Message);
        }
        var s = Assert.Throws<ArgumentException>(() => QuantizedTensor.StoredBytesFor(128, 64, doubleQuantized: true, scaleBlockSize: 0));
        Assert.Equal("scaleBlockSize", s.ParamName);
        Assert.StartsWith("The scale block size must be positive, got 0.", s.Message);
        Assert.Equal(64 + 4 * 2, QuantizedTensor.StoredBytesFor(128, 64, doubleQuantized: false, scaleBlockSize: 0));   // fp32 scales need no group size
        Assert.Equal(64 + 2 + 4 * 2 + 4, QuantizedTensor.StoredBytesFor(128, 64, doubleQuantized: true, scaleBlockSize: 1));   // 2 blocks, 2 groups of 1
    }

    [Fact]
    public void The_text_names_format_shape_blocks_scales_bytes_and_bits()
    {
        using var scope = NewDisposeScope();
        var w = Quantization.GaussianWeights(16, 64, seed: 3);                        // 1,024 values, 16 blocks
        using var plain = BlockQuantizer.Quantize(w, doubleQuantize: false);
        using var dq = BlockQuantizer.Quantize(w);
        // fp32 scales: 512 code bytes + 4 · 16 = 576 bytes = 4.5 bits; double-quantized: 512 + 16 + 4 · 1 + 4 = 536 bytes = 4.1875 bits.
        Assert.Equal("NF4 (16, 64), blocks of 64, fp32 scales: 576 bytes (4.500 bits per value)", InvariantCulture.Format(plain.ToString));
        Assert.Equal("NF4 (16, 64), blocks of 64, scales double-quantized in groups of 256: 536 bytes (4.188 bits per value)", InvariantCulture.Format(dq.ToString));
        using var big = BlockQuantizer.Quantize(Quantization.GaussianWeights(64, 64), FourBitFormat.Int4, blockSize: 32, scaleBlockSize: 16);
        // 4,096 values: 2,048 + 128 blocks + 4 · 8 groups + 4 = 2,212 bytes
        Assert.Equal("INT4 (64, 64), blocks of 32, scales double-quantized in groups of 16: 2,212 bytes (4.320 bits per value)", InvariantCulture.Format(big.ToString));
    }

    [Fact]
    public void Dispose_frees_the_tensors_it_owns_and_leaves_borrowed_ones()
    {
        using var scope = NewDisposeScope();
        var w = Quantization.GaussianWeights(4, 64);
        var dq = BlockQuantizer.Quantize(w);
        Tensor[] dqParts = [dq.Codes, dq.AbsmaxCodes!, dq.AbsmaxGroupScales!, dq.AbsmaxMean!];
        dq.Dispose();
        Assert.All(dqParts, t => Assert.True(t.IsInvalid, "an owned part was not freed"));

        var plain = BlockQuantizer.Quantize(w, doubleQuantize: false);
        Tensor[] plainParts = [plain.Codes, plain.Absmax!];
        plain.Dispose();
        Assert.All(plainParts, t => Assert.True(t.IsInvalid, "an owned part was not freed"));

        var codes = Codes(128);
        Tensor absmaxCodes = zeros(4, dtype: ScalarType.Int8), groupScales = ones(1), mean = ones(1), absmax = ones(4);
        new QuantizedTensor(FourBitFormat.Nf4, [4, 64], 64, codes, null, absmaxCodes, groupScales, mean, 256, ownsTensors: false).Dispose();
        new QuantizedTensor(FourBitFormat.Nf4, [4, 64], 64, codes, absmax, ownsTensors: false).Dispose();
        Assert.All([codes, absmaxCodes, groupScales, mean, absmax], t => Assert.False(t.IsInvalid, "a borrowed tensor was freed"));
        Assert.Equal(128, codes.numel());
    }
}
