using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using LlmNotebooks.Benchmarks;
using LlmNotebooks.Platform;
using LlmNotebooks.Transformer;

// dotnet run --project benchmarks/LlmNotebooks.Benchmarks [-- gpt|bpe|nf4|finetune-memory|finetune-seeds|pretraining-seeds|kvcache|modern]
// Runs in-process (no second build of TorchSharp's native libraries), then writes the reports in benchmarks/results/:
// gpt-train-step.md (a GPT training step against the matmul peak), bpe-training.md (BPE training vs the baselines) and
// nf4.md (4-bit quantization: errors of NF4, INT4 and FP4, bits per parameter, stored sizes) and the measured peak
// memory of chapter 5's fine-tuning schemes, one process each, into fine-tuning-schemes.md; kvcache (not part of "all": it
// takes minutes) writes kv-cache.md, tokens per second of generation with and without the key/value cache; modern (not in
// "all" either: about 12 minutes on a quiet machine) writes modern-block.md, chapter 7's GPT-2 block vs modern block ladder over three seeds;
// finetune-seeds (not in "all": about 5 minutes) re-measures the seed spread behind chapter 5's checks in fine-tuning-schemes.md;
// pretraining-seeds (not in "all": about 10 minutes) writes pretraining-seeds.md, the seed spread behind chapter 4's checks.
AssemblyUnifier.Install();
TorchNativeLoader.EnsureLoadable();
string which = args.FirstOrDefault() ?? "all";
if (which == "finetune-memory-child") { FineTuningMemory.Child(args[1]); return; }
string resultsDir = Path.Combine(Checkout.FindRoot(Directory.GetCurrentDirectory()) ?? Checkout.Root, "benchmarks", "results");
Directory.CreateDirectory(resultsDir);
string F(double v, string f) => v.ToString(f, CultureInfo.InvariantCulture);
if (which is "gpt" or "all") RunGpt();
if (which is "bpe" or "all") RunBpe();
if (which is "nf4" or "all") RunNf4();
if (which is "finetune-memory" or "all") RunFineTuningMemory();
if (which == "kvcache") RunKvCache();
if (which == "modern") RunModernBlock();
if (which == "finetune-seeds") RunFineTuningSeeds();
if (which == "pretraining-seeds") RunPretrainingSeeds();

void RunPretrainingSeeds()
{
    string report = PretrainingSeeds.Report(GitCommit(), Console.WriteLine);
    AtomicFile.WriteText(Path.Combine(resultsDir, "pretraining-seeds.md"), report);
    Console.WriteLine(report);
}

// Replaces one "## " section of a report (from its heading to the next "## " heading or the end), or appends it.
void ReplaceSection(string path, string heading, string section)
{
    string report = File.ReadAllText(path);
    int at = report.IndexOf("\n" + heading, StringComparison.Ordinal);
    int next = at < 0 ? -1 : report.IndexOf("\n## ", at + 1, StringComparison.Ordinal);
    string before = (at < 0 ? report : report[..at]).TrimEnd() + "\n", after = next < 0 ? "" : "\n" + report[(next + 1)..];
    AtomicFile.WriteText(path, before + section.TrimEnd() + "\n" + after);
}

void RunFineTuningSeeds()
{
    string path = Path.Combine(resultsDir, "fine-tuning-schemes.md");
    ReplaceSection(path, "## Seed spread behind chapter 5's checks", FineTuningSeeds.Report(GitCommit(), Console.WriteLine));
    Console.WriteLine(File.ReadAllText(path));
}

void RunModernBlock()
{
    var rows = ModernBlockComparison.Run(Console.WriteLine);
    string report = ModernBlockComparison.Report(rows, GitCommit());
    AtomicFile.WriteText(Path.Combine(resultsDir, "modern-block.md"), report);
    Console.WriteLine(report);
}

void RunKvCache()
{
    var results = new List<KvCacheSpeed.Result>();
    foreach (var c in KvCacheSpeed.CourseModelCases(LlmNotebooks.Recipe.CourseModel.Config).Append(KvCacheSpeed.Gpt2SmallShape))
    {
        Console.WriteLine($"measuring {c.Name}, batch {c.Batch} …");
        results.Add(KvCacheSpeed.Measure(c));
    }
    string report = KvCacheSpeed.Report(results, GitCommit());
    AtomicFile.WriteText(Path.Combine(resultsDir, "kv-cache.md"), report);
    Console.WriteLine(report);
}

void RunFineTuningMemory()
{
    string path = Path.Combine(resultsDir, "fine-tuning-schemes.md");
    ReplaceSection(path, "## Measured peak memory", FineTuningMemory.Report(GitCommit()));
    Console.WriteLine(File.ReadAllText(path));
}

void RunNf4()
{
    string report = Nf4Measurements.Report(GitCommit());
    AtomicFile.WriteText(Path.Combine(resultsDir, "nf4.md"), report);
    Console.WriteLine(report);
}

string GitCommit()
{
    try
    {
        using var git = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("git", "rev-parse --short HEAD")
            { RedirectStandardOutput = true, UseShellExecute = false, WorkingDirectory = Checkout.FindRoot(Directory.GetCurrentDirectory()) ?? Checkout.Root })!;
        string hash = git.StandardOutput.ReadToEnd().Trim();
        git.WaitForExit();
        return git.ExitCode == 0 && hash.Length > 0 ? hash : "unknown";
    }
    catch (System.ComponentModel.Win32Exception) { return "unknown (git not found)"; }
}

void RunBpe()
{
    var fast = BenchmarkRunner.Run<BpeTraining>(ManualConfig.Create(DefaultConfig.Instance)
        .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(1).WithIterationCount(5).WithInvocationCount(1).WithUnrollFactor(1))
        .WithOptions(ConfigOptions.DisableOptimizationsValidator));
    var slow = BenchmarkRunner.Run<BpeTrainingTextbook>(ManualConfig.Create(DefaultConfig.Instance)
        .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithStrategy(BenchmarkDotNet.Engines.RunStrategy.Monitoring)
            .WithLaunchCount(1).WithWarmupCount(0).WithIterationCount(1).WithInvocationCount(1).WithUnrollFactor(1))
        .WithOptions(ConfigOptions.DisableOptimizationsValidator));
    double Seconds(BenchmarkDotNet.Reports.Summary s, string method) =>
        s.Reports.First(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method).ResultStatistics!.Mean / 1e9;
    double incremental = Seconds(fast, nameof(BpeTraining.Incremental)), distinct = Seconds(fast, nameof(BpeTraining.RecountDistinctChunks));
    double textbook = Seconds(slow, nameof(BpeTrainingTextbook.Textbook));
    int bytes = System.Text.Encoding.UTF8.GetByteCount(BpeText.Megabyte.Value);
    string report = $"""
    # Training a byte-level BPE tokenizer

    Measured by `dotnet run --project benchmarks/LlmNotebooks.Benchmarks -- bpe` (BenchmarkDotNet, in-process) on
    {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}. Text: the first {bytes:N0} UTF-8 bytes of TinyWorld's clean
    training documents joined with `<|endoftext|>` (as in chapter 4). Vocabulary: 4,096 tokens (256 bytes + 3,839
    merges + `<|endoftext|>`). All three learn exactly the same merges (tested).

    | trainer | what it does per merge | time | vs incremental |
    |---|---|---|---|
    | `BpeTokenizer.Train` | updates pair counts only in the chunks that held the merged pair; a lazy max-heap finds the next pair | **{F(incremental, "F2")} s** (mean of 5) | 1× |
    | `RecountingBpe.Train(deduplicateChunks: true)` | recounts every pair of each distinct chunk, weighted by its count | {F(distinct, "F2")} s (mean of 5) | {F(distinct / incremental, "F0")}× |
    | `RecountingBpe.Train` (textbook) | recounts every pair of every chunk of the text | {F(textbook, "F1")} s (one run) | {F(textbook / incremental, "F0")}× |

    Target from issue 6: a 4,096-token vocabulary from 1 MB in under 10 s. TinyWorld is templated text with few distinct
    words, which favours deduplicating chunks; on text with more distinct words that part of the gain is smaller (not
    measured here). The notebook times the first 50 merges of the textbook version, its most expensive ones.
    """;
    AtomicFile.WriteText(Path.Combine(resultsDir, "bpe-training.md"), report);
    Console.WriteLine(report);
}

void RunGpt()
{
var config = ManualConfig.Create(DefaultConfig.Instance)
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(5).WithIterationCount(20))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
var summary = BenchmarkRunner.Run<GptTrainingStep>(config);

double Mean(string method) => summary.Reports.First(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == method).ResultStatistics!.Mean / 1e9;
double step = Mean(nameof(GptTrainingStep.TrainStep)), mm = Mean(nameof(GptTrainingStep.MatMul));
double stepFlops = GptTrainingStep.TrainStepFlops(GptConfig.Baby, GptTrainingStep.Batch);
double achieved = stepFlops / step / 1e9, peak = GptTrainingStep.MatMulFlops / mm / 1e9;
double tokensPerSecond = GptTrainingStep.Batch * GptConfig.Baby.BlockSize / step;

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
AtomicFile.WriteText(Path.Combine(resultsDir, "gpt-train-step.md"), report);
Console.WriteLine(report);
}
