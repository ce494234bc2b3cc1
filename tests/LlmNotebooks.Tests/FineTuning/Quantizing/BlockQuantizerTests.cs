using LlmNotebooks.FineTuning.Quantizing;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.FineTuning.Quantizing;

public class BlockQuantizerTests
{
    static Tensor Gaussian(long rows, long cols, long seed = 7) => Quantization.GaussianWeights(rows, cols, seed);

    [Fact]
    public void Packing_puts_the_first_code_in_the_high_nibble()
    {
        using var scope = NewDisposeScope();
        var packed = BlockQuantizer.Pack(tensor(new byte[] { 1, 2, 15, 0 }));
        Assert.Equal(new byte[] { 0x12, 0xF0 }, packed.data<byte>().ToArray());
        Assert.Equal(new byte[] { 1, 2, 15, 0 }, BlockQuantizer.Unpack(packed).data<byte>().ToArray());

        var codes = randint(0, 16, [1000], generator: new Generator(3)).to(ScalarType.Byte);
        Assert.True(TensorAssert.Same(BlockQuantizer.Unpack(BlockQuantizer.Pack(codes)), codes));
    }

    [Fact]
    public void Dequantize_reads_the_high_nibble_first_and_scales_each_block()
    {
        using var scope = NewDisposeScope();
        var bytes = new byte[32];
        bytes[0] = 0x12; bytes[1] = 0xF0;                                   // codes 1, 2, 15, 0, then zeros: 64 values, one block
        var codes = tensor(bytes.Concat(bytes).ToArray());                  // two blocks
        var q = new QuantizedTensor(FourBitFormat.Nf4, [2, 64], 64, codes, tensor(new[] { 2f, 0.5f }));
        var back = q.Dequantize();
        var L = FourBitFormat.Nf4.Levels;
        Assert.Equal(new[] { 2 * L[1], 2 * L[2], 2 * L[15], 2 * L[0], 2 * L[0] }, back[0, ..5].data<float>().ToArray());
        Assert.Equal(new[] { 0.5f * L[1], 0.5f * L[2], 0.5f * L[15] }, back[1, ..3].data<float>().ToArray());
    }

    [Fact]
    public void Packing_rejects_odd_counts_codes_above_15_and_other_dtypes()
    {
        using var scope = NewDisposeScope();
        Assert.Contains("even", Assert.Throws<ArgumentException>(() => BlockQuantizer.Pack(tensor(new byte[] { 1, 2, 3 }))).Message);
        Assert.Contains("0..15; the largest here is 16", Assert.Throws<ArgumentException>(() => BlockQuantizer.Pack(tensor(new byte[] { 1, 16 }))).Message);
        Assert.Contains("uint8", Assert.Throws<ArgumentException>(() => BlockQuantizer.Pack(tensor(new long[] { 1, 2 }))).Message);
    }

    [Theory]
    [InlineData("NF4")]
    [InlineData("INT4")]
    [InlineData("FP4")]
    public void Every_level_times_a_block_scale_is_stored_exactly(string name)
    {
        using var scope = NewDisposeScope();
        var format = FourBitFormat.All.Single(f => f.Name == name);
        // 4 blocks of 64: the levels repeated, each block scaled by a power of two (so that level · scale is exact).
        var levels = tensor(format.Levels.ToArray());
        var block = levels.repeat(64 / format.Levels.Count + 1)[..64];
        block[0] = tensor(1f);                                           // make sure absmax = 1 · scale
        var weight = stack([block * 0.5f, block * 2f, block * 0.125f, block * 4f]).reshape(8, 32);
        foreach (bool dq in new[] { false, true })
        {
            using var q = BlockQuantizer.Quantize(weight, format, doubleQuantize: dq);
            var back = q.Dequantize();
            if (!dq) Assert.True(TensorAssert.Same(back, weight), $"{name}: fp32 scales must give every level exactly");
            else Assert.True(back.allclose(weight, rtol: 0, atol: 4 * 4f / 127 / 2 + 1e-6), $"{name}: 8-bit scales stay within half a scale step");
        }
    }

    [Fact]
    public void Values_map_to_their_nearest_level()
    {
        using var scope = NewDisposeScope();
        var codes = BlockQuantizer.Encode(tensor(new[] { -1f, 0.4f, 0.95f, 0f, 1f, 0.07f }), FourBitFormat.Int4);
        Assert.Equal(new byte[] { 0, 10, 14, 7, 14, 7 }, codes.data<byte>().ToArray());
        var nf4 = BlockQuantizer.Encode(tensor(FourBitFormat.Nf4.Levels.ToArray()), FourBitFormat.Nf4);
        Assert.Equal(Enumerable.Range(0, 16).Select(i => (byte)i), nf4.data<byte>().ToArray());
    }

    [Fact]
    public void Round_trip_error_is_at_most_half_the_widest_level_gap_times_the_block_absmax()
    {
        using var scope = NewDisposeScope();
        var w = Gaussian(64, 96);
        foreach (var format in FourBitFormat.All)
        {
            using var q = BlockQuantizer.Quantize(w, format, doubleQuantize: false);
            var levels = format.Levels;
            double halfGap = Enumerable.Range(1, levels.Count - 1).Max(i => levels[i] - levels[i - 1]) / 2.0;
            var absmax = w.reshape(-1, 64).abs().amax([1], keepdim: true);
            var error = (q.Dequantize() - w).reshape(-1, 64).abs();
            Assert.True((error <= absmax * (halfGap + 1e-6)).all().item<bool>(), $"{format.Name}: an error exceeds half a level gap");
            Assert.True(TensorAssert.Same(q.Absmax!, absmax.squeeze(1)), "fp32 scales are the exact absmax");
        }
    }

    [Fact]
    public void Double_quantized_scales_stay_within_half_an_8_bit_step_of_the_originals()
    {
        using var scope = NewDisposeScope();
        var w = Gaussian(256, 320);                                         // 1,280 blocks: 5 groups of 256
        using var exact = BlockQuantizer.Quantize(w, doubleQuantize: false);
        using var dq = BlockQuantizer.Quantize(w);
        var s = exact.Absmax!;
        var decoded = dq.Scales();
        var centred = (s - s.mean()).reshape(5, 256).abs().amax(1);         // each group's largest |s − mean|
        var bound = centred.repeat_interleave(256) / 127 / 2 * (1 + 1e-5) + 1e-7;
        Assert.True(((decoded - s).abs() <= bound).all().item<bool>(), "a decoded scale is off by more than half a step");
        Assert.True(((decoded - s).abs() / s).max().item<float>() < 0.01, "scales within 1%");
        Assert.True(TensorAssert.Same(dq.Codes, exact.Codes), "the 4-bit codes use the exact absmax either way");
        Assert.Equal(ScalarType.Int8, dq.AbsmaxCodes!.dtype);
        Assert.Equal(new long[] { 5 }, dq.AbsmaxGroupScales!.shape);
    }

    [Fact]
    public void A_partial_last_group_of_scales_is_allowed()
    {
        using var scope = NewDisposeScope();
        var w = Gaussian(10, 64);                                           // 10 blocks: one group of 256, partly filled
        using var q = BlockQuantizer.Quantize(w);
        Assert.Equal(new long[] { 1 }, q.AbsmaxGroupScales!.shape);
        Assert.True(Quantization.RelativeRmse(w, q.Dequantize()) < 0.15);
    }

    [Fact]
    public void Quantization_is_deterministic_and_keeps_zero_blocks_zero()
    {
        using var scope = NewDisposeScope();
        var w = Gaussian(32, 64);
        w[0] = zeros(64);
        using var a = BlockQuantizer.Quantize(w);
        using var b = BlockQuantizer.Quantize(w.clone());
        Assert.True(TensorAssert.Same(a.Codes, b.Codes));
        Assert.True(TensorAssert.Same(a.AbsmaxCodes!, b.AbsmaxCodes!));
        Assert.True(TensorAssert.Same(a.AbsmaxGroupScales!, b.AbsmaxGroupScales!));
        Assert.True(TensorAssert.Same(a.Dequantize(), b.Dequantize()));
        using var exact = BlockQuantizer.Quantize(w, doubleQuantize: false);
        Assert.True(TensorAssert.Same(exact.Dequantize()[0], zeros(64)), "an all-zero block dequantizes to zeros");
    }

    [Fact]
    public void A_block_size_that_does_not_divide_the_weight_says_the_size_the_block_and_what_to_do()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => BlockQuantizer.Quantize(Gaussian(6, 16), blockSize: 64));
        Assert.Contains("block size of 64 does not divide the 96 values of a weight of shape (6, 16)", e.Message);
        Assert.Contains("96 = 1 × 64 + 32", e.Message);
        Assert.Contains("Choose a block size that divides it (here: 16, 32), or leave this tensor unquantized", e.Message);
        Assert.Contains("positive even number", Assert.Throws<ArgumentException>(() => BlockQuantizer.Quantize(Gaussian(6, 16), blockSize: 3)).Message);
        Assert.Contains("floating-point", Assert.Throws<ArgumentException>(() => BlockQuantizer.Quantize(ones(64, dtype: int64))).Message);
    }

    [Fact]
    public void Stored_bytes_are_the_bytes_of_the_parts_and_follow_the_formula()
    {
        using var scope = NewDisposeScope();
        using var q = BlockQuantizer.Quantize(Gaussian(768, 768));
        long parts = new[] { q.Codes, q.AbsmaxCodes!, q.AbsmaxGroupScales!, q.AbsmaxMean! }.Sum(t => t.numel() * t.ElementSize);
        Assert.Equal(parts, q.StoredBytes);
        Assert.Equal(294_912 + 9_216 + 4 * 36 + 4, q.StoredBytes);
        using var plain = BlockQuantizer.Quantize(Gaussian(768, 768), doubleQuantize: false);
        Assert.Equal(294_912 + 4 * 9_216, plain.StoredBytes);
        Assert.Equal(4.5, plain.BitsPerParameter, 12);
    }

    [Fact]
    public void Bits_per_parameter_is_4_plus_8_over_64_plus_32_over_64x256_plus_the_mean()
    {
        Assert.Equal(4.126953125, Quantization.BitsPerParameterLimit(), 15);        // 4 + 0.125 + 0.001953125
        Assert.Equal(4.5, Quantization.BitsPerParameterLimit(doubleQuantize: false), 15);
        foreach (long n in new long[] { 64 * 256, 768 * 768, 768 * 3072, 50257L * 64 * 4 })
        {
            long blocks = n / 64, groups = (blocks + 255) / 256;
            double expected = 4 + 8.0 * blocks / n + 32.0 * groups / n + 32.0 / n;
            Assert.Equal(expected, Quantization.BitsPerParameter(n), 12);
        }
        Assert.Equal(4 + 8.0 / 64 + 32.0 / (64 * 256) + 32.0 / (768 * 3072), Quantization.BitsPerParameter(768 * 3072), 12);   // 36,864 blocks = 144 full groups
        Assert.InRange(Quantization.BitsPerParameter(768 * 768), 4.1270, 4.1271);
    }

    [Fact]
    public void Quantized_parts_are_checked_against_each_other()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => new QuantizedTensor(FourBitFormat.Nf4, [4, 32], 64, zeros(63, dtype: ScalarType.Byte), zeros(2)));
        Assert.Contains("codes must be a 1-D Byte tensor of 64 elements, got Byte (63)", e.Message);
    }

    [Fact]
    public void Each_guard_names_the_tensor_it_refuses()
    {
        using var scope = NewDisposeScope();
        var ints = ones(64, dtype: int64);
        void Refused(Action call, string name)
        {
            var e = Assert.Throws<ArgumentException>(call);
            Assert.Equal(name, e.ParamName);
            Assert.StartsWith($"Only floating-point tensors can be quantized; {name} is Int64. Convert it with .to(float32) first.", e.Message);
        }
        Refused(() => BlockQuantizer.Quantize(ints), "weight");
        Refused(() => BlockQuantizer.Encode(ints, FourBitFormat.Nf4), "normalised");
        Refused(() => BlockQuantizer.QuantizeScales(ints), "scales");

        var u = Assert.Throws<ArgumentException>(() => BlockQuantizer.Unpack(tensor(new long[] { 0x12 })));
        Assert.Equal("packed", u.ParamName);
        Assert.StartsWith("Packed codes are uint8 (ScalarType.Byte), got Int64.", u.Message);
    }

    [Fact]
    public void A_zero_scale_block_size_is_refused_only_when_scales_are_double_quantized()
    {
        using var scope = NewDisposeScope();
        var w = Gaussian(2, 64);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => BlockQuantizer.Quantize(w, scaleBlockSize: 0));
        Assert.Equal("scaleBlockSize", e.ParamName);
        Assert.StartsWith("The scale block size must be positive (QLoRA: 256), got 0.", e.Message);
        using var plain = BlockQuantizer.Quantize(w, doubleQuantize: false, scaleBlockSize: 0);
        Assert.False(plain.DoubleQuantized);
    }

    [Fact]
    public void Scales_are_centred_on_their_mean_and_coded_per_group_by_hand()
    {
        using var scope = NewDisposeScope();
        // mean 3; centred -2, -0.5 | 0.5, 2; both groups' largest |s − mean| is 2; codes round(127 · centred / 2).
        var (codes, groupScales, mean) = BlockQuantizer.QuantizeScales(tensor(new[] { 1f, 2.5f, 3.5f, 5f }), groupSize: 2);
        Assert.Equal(new sbyte[] { -127, -32, 32, 127 }, codes.data<sbyte>().ToArray());        // -31.75 → -32, 31.75 → 32
        Assert.Equal(new[] { 2f, 2f }, groupScales.data<float>().ToArray());
        Assert.Equal(new[] { 3f }, mean.data<float>().ToArray());
        // A group whose scales all equal the mean has group scale 0 and codes 0 (not 0/0).
        var (flatCodes, flatScales, _) = BlockQuantizer.QuantizeScales(tensor(new[] { 0.5f, 0.5f, 0.5f }), groupSize: 2);
        Assert.Equal(new sbyte[] { 0, 0, 0 }, flatCodes.data<sbyte>().ToArray());
        Assert.Equal(new[] { 0f, 0f }, flatScales.data<float>().ToArray());
    }

    [Fact]
    public void Scales_must_be_a_non_empty_vector_in_groups_of_a_positive_size()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<ArgumentException>(() => BlockQuantizer.QuantizeScales(ones(2, 2)));
        Assert.Equal("scales", e.ParamName);
        Assert.StartsWith("Expected a non-empty 1-D tensor of scales, got (2, 2).", e.Message);
        e = Assert.Throws<ArgumentException>(() => BlockQuantizer.QuantizeScales(ones(0)));
        Assert.StartsWith("Expected a non-empty 1-D tensor of scales, got (0).", e.Message);
        foreach (int size in new[] { 0, -1 })
        {
            var g = Assert.Throws<ArgumentOutOfRangeException>(() => BlockQuantizer.QuantizeScales(ones(4), size));
            Assert.Equal("groupSize", g.ParamName);
            Assert.StartsWith($"The group size must be positive, got {size}.", g.Message);
        }
    }

    [Fact]
    public void Packing_nothing_gives_nothing()
    {
        using var scope = NewDisposeScope();
        var packed = BlockQuantizer.Pack(zeros(0, dtype: ScalarType.Byte));
        Assert.Equal(0, packed.numel());
        Assert.Equal(ScalarType.Byte, packed.dtype);
        Assert.Equal(0, BlockQuantizer.Unpack(packed).numel());
    }

    [Theory]
    [InlineData("NF4")]
    [InlineData("INT4")]
    [InlineData("FP4")]
    public void An_all_zero_block_gets_the_code_of_the_zero_level(string name)
    {
        using var scope = NewDisposeScope();
        var format = FourBitFormat.All.Single(f => f.Name == name);
        Assert.Equal(0f, format.Levels[7]);                                    // all three formats have 0 at code 7
        var w = Gaussian(2, 64);
        w[1] = zeros(64);                                                      // block 1: absmax 0
        foreach (bool dq in new[] { false, true })
        {
            using var q = BlockQuantizer.Quantize(w, format, doubleQuantize: dq);
            Assert.All(q.Codes[32..].data<byte>().ToArray(), b => Assert.Equal(0x77, b));   // not 0/0 = NaN, which would bucket to the top level
            Assert.True(TensorAssert.Same(q.Dequantize()[1], zeros(64)), $"{name}, double quantization {dq}: the zero block comes back as zeros");
        }
    }

    [Fact]
    public void Block_size_messages_list_only_the_sizes_that_fit()
    {
        var e = Assert.Throws<ArgumentException>(() => BlockQuantizer.RequireBlocks(128, [2, 64], 0));
        Assert.Equal("blockSize", e.ParamName);
        Assert.StartsWith("The block size must be a positive even number (two 4-bit codes share a byte), got 0. QLoRA uses 64.", e.Message);
        // 6 values: no standard block size divides them, so no "(here: …)" list, not even an empty one.
        e = Assert.Throws<ArgumentException>(() => BlockQuantizer.RequireBlocks(6, [2, 3], 4));
        Assert.StartsWith("A block size of 4 does not divide the 6 values of a weight of shape (2, 3) (6 = 1 × 4 + 2). " +
                          "Choose a block size that divides it, or leave this tensor unquantized.", e.Message);
        // An empty tensor: every size "divides" 0, but none makes a block.
        e = Assert.Throws<ArgumentException>(() => BlockQuantizer.RequireBlocks(0, [0, 64], 64));
        Assert.StartsWith("A block size of 64 does not divide the 0 values of a weight of shape (0, 64) (0 = 0 × 64 + 0). " +
                          "Choose a block size that divides it, or leave this tensor unquantized.", e.Message);
        BlockQuantizer.RequireBlocks(128, [2, 64], 64);                        // fits: no exception
    }
}
