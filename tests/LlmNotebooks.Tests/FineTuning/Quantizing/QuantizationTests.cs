using LlmNotebooks.FineTuning;
using LlmNotebooks.FineTuning.Quantizing;
using LlmNotebooks.Transformer;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LlmNotebooks.Tests.FineTuning.Quantizing;

public class QuantizationTests(ITestOutputHelper output)
{
    [Fact]
    public void On_gaussian_weights_nf4_has_the_smallest_error_then_fp4_then_int4()
    {
        using var scope = NewDisposeScope();
        var w = Quantization.GaussianWeights(512, 512, seed: 42);
        var errors = Quantization.Compare(w);
        foreach (var e in errors) output.WriteLine($"{e.Format}: RMSE/σ {e.RelativeRmse:F4}, max |error| {e.MaxAbsError:F4}, {e.BitsPerParameter:F4} bits, {e.StoredBytes:N0} bytes");
        Assert.Equal(["NF4", "INT4", "FP4"], errors.Select(e => e.Format));
        // RMSE: NF4 < FP4 < INT4 — the order of QLoRA's Table 2 (perplexity with Int4, Float4 E2M1 and NF4 weights).
        // FP4's levels crowd near 0 like a bell curve's values but are coarse at the top; INT4's even grid wastes
        // levels on the rare large values, yet it has the smallest worst-case error.
        Assert.True(errors[0].RelativeRmse < errors[2].RelativeRmse, "NF4 < FP4");
        Assert.True(errors[2].RelativeRmse < errors[1].RelativeRmse, "FP4 < INT4");
        Assert.True(errors[1].MaxAbsError < errors[0].MaxAbsError && errors[1].MaxAbsError < errors[2].MaxAbsError, "INT4 has the smallest largest error");
        Assert.InRange(errors[0].RelativeRmse, 0.05, 0.15);
        Assert.All(errors, e => Assert.Equal(Quantization.BitsPerParameter(512 * 512), e.BitsPerParameter, 12));
    }

    [Fact]
    public void The_comparison_is_deterministic_for_a_seed()
    {
        using var scope = NewDisposeScope();
        var a = Quantization.Compare(Quantization.GaussianWeights(64, 128, seed: 5));
        var b = Quantization.Compare(Quantization.GaussianWeights(64, 128, seed: 5));
        Assert.Equal(a, b);
    }

    [Fact]
    public void Relative_rmse_is_zero_for_equal_tensors_and_needs_a_spread()
    {
        using var scope = NewDisposeScope();
        var w = Quantization.GaussianWeights(8, 8);
        Assert.Equal(0, Quantization.RelativeRmse(w, w.clone()));
        Assert.Contains("same shape", Assert.Throws<ArgumentException>(() => Quantization.RelativeRmse(w, w.T[..4])).Message);
        Assert.Contains("standard deviation is 0", Assert.Throws<ArgumentException>(() => Quantization.RelativeRmse(ones(4), ones(4))).Message);
    }

    [Fact]
    public void The_course_model_quantized_keeps_embeddings_in_fp32_and_shrinks_its_linear_layers_8x()
    {
        using var scope = NewDisposeScope();
        var config = new GptConfig(2048, 64, 4, 4, 128);
        manual_seed(1);
        using var gpt = new Gpt(config);
        var report = Quantization.QuantizeLinears(gpt);
        output.WriteLine(report.ToString());
        Assert.Equal(4 * config.ParameterCount(), report.BytesBefore);
        long linearWeights = 4 * 12L * 128 * 128;                               // 786,432
        Assert.Equal(linearWeights, report.QuantizedParameters);
        long quantizedLinears = 4 * (QuantizedTensor.StoredBytesFor(384 * 128, 64, true) + QuantizedTensor.StoredBytesFor(128 * 128, 64, true)
                                     + QuantizedTensor.StoredBytesFor(512 * 128, 64, true) + QuantizedTensor.StoredBytesFor(128 * 512, 64, true));
        Assert.Equal(report.BytesBefore - 4 * linearWeights + quantizedLinears, report.BytesAfter);
    }

    [Fact]
    public void The_report_divides_bytes_before_by_bytes_after_and_says_so()
    {
        var report = new QuantizationReport(["a", "b"], 1536, 4000, 1000);
        Assert.Equal(4.0, report.Ratio);
        Assert.Equal(2.5, new QuantizationReport([], 0, 5, 2).Ratio);
        Assert.Equal("2 layers (1,536 weights) quantized: 4,000 → 1,000 bytes (4.00× smaller)", InvariantCulture.Format(report.ToString));
    }

    [Fact]
    public void A_missing_model_is_refused_by_name()
    {
        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => Quantization.QuantizeLinears(null!)).ParamName);
        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => Quantization.StoredBytes(null!)).ParamName);
    }

    [Fact]
    public void An_unknown_name_lists_the_linear_layers_and_claims_nothing_about_quantization()
    {
        using var scope = NewDisposeScope();
        using var gpt = new Gpt(GptConfig.Tiny);
        var e = Assert.Throws<ArgumentException>(() => Quantization.QuantizeLinears(gpt, ["h.0.attn.nope"]));
        Assert.Equal("names", e.ParamName);
        Assert.StartsWith("Not Linear layers of this model: h.0.attn.nope. Its Linear layers are: h.0.attn.c_attn, h.0.attn.c_proj,", e.Message);

        using var norm = LayerNorm(4);                                        // no Linear at all
        e = Assert.Throws<ArgumentException>(() => Quantization.QuantizeLinears(norm, ["proj"]));
        Assert.StartsWith("Not Linear layers of this model: proj. Its Linear layers are: none.", e.Message);
    }

    sealed class HalfRigid : Module<Tensor, Tensor>
    {
        readonly Module<Tensor, Tensor> first = Linear(64, 64);             // swappable
        readonly Linear second = Linear(64, 64);                            // declared as Linear: cannot hold an Nf4Linear
        public HalfRigid() : base("half_rigid") => RegisterComponents();
        public override Tensor forward(Tensor x) => second.forward(first.forward(x));
    }

    [Fact]
    public void A_rigid_second_layer_fails_before_the_first_is_replaced()
    {
        using var scope = NewDisposeScope();
        using var model = new HalfRigid();
        Assert.Equal(["first", "second"], ModuleSurgery.LinearNames(model));
        var e = Assert.Throws<ArgumentException>(() => Quantization.QuantizeLinears(model));
        Assert.Contains("HalfRigid.second is declared as Linear, which cannot hold a Nf4Linear", e.Message);
        Assert.Equal(["first", "second"], ModuleSurgery.LinearNames(model));  // nothing was half done
        Assert.DoesNotContain(model.named_modules(), m => m.module is Nf4Linear);
    }

    [Fact]
    public void The_bits_limit_needs_positive_block_sizes()
    {
        foreach (var (block, scale) in new[] { (0, 256), (-64, 256), (64, 0), (64, -1), (0, 0) })
        {
            var e = Assert.Throws<ArgumentException>(() => Quantization.BitsPerParameterLimit(block, scaleBlockSize: scale));
            Assert.Equal($"Block sizes must be positive, got {block} and {scale}.", e.Message);
        }
        Assert.Equal(4 + 8.0 / 2 + 32.0 / 2, Quantization.BitsPerParameterLimit(2, scaleBlockSize: 1), 12);   // the smallest sizes allowed
    }

    [Fact]
    public void Relative_rmse_is_the_rmse_over_the_sample_standard_deviation()
    {
        using var scope = NewDisposeScope();
        // error (0, 0, 0, 1): rmse = sqrt(1/4) = 0.5; std of 1, 2, 3, 4 (n − 1 in the denominator) = sqrt(5/3).
        double expected = 0.5 / Math.Sqrt(5.0 / 3);                          // 0.3873
        Assert.Equal(expected, Quantization.RelativeRmse(tensor(new[] { 1f, 2, 3, 4 }), tensor(new[] { 1f, 2, 3, 5 })), 12);
        Assert.Equal(1 / Math.Sqrt(2), Quantization.RelativeRmse(tensor(new[] { 0f, 2 }), tensor(new[] { 1f, 1 })), 12);
    }

    [Fact]
    public void Compare_measures_only_the_formats_it_is_given()
    {
        using var scope = NewDisposeScope();
        var w = Quantization.GaussianWeights(16, 64, seed: 2);
        var errors = Quantization.Compare(w, [FourBitFormat.Int4], doubleQuantize: false);
        var only = Assert.Single(errors);
        Assert.Equal("INT4", only.Format);
        using var q = BlockQuantizer.Quantize(w, FourBitFormat.Int4, doubleQuantize: false);
        var back = q.Dequantize();
        Assert.Equal(Quantization.RelativeRmse(w, back), only.RelativeRmse);
        Assert.Equal((w - back).abs().max().item<float>(), only.MaxAbsError);
        Assert.Equal(4.5, only.BitsPerParameter, 12);
        Assert.Equal(512 + 4 * 16, only.StoredBytes);
    }
}
