using System.Diagnostics;
using System.Globalization;
using LlmNotebooks.Generation;
using LlmNotebooks.Tensors;
using LlmNotebooks.Transformer;
using static TorchSharp.torch;

namespace LlmNotebooks.Benchmarks;

/// <summary>
/// Tokens per second of greedy generation with the key/value cache against full recomputation (the same loop,
/// <see cref="BatchedGeneration.Generate"/> with useCache: false), on random weights: the speed does not depend on them.
/// Each case runs cached and uncached alternately, several times; the report keeps the fastest of each (the least
/// disturbed by other work on the machine) and every run.
/// </summary>
public static class KvCacheSpeed
{
    public sealed record Case(string Name, GptConfig Config, int Batch, int PromptTokens, int NewTokens, int Runs);

    public static readonly Case Gpt2SmallShape = new("GPT-2-small-shaped (12 × 12 × 768, vocabulary 50,257, context 1,024)",
                                                     GptConfig.Gpt2Small, Batch: 1, PromptTokens: 8, NewTokens: 200, Runs: 2);

    /// <summary>The course model's shape (chapter 4: 4 × 4 × 128, context 64) at batch 1 and 16, from an 8-token prompt to the end of the window.</summary>
    public static IEnumerable<Case> CourseModelCases(GptConfig course) =>
    [
        new("course model, batch 1", course, 1, 8, course.BlockSize - 8, 5),
        new("course model, batch 16", course, 16, 8, course.BlockSize - 8, 5),
    ];

    public sealed record Result(Case Case, double[] CachedSeconds, double[] UncachedSeconds, bool SameTokens)
    {
        public double CachedTokensPerSecond => Case.Batch * Case.NewTokens / CachedSeconds.Min();
        public double UncachedTokensPerSecond => Case.Batch * Case.NewTokens / UncachedSeconds.Min();
        public double Speedup => UncachedSeconds.Min() / CachedSeconds.Min();
    }

    public static Result Measure(Case c)
    {
        Gpt model;
        using (TorchRandom.Seeded(1234)) model = new Gpt(c.Config);
        using var _ = model;
        var random = new Random(1);
        var prompts = Enumerable.Range(0, c.Batch).Select(_ => (IReadOnlyList<int>)Enumerable.Range(0, c.PromptTokens).Select(_ => random.Next(c.Config.VocabSize)).ToList()).ToList();
        IReadOnlyList<Completion> Run(bool cache) => BatchedGeneration.Generate(model, prompts, c.NewTokens, [], useCache: cache);
        var warm = Run(true);                                                               // first call: allocations, kernels
        bool same = warm.Select(x => string.Join(",", x.Response)).SequenceEqual(Run(false).Select(x => string.Join(",", x.Response)));
        if (warm.Any(x => x.Response.Count != c.NewTokens)) throw new InvalidOperationException("a row stopped early: the timing would not count the tokens it says");
        var cached = new double[c.Runs];
        var uncached = new double[c.Runs];
        for (int r = 0; r < c.Runs; r++)
        {
            cached[r] = Time(() => Run(true));
            uncached[r] = Time(() => Run(false));
        }
        return new Result(c, cached, uncached, same);
    }

    static double Time(Action action)
    {
        GC.Collect();
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalSeconds;
    }

    public static string Report(IReadOnlyList<Result> results, string commit)
    {
        static string F(double v, string f) => v.ToString(f, CultureInfo.InvariantCulture);
        var rows = string.Join("\n", results.Select(r =>
            $"| {r.Case.Name} | {r.Case.Batch} | {r.Case.PromptTokens} → +{r.Case.NewTokens} | {F(r.UncachedTokensPerSecond, "N1")} | {F(r.CachedTokensPerSecond, "N1")} | **{F(r.Speedup, "F1")}×** | {(r.SameTokens ? "yes" : "**no**")} |"));
        var runs = string.Join("\n", results.Select(r =>
            $"| {r.Case.Name} | {string.Join(", ", r.UncachedSeconds.Select(s => F(s, "F2")))} | {string.Join(", ", r.CachedSeconds.Select(s => F(s, "F3")))} |"));
        return $"""
        # Generation with and without the key/value cache

        Measured by `dotnet run -c Release --project benchmarks/LlmNotebooks.Benchmarks -- kvcache` on {Environment.ProcessorCount} cores, TorchSharp
        {typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(3)}, {DateTime.UtcNow:yyyy-MM-dd}, commit {commit}. Greedy decoding of random prompts with
        random weights (seed 1234; the speed does not depend on the weights, and no row stops early), through the course's one
        generation loop, `BatchedGeneration.Generate`: **cached** feeds the prompt once and then one token per step through
        `Gpt.forward(ids, cache)`; **uncached** (`useCache: false`) runs `Gpt.forward` over the whole sequence for every new token,
        as the loop did before the cache. Tokens per second count the new tokens of every row; each figure is the fastest of
        the runs listed below (cached and uncached alternate, so both see the same machine).

        | model | batch | prompt → new tokens | uncached tokens/s | cached tokens/s | speed-up | same tokens |
        |---|---|---|---|---|---|---|
        {rows}

        The goal in issue 23 is at least 5× for the GPT-2-small shape at batch 1 (rasbt's KV-cache chapter reports 27 → 144
        tokens/s, 5.3×, for that shape on a CPU). Without the cache, token n costs a forward pass over n positions, so the
        whole run grows as the square of its length; with it, every step is one position (attention still reads every cached
        key, which is cheap at these lengths). The course model's context is only 64 tokens, so the gain there is smaller.

        ## Every run (seconds)

        | model | uncached | cached |
        |---|---|---|
        {runs}
        """;
    }
}
