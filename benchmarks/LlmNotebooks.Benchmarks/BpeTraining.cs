using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using LlmNotebooks.Data;
using LlmNotebooks.Data.Cleaning;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;
using LlmNotebooks.Recipe;

namespace LlmNotebooks.Benchmarks;

/// <summary>The BPE training text: the first megabyte of TinyWorld's clean training documents, as chapter 4 uses.</summary>
static class BpeText
{
    public static readonly Lazy<string> Megabyte = new(() =>
    {
        var clean = TinyWorld.LoadDataset().Where(d => d.Label == DocumentLabel.Clean).ToList();
        return CourseModel.FirstMegabyte(CourseModel.Join(CourseModel.Split(clean).Train));
    });
}

/// <summary>Training a 4,096-token byte-level BPE: the incremental trainer and the recount baseline on distinct chunks.</summary>
public class BpeTraining
{
    string _text = "";

    [GlobalSetup]
    public void Setup() => _text = BpeText.Megabyte.Value;

    [Benchmark(Baseline = true, Description = "incremental pair counts + heap (BpeTokenizer.Train)")]
    public int Incremental() => BpeTokenizer.Train(_text, 4096, [CourseModel.EndOfText]).Merges.Count;

    [Benchmark(Description = "recount every pair of each distinct chunk before each merge")]
    public int RecountDistinctChunks() => RecountingBpe.Train(_text, 4096, [CourseModel.EndOfText], deduplicateChunks: true).Count;
}

/// <summary>The textbook baseline (recount over every chunk of the text before each merge): minutes, so measured once.</summary>
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 0, iterationCount: 1)]
public class BpeTrainingTextbook
{
    string _text = "";

    [GlobalSetup]
    public void Setup() => _text = BpeText.Megabyte.Value;

    [Benchmark(Description = "textbook: recount every pair of the whole text before each merge")]
    public int Textbook() => RecountingBpe.Train(_text, 4096, [CourseModel.EndOfText]).Count;
}
