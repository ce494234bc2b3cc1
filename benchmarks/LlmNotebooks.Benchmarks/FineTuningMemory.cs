using System.Diagnostics;
using System.Globalization;
using LlmNotebooks.FineTuning.Instructions;
using LlmNotebooks.FineTuning.LowRank;
using LlmNotebooks.FineTuning.Quantizing;
using LlmNotebooks.Recipe;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;

namespace LlmNotebooks.Benchmarks;

/// <summary>
/// Peak memory of chapter 5's fine-tuning schemes, each measured in a process of its own. In one process the numbers
/// would mean little: libtorch's CPU allocations are invisible to .NET's GC, the peak working set cannot be reset
/// between runs, and the C allocator keeps freed memory for reuse. A fresh process per scheme starts clean.
/// The child loads the course model and the instruction data, builds the scheme, notes its resident memory (the
/// baseline: weights and data in memory), trains <see cref="Steps"/> steps exactly as the notebook's 5.2 does, and
/// reports its peak resident memory (Process.PeakWorkingSet64: VmHWM on Linux, the peak working set on Windows and
/// macOS).
/// </summary>
static class FineTuningMemory
{
    public const int Steps = 40;
    public static readonly string[] Schemes = ["full", "lora4", "lora8", "lora16", "qlora8"];

    static string Label(string scheme) => scheme switch
    {
        "full" => "full fine-tuning",
        "qlora8" => "QLoRA (NF4) r = 8",
        _ => $"LoRA r = {scheme[4..]}",
    };

    /// <summary>In the child process: trains one scheme and prints "peak baseline trainable".</summary>
    public static void Child(string scheme)
    {
        var (pretrained, tokenizer) = CourseModel.LoadOrTrain();
        var chat = InstructionTemplate.ExtendTokenizer(tokenizer);
        var (train, heldOut) = InstructionData.LoadDataset();
        var model = InstructionTemplate.GrowVocabulary(pretrained, chat.VocabSize);
        pretrained.Dispose();
        if (scheme == "qlora8") Quantization.QuantizeLinears(model);
        int rank = scheme == "full" ? 0 : int.Parse(scheme[(scheme.StartsWith('q') ? 5 : 4)..], CultureInfo.InvariantCulture);
        if (rank > 0) Lora.Apply(model, new LoraConfig { Rank = rank, Alpha = 2 * rank, TargetModules = ["c_attn", "c_proj", "c_fc"], Dropout = 0.05, Seed = 1 });
        var options = new TrainerOptions { Steps = Steps, BatchSize = 16, MaxLr = rank > 0 ? 5e-3 : 1e-3, WarmupSteps = 5, MinLr = 1e-4, WeightDecay = 0, EvalEvery = Steps, EvalBatches = 1, Title = scheme };
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var self = Process.GetCurrentProcess();
        long baseline = self.WorkingSet64;
        using (var trainer = new Trainer(model, new InstructionTask(new InstructionBatcher(chat, model.Config.BlockSize), train, heldOut), options))
            trainer.Run();
        self.Refresh();
        Console.WriteLine($"RESULT {self.PeakWorkingSet64} {baseline} {model.TrainableParameters().Trainable}");
    }

    /// <summary>Runs every scheme in a child process and returns the report's table.</summary>
    public static string Report(string commit)
    {
        var rows = new List<string>();
        foreach (string scheme in Schemes)
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!, ["finetune-memory-child", scheme]) { RedirectStandardOutput = true, UseShellExecute = false };
            using var child = Process.Start(start)!;
            string output = child.StandardOutput.ReadToEnd();
            child.WaitForExit();
            var result = output.Split('\n').LastOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
                         ?? throw new InvalidOperationException($"The {scheme} child printed no result (exit {child.ExitCode}):\n{output}");
            var n = result.Split(' ')[1..].Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            rows.Add($"| {Label(scheme)} | {n[2]:N0} | {n[1] / 1e6:F0} | {n[0] / 1e6:F0} | **{(n[0] - n[1]) / 1e6:F1}** |");
            Console.WriteLine(rows[^1]);
        }
        return $"""

        ## Measured peak memory

        Measured by `dotnet run --project benchmarks/LlmNotebooks.Benchmarks -- finetune-memory` on
        {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-dd}, commit {commit}: each scheme in a fresh process, which loads the
        course model and the instruction data, builds the scheme, and trains {Steps} steps of 16 pairs as 5.2 does.
        "Baseline" is the resident memory just before training (the .NET runtime, libtorch, the model and the data);
        "peak" is the process's peak resident memory (Process.PeakWorkingSet64); their difference is what training added:
        gradients, the optimizer's moments, activations kept for the backward pass, and for QLoRA the weights
        dequantized in every forward pass.

        | scheme | trainable parameters | baseline MB | peak MB | added by training MB |
        |---|---|---|---|---|
        {string.Join("\n", rows)}

        At this size the activations dominate. The model has 1 M parameters, so full fine-tuning's gradients and Adam
        moments take 12 MB, while a batch of 16 × 64 tokens keeps hundreds of MB of intermediate tensors for the backward
        pass. LoRA keeps more of those than full fine-tuning does here (every adapted layer also keeps its input, its dropout
        mask and A·x), so its measured peak is higher; QLoRA also dequantizes every weight in every forward pass. What LoRA
        saves is gradient and optimizer memory, which grows with the parameter count: the computed column above. At 7 B
        parameters that is about 84 GB for full fine-tuning, and the activations of a small batch are a small part of it.
        """;
    }
}
