using System.Diagnostics;
using System.Globalization;
using LlmNotebooks.FineTuning.Quantizing;
using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Benchmarks;

/// <summary>
/// The numbers behind chapter 5's quantization section: the rounding error of NF4, INT4 and FP4 on Gaussian weights,
/// bits per parameter, the stored size of quantized models, and what dequantizing in forward costs. Plain measurements
/// (no BenchmarkDotNet): errors are exact for a seed, and the timings are the fastest of several runs.
/// </summary>
static class Nf4Measurements
{
    static string F(double v, string f) => v.ToString(f, CultureInfo.InvariantCulture);

    public static string Report(string commit)
    {
        const int Rows = 2048, Cols = 2048, Seeds = 5;
        // RMSE/σ per format, over several seeds, with the scales double-quantized (QLoRA) and in fp32.
        var rows = new List<string>();
        foreach (bool dq in new[] { true, false })
        {
            var perFormat = FourBitFormat.All.ToDictionary(f => f.Name, _ => new List<FormatError>());
            for (int seed = 0; seed < Seeds; seed++)
            {
                using var scope = NewDisposeScope();
                var w = Quantization.GaussianWeights(Rows, Cols, seed);
                foreach (var e in Quantization.Compare(w, doubleQuantize: dq)) perFormat[e.Format].Add(e);
            }
            foreach (var (name, list) in perFormat)
            {
                var r = list.Select(e => e.RelativeRmse).ToList();
                rows.Add($"| {name} | {(dq ? "8-bit, groups of 256" : "fp32")} | **{F(r.Average(), "F4")}** | {F(r.Min(), "F4")} – {F(r.Max(), "F4")} | " +
                         $"{F(list.Average(e => e.MaxAbsError), "F3")} | {F(list[0].BitsPerParameter, "F4")} | {list[0].StoredBytes:N0} |");
            }
        }

        // Stored bytes of whole models: the course model really quantized; GPT-2 small by the same formula per layer.
        var course = new GptConfig(2048, 64, 4, 4, 128);
        QuantizationReport courseReport;
        manual_seed(1234);
        using (var gpt = new Gpt(course)) courseReport = Quantization.QuantizeLinears(gpt);
        var g2 = GptConfig.Gpt2Small;
        long C = g2.Channels, linearWeights = g2.Layers * 12 * C * C;
        long g2Before = 4 * g2.ParameterCount();
        long g2Linear4 = g2.Layers * (QuantizedTensor.StoredBytesFor(3 * C * C, 64, true) + QuantizedTensor.StoredBytesFor(C * C, 64, true)
                                      + 2 * QuantizedTensor.StoredBytesFor(4 * C * C, 64, true));
        long g2After = g2Before - 4 * linearWeights + g2Linear4;

        // What dequantizing on the fly costs: one GPT-2-sized c_fc (768 → 3072) on 64 tokens, fp32 Linear vs Nf4Linear.
        manual_seed(1);
        using var linear = nn.Linear(768, 3072);
        using var nf4 = Nf4Linear.FromLinear(linear);
        using var x = randn(1, 64, 768);
        double Best(Func<Tensor> f)
        {
            double best = double.MaxValue;
            for (int i = 0; i < 30; i++)
            {
                using var scope = NewDisposeScope();
                var sw = Stopwatch.StartNew();
                using (no_grad()) f();
                best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
            }
            return best;
        }
        int threads = torch.get_num_threads();
        torch.set_num_threads(1);                        // two-thread timings swing widely on a shared machine
        double tDequant = Best(() => nf4.DequantizedWeight()), tLinear = Best(() => linear.forward(x)), tNf4 = Best(() => nf4.forward(x));
        torch.set_num_threads(threads);
        string load = File.Exists("/proc/loadavg") ? $" (load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]} on {Environment.ProcessorCount} cores while measuring: treat the times as rough)" : "";

        return $"""
        # NF4, INT4 and FP4 quantization (QLoRA's storage of a frozen base model)

        Measured by `dotnet run --project benchmarks/LlmNotebooks.Benchmarks -- nf4` on {Environment.ProcessorCount} cores,
        TorchSharp {typeof(torch).Assembly.GetName().Version?.ToString(3)}, {DateTime.UtcNow:yyyy-MM-dd}, commit {commit}.
        Code: `LlmNotebooks.FineTuning` (`BlockQuantizer`, `Quantization`, `Nf4Linear`). Tests: tests/LlmNotebooks.Tests/FineTuning.

        ## Rounding error on Gaussian weights

        {Rows} × {Cols} standard normal values (`Quantization.GaussianWeights`, seeds 0–{Seeds - 1}), blocks of 64 values with
        one absmax each, every value rounded to the nearest level. RMSE/σ = root-mean-square error over the values'
        standard deviation (mean over the seeds; the range shows how little it moves).
        Levels: NF4 = QLoRA's 16 normal-quantile levels; INT4 = k/7 for k = -7..7 (15 levels, symmetric, -8 unused);
        FP4 = E2M1 magnitudes 0, 0.5, 1, 1.5, 2, 3, 4, 6 with sign, over 6 (15 levels).

        | format | absmax scales | RMSE/σ | range over seeds | max abs error (σ units) | bits per value | bytes |
        |---|---|---|---|---|---|---|
        {string.Join("\n", rows)}

        NF4 has the smallest RMSE, then FP4, then INT4 — the order of QLoRA's Table 2, which compares the same data types by
        perplexity. INT4's even grid spends levels on large values that a bell curve rarely has, yet it has the smallest
        worst-case error; FP4's levels crowd near 0 but its top step (4 → 6) is coarse. Double quantization of the scales
        changes the error in the fourth decimal at most.

        ## Bits per parameter

        Per tensor of n values, blocks of 64, scales double-quantized in groups of 256 (`QuantizedTensor.StoredBytesFor`):
        bytes = n/2 (codes) + n/64 (int8 scale codes) + 4·⌈n/(64·256)⌉ (fp32 group scales) + 4 (the scales' mean), so
        bits per value = 4 + 8/64 + 32/(64·256) + 32/n for n divisible by 16,384:

        | quantity | value |
        |---|---|
        | limit for large n: 4 + 0.125 + 0.001953125 | {F(Quantization.BitsPerParameterLimit(), "F9")} |
        | 768 × 768 (GPT-2 c_proj) | {F(Quantization.BitsPerParameter(768 * 768), "F6")} |
        | 768 × 3072 (GPT-2 c_fc) | {F(Quantization.BitsPerParameter(768 * 3072), "F6")} |
        | without double quantization (fp32 absmax per 64) | {F(Quantization.BitsPerParameterLimit(doubleQuantize: false), "F3")} |

        ## Stored size of quantized models

        `Quantization.QuantizeLinears` replaces every Linear by an `Nf4Linear`; token and position embeddings, LayerNorms
        and biases stay fp32. Bytes are the state dict's (the tied output layer is the token embedding, counted once).

        | model | parameters | fp32 bytes | NF4 bytes | ratio | Linear weights quantized |
        |---|---|---|---|---|---|
        | course model, GptConfig(2048, 64, 4, 4, 128) (measured) | {course.ParameterCount():N0} | {courseReport.BytesBefore:N0} | {courseReport.BytesAfter:N0} | {F(courseReport.Ratio, "F2")}× | {courseReport.QuantizedParameters:N0} ({F(100.0 * courseReport.QuantizedParameters / course.ParameterCount(), "F0")}%) |
        | GPT-2 small (by the same formula, not loaded) | {g2.ParameterCount():N0} | {g2Before:N0} | {g2After:N0} | {F((double)g2Before / g2After, "F2")}× | {linearWeights:N0} ({F(100.0 * linearWeights / g2.ParameterCount(), "F0")}%) |

        The course model is small and its 2,048 × 128 token embedding stays fp32, so quantizing its Linear layers shrinks it
        about {F(courseReport.Ratio, "F1")}×, not 8×; the Linear layers themselves shrink {F(32 / Quantization.BitsPerParameter(128 * 128), "F2")}×. In GPT-2 small the
        embeddings are {F(100.0 * (g2.ParameterCount() - linearWeights - g2.Layers * 13 * C - 2 * C) / g2.ParameterCount(), "F0")}% of the parameters, which caps the gain the same way; QLoRA's 7-65 B models are almost all Linear.

        ## Cost of dequantizing in forward

        One 768 → 3072 layer on 64 tokens, one thread, fastest of 30 runs, no gradient{load}:

        | | time |
        |---|---|
        | fp32 `Linear.forward` | {F(tLinear, "F3")} ms |
        | `Nf4Linear.forward` (dequantize, then the same product) | {F(tNf4, "F3")} ms |
        | of which dequantizing the weight | {F(tDequant, "F3")} ms |

        QLoRA trades this time for memory: the full-precision weight exists only during its own layer's product.
        """;
    }
}
