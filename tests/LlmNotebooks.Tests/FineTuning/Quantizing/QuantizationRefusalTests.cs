using LlmNotebooks.FineTuning.Quantizing;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Tests.FineTuning.Quantizing;

/// <summary>
/// Quantization refuses what it cannot represent, by name: a NaN or ∞ among 4,096 weights (which would make all 4,096
/// dequantized values non-finite through the shared scales), float64 values beyond float32's range, and inputs of a
/// dtype a 4-bit layer cannot compute in (int64 gave zeros).
/// </summary>
public class QuantizationRefusalTests
{
    const string Why = ". A 4-bit tensor stores each value as a fraction of its block's largest |value|, and the scales share one mean, so one such value " +
                       "would make all 4,096 dequantized values non-finite. Find where it came from (a diverged run? load an earlier checkpoint), or leave this tensor unquantized.";

    static Tensor Weights(ScalarType dtype = ScalarType.Float32) => Quantization.GaussianWeights(64, 64, seed: 5).to(dtype);

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "+∞")]
    [InlineData(float.NegativeInfinity, "−∞")]
    public void One_non_finite_value_among_4096_is_refused_with_the_tensor_and_its_index(float bad, string shown)
    {
        using var scope = NewDisposeScope();
        var w = Weights();
        w[19, 18] = bad;                                                           // flat index 1234
        foreach (bool doubleQuantize in new[] { true, false })
        {
            var e = Assert.Throws<ArgumentException>(() => BlockQuantizer.Quantize(w, doubleQuantize: doubleQuantize, name: "h.0.mlp.c_fc.weight"));
            Assert.Equal($"Cannot quantize h.0.mlp.c_fc.weight: its value at [19, 18] is {shown}{Why} (Parameter 'h.0.mlp.c_fc.weight')", e.Message);
        }
        w[40, 2] = bad;
        Assert.Contains("its value at [19, 18] is " + shown + " (2 values are not representable)",
                        Assert.Throws<ArgumentException>(() => BlockQuantizer.Quantize(w)).Message);
    }

    [Fact]
    public void Float64_values_beyond_float32_s_range_are_refused_and_those_within_it_come_back_finite()
    {
        using var scope = NewDisposeScope();
        var w = Weights(ScalarType.Float64);
        w[3, 7] = -1e39;
        var e = Assert.Throws<ArgumentException>(() => BlockQuantizer.Quantize(w));
        Assert.Equal($"Cannot quantize weight: its value at [3, 7] is -1E+39, beyond float32's range (±3.4e38){Why} (Parameter 'weight')", e.Message);

        w[3, 7] = 3e38;                                                             // large, but a float32
        using var q = BlockQuantizer.Quantize(w);
        Assert.True(isfinite(q.Dequantize()).all().item<bool>());
    }

    [Fact]
    public void QuantizeLinears_checks_every_layer_first_and_names_the_bad_weight()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var model = new Gpt(new GptConfig(VocabSize: 23, BlockSize: 8, Layers: 2, Heads: 2, Channels: 16));
        using (no_grad()) ((TorchSharp.Modules.Linear)model.named_modules().First(m => m.name == "h.1.mlp.c_proj").module).weight![5, 6] = float.NaN;
        var e = Assert.Throws<ArgumentException>(() => Quantization.QuantizeLinears(model));
        Assert.StartsWith("Cannot quantize h.1.mlp.c_proj.weight: its value at [5, 6] is NaN. ", e.Message);
        Assert.DoesNotContain(model.modules(), m => m is Nf4Linear);               // nothing was replaced

        using var linear = Linear(64, 64);
        using (no_grad()) linear.weight![0, 1] = float.PositiveInfinity;
        Assert.StartsWith("Cannot quantize c_attn.weight: its value at [0, 1] is +∞.",
                          Assert.Throws<ArgumentException>(() => Nf4Linear.FromLinear(linear, name: "c_attn")).Message);
    }

    [Fact]
    public void Scales_with_a_NaN_are_refused_by_QuantizeScales()
    {
        using var scope = NewDisposeScope();
        var scales = ones(300);
        scales[299] = float.NaN;
        Assert.StartsWith("Cannot quantize scales: its value at [299] is NaN.", Assert.Throws<ArgumentException>(() => BlockQuantizer.QuantizeScales(scales)).Message);
    }

    [Theory]
    [InlineData(ScalarType.Int64)]
    [InlineData(ScalarType.Int32)]
    [InlineData(ScalarType.Bool)]
    public void Forward_refuses_an_input_it_cannot_compute_in(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var q = Nf4Linear.FromLinear(Linear(64, 8), name: "h.0.attn.c_proj");
        var x = ones(2, 64).to(dtype);
        var e = Assert.Throws<ArgumentException>(() => q.forward(x));
        Assert.Equal($"h.0.attn.c_proj computes in floating point, but its input is {dtype}: a linear layer of integers would round its 4-bit weights " +
                     "(all below 1 in size) to 0. Convert the input first (x.to(float32)); token ids go through an Embedding, not a linear layer. (Parameter 'x')", e.Message);
        Assert.True(isfinite(q.forward(ones(2, 64, dtype: float64))).all().item<bool>(), "float64 input computes");
    }
}
