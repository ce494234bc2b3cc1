using System.Globalization;
using System.Text;
using LlmNotebooks.Recipe;
using LlmNotebooks.Scaling;
using LlmNotebooks.Training;

namespace LlmNotebooks.Benchmarks;

/// <summary>
/// Chapter 7's comparison, longer than the chapter can afford: the GPT-2 block and each rung of
/// <see cref="ModernBlockLadder"/> trained on chapter 4's corpus and tokenizer for <see cref="Steps"/> steps from several
/// seeds, with the course model's options otherwise; validation loss and bits per byte per seed, their mean, and the seed
/// spread each difference has to beat.
/// </summary>
public static class ModernBlockComparison
{
    public const int Steps = 300;
    public static readonly long[] Seeds = [Defaults.Seed, 1, 2];

    public sealed record Row(string Name, long Parameters, int Hidden, double[] Loss, double[] BitsPerByte, double[] Seconds);

    public static IReadOnlyList<Row> Run(Action<string> log)
    {
        var data = CourseModel.PrepareData();
        var tokenBytes = BitsPerByte.TokenBytes(data.Tokenizer);
        var ladder = ModernBlockLadder.Build(CourseModel.Config);
        var options = CourseModel.Options with { Steps = Steps, WarmupSteps = Steps / 20, EvalEvery = Steps / 6, EvalBatches = 8, CheckpointPath = null };
        var runs = Seeds.Select(seed =>
        {
            log($"seed {seed}: {ladder.Count} models × {Steps} steps …");
            return ScalingSweep.Run(ladder.Select(r => r.Config), data.Train, data.Validation, options with { Seed = seed }, tokenBytes, ladder.Select(r => $"{r.Name}, seed {seed}").ToList());
        }).ToList();
        return ladder.Select((r, i) => new Row(r.Name, r.Config.ParameterCount(), r.Config.FeedForwardHidden,
            runs.Select(s => s[i].ValidationLoss).ToArray(), runs.Select(s => s[i].BitsPerByte!.Value).ToArray(), runs.Select(s => s[i].TrainSeconds).ToArray())).ToList();
    }

    public static string Report(IReadOnlyList<Row> rows, string commit)
    {
        string F(double v, string f = "F4") => v.ToString(f, CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        sb.AppendLine("# The GPT-2 block against the modern block (chapter 7)");
        sb.AppendLine();
        sb.AppendLine($"Measured by `dotnet run -c Release --project benchmarks/LlmNotebooks.Benchmarks -- modern` on 2 cores, TorchSharp 0.107.0, " +
                      $"{DateTime.UtcNow:yyyy-MM-dd}, commit {commit}. Chapter 4's corpus and BPE tokenizer (2,048 tokens), the course model's " +
                      $"size (4 layers × 4 heads × 128, context 64) and options (AdamW, warmup + cosine, batch 16) for {Steps} steps instead of 1,200 (2.5× the chapter's 120); " +
                      $"seeds {string.Join(", ", Seeds)} (each seed sets the initial weights and the batch order). Every rung of the ladder adds one piece " +
                      "and gets the feed-forward hidden size that keeps the GPT-2 block's parameter count (`ModernBlockLadder`). Validation loss and bits per " +
                      "byte on the same 8 × 16 fixed validation windows.");
        sb.AppendLine();
        sb.AppendLine("| block | parameters | hidden | loss per seed (nats/token) | bits per byte per seed | mean bits per byte | spread (max − min) | train s (mean) |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
            sb.AppendLine($"| {r.Name} | {r.Parameters:N0} | {r.Hidden} | {string.Join(", ", r.Loss.Select(v => F(v)))} | {string.Join(", ", r.BitsPerByte.Select(v => F(v)))} | " +
                          $"{F(r.BitsPerByte.Average())} | {F(r.BitsPerByte.Max() - r.BitsPerByte.Min())} | {F(r.Seconds.Average(), "F1")} |");
        sb.AppendLine();
        sb.AppendLine("Each rung against the one above it, and the full modern block against GPT-2's, per seed (negative: the later block is better). " +
                      "A difference counts as outside the seed spread when its mean is larger than both rows' spreads and every seed has the same sign.");
        sb.AppendLine();
        sb.AppendLine("| comparison | difference per seed (bits/byte) | mean | larger spread of the two | verdict |");
        sb.AppendLine("|---|---|---|---|---|");
        void Compare(Row a, Row b, string name)
        {
            var d = b.BitsPerByte.Zip(a.BitsPerByte, (x, y) => x - y).ToArray();
            double spread = Math.Max(a.BitsPerByte.Max() - a.BitsPerByte.Min(), b.BitsPerByte.Max() - b.BitsPerByte.Min());
            bool outside = Math.Abs(d.Average()) > spread && d.All(v => Math.Sign(v) == Math.Sign(d.Average()));
            sb.AppendLine($"| {name} | {string.Join(", ", d.Select(v => F(v)))} | {F(d.Average())} | {F(spread)} | " +
                          $"{(outside ? (d.Average() < 0 ? "better, outside the spread" : "worse, outside the spread") : "inside the spread")} |");
        }
        for (int i = 1; i < rows.Count; i++) Compare(rows[i - 1], rows[i], $"{rows[i].Name} vs {rows[i - 1].Name}");
        Compare(rows[0], rows[^1], "full modern block vs GPT-2 block");
        return sb.ToString();
    }
}
