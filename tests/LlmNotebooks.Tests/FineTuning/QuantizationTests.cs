using LlmNotebooks.FineTuning;
using LlmNotebooks.Transformer;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LlmNotebooks.Tests.FineTuning;

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
}
