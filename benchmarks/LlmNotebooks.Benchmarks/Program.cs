using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using LlmNotebooks.Benchmarks;
using LlmNotebooks.Platform;
using LlmNotebooks.Transformer;

// dotnet run --project benchmarks/LlmNotebooks.Benchmarks
// Runs in-process (no second build of TorchSharp's native libraries), then writes benchmarks/results/gpt-train-step.md.
TorchNativeLoader.EnsureLoadable();
var config = ManualConfig.Create(DefaultConfig.Instance)
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(5).WithIterationCount(20))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
var summary = BenchmarkRunner.Run<GptTrainingStep>(config, args);

double Mean(string method) => summary.Reports.First(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method).ResultStatistics!.Mean / 1e9;
double step = Mean(nameof(GptTrainingStep.TrainStep)), mm = Mean(nameof(GptTrainingStep.MatMul));
double stepFlops = GptTrainingStep.TrainStepFlops(GptConfig.Baby, GptTrainingStep.Batch);
double achieved = stepFlops / step / 1e9, peak = GptTrainingStep.MatMulFlops / mm / 1e9;
double tokensPerSecond = GptTrainingStep.Batch * GptConfig.Baby.BlockSize / step;
string F(double v, string f) => v.ToString(f, CultureInfo.InvariantCulture);

string report = $"""
# GPT training step at the baby config

Measured by `dotnet run --project benchmarks/LlmNotebooks.Benchmarks` (BenchmarkDotNet, in-process, 5 warm-up and 20
measured iterations) on {Environment.ProcessorCount} cores, TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(3)}, {DateTime.UtcNow:yyyy-MM-dd}.

| quantity | value |
|---|---|
| model | GptConfig.Baby: 4 layers × 4 heads × 128, context 64, vocabulary 65, {GptConfig.Baby.ParameterCount():N0} parameters |
| batch | {GptTrainingStep.Batch} × 64 = {GptTrainingStep.Batch * 64} tokens, AdamW, fused causal attention |
| mean time per training step | {F(step * 1000, "F1")} ms |
| tokens per second | {F(tokensPerSecond, "N0")} |
| FLOPs per step (nanoGPT estimate: 6N + 12·L·C·T per token) | {F(stepFlops / 1e9, "F2")} GFLOP |
| achieved | {F(achieved, "F1")} GFLOP/s |
| fp32 matmul peak, same run (2048 × 2048) | {F(peak, "F1")} GFLOP/s |
| **fraction of the matmul peak** | **{F(100 * achieved / peak, "F0")}%** |

The fraction compares the training step's useful arithmetic with what the same machine reaches on one large matrix
product in the same run, so it is independent of how fast the machine is.
""";
string dir = Path.Combine(LlmNotebooks.Benchmarks.Paths.RepoRoot(), "benchmarks", "results");
Directory.CreateDirectory(dir);
File.WriteAllText(Path.Combine(dir, "gpt-train-step.md"), report);
Console.WriteLine(report);
