using System.Globalization;
using System.Text.RegularExpressions;
using LlmNotebooks.Data;
using LlmNotebooks.Generation;
using LlmNotebooks.Recipe;
using LlmNotebooks.Scaling;
using LlmNotebooks.Tensors;
using LlmNotebooks.Tokenization;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;

namespace LlmNotebooks.Benchmarks;

/// <summary>
/// The seed spread behind chapter 4's checks: the course model's recipe (initial weights and batches from one seed),
/// what it learned of "… took the ___", and the scaling sweep, each over three seeds (the first is the notebook's own,
/// 1234). Writes benchmarks/results/pretraining-seeds.md. About 10 minutes on 2 cores.
/// </summary>
static class PretrainingSeeds
{
    static readonly long[] Seeds = [Defaults.Seed, 1, 2];
    static string F(double v, string f) => v.ToString(f, CultureInfo.InvariantCulture);

    /// <summary>P(word | context) as chapter 4's cell computes it (kept in step with it by hand): the product of its tokens'
    /// probabilities, each given the ones before (Sampler.NextTokenProbabilities runs in eval mode).</summary>
    static double NextWordProbability(Gpt model, BpeTokenizer tokenizer, string context, string word)
    {
        var tokens = tokenizer.Encode(context).ToList();
        double p = 1;
        foreach (int id in tokenizer.Encode(context + word).Skip(tokens.Count))
        {
            using var probs = Sampler.NextTokenProbabilities(model, tokens);
            p *= probs[id].item<double>();
            tokens.Add(id);
        }
        return p;
    }

    public static string Report(string commit, Action<string> log)
    {
        var data = CourseModel.PrepareData();
        var validationDocs = CourseModel.Documents().Validation;
        var tookEn = new Regex(@"\p{Lu}\p{Ll}+ took the(?= (wand|broom|hat|cauldron)\b)");
        var contextsEn = validationDocs.Select(d => (d.Text, Match: tookEn.Match(d.Text))).Where(x => x.Match.Success).Select(x => x.Text[..(x.Match.Index + x.Match.Length)]).ToList();
        var tookRu = new Regex(@"\p{Lu}\p{Ll}+ взяла?(?= (волшебную палочку|метлу|шапку|котёл)(?!\p{L}))");
        var contextsRu = validationDocs.Select(d => (d.Text, Match: tookRu.Match(d.Text))).Where(x => x.Match.Success).Select(x => x.Text[..(x.Match.Index + x.Match.Length)]).ToList();
        var truthEn = TinyWorld.TookTheDistribution("en");
        var wordsRu = TinyWorld.TookTheDistribution("ru").Select(w => w.Word == "палочку" ? "волшебную палочку" : w.Word).ToArray();
        var sweepConfigs = new[] { (1, 16), (1, 32), (2, 32), (2, 48), (3, 64), (4, 96) }
            .Select(lc => CourseModel.Config with { Layers = lc.Item1, Channels = lc.Item2, Heads = 4 }).ToArray();

        var rows = new List<string>();
        foreach (long seed in Seeds)
        {
            Gpt model;
            using (TorchRandom.Seeded(seed)) model = new Gpt(CourseModel.Config);
            TrainingHistory history;
            using (var trainer = new Trainer(model, data.Train, data.Validation, CourseModel.Options with { Seed = seed, Title = $"course model, seed {seed}" }))
                history = trainer.Run();
            double[] pEn = truthEn.Select(w => contextsEn.Average(c => NextWordProbability(model, data.Tokenizer, c, " " + w.Word))).ToArray();
            double[] pRu = wordsRu.Select(w => contextsRu.Average(c => NextWordProbability(model, data.Tokenizer, c, " " + w))).ToArray();
            model.Dispose();
            var sweep = ScalingSweep.Run(sweepConfigs, data.Train, data.Validation,
                CourseModel.Options with { Steps = 300, WarmupSteps = 30, EvalEvery = 50, EvalBatches = 4, CheckpointPath = null, Seed = seed });
            var sizes = sweep.Select(r => (double)r.NonEmbeddingParameters).ToList();
            var losses = sweep.Select(r => r.ValidationLoss).ToList();
            var free = PowerLawFit.FitWithFloor(sizes, losses);
            var atEntropy = PowerLawFit.FitWithFloor(sizes, losses, data.Floor);
            double Rmse(PowerLawFit f) => Math.Sqrt(sweep.Average(r => Math.Pow(f.Predict(r.NonEmbeddingParameters) - r.ValidationLoss, 2)));
            int falls = sweep.Zip(sweep.Skip(1)).Count(p => p.Second.ValidationLoss < p.First.ValidationLoss);
            bool largestFalls = sweep[^1].Curve.Zip(sweep[^1].Curve.Skip(1)).All(p => p.Second.Loss < p.First.Loss);
            rows.Add($"| {seed} | {F(history.LastValidationLoss, "F3")} | {F(history.RecentTrainLoss() - history.LastValidationLoss, "+0.000;-0.000")} | " +
                     $"{string.Join(" / ", pEn.Select(p => F(p, "F3")))} | {string.Join(" / ", pRu.Select(p => F(p, "F3")))} | " +
                     $"{falls} of {sweep.Count - 1} | {F(free.E, "F3")} | {F(Rmse(atEntropy) / Rmse(free), "F2")} | {F(free.Alpha, "F3")} → {F(atEntropy.Alpha, "F3")} | {(largestFalls ? "yes" : "no")} |");
            log(rows[^1]);
        }
        return $"""
        # Chapter 4: the seed spread behind its checks

        Measured by `dotnet run -c Release --project benchmarks/LlmNotebooks.Benchmarks -- pretraining-seeds` on {Environment.ProcessorCount} cores,
        {DateTime.UtcNow:yyyy-MM-dd}, commit {commit}. Each seed sets the course model's initial weights and its batches
        (`Hashes.StreamSeed(seed, BatchStream, step)`), and the scaling sweep's; 1234 is the notebook's. Everything else is the
        recipe (`CourseModel`): data, tokenizer, config, 1,200 steps, and chapter 4's sweep (six sizes, 300 steps each).

        | seed | validation loss (nats/token) | train − validation | P(wand / broom / hat / cauldron), {contextsEn.Count} stories | P(волшебную палочку / метлу / шапку / котёл), {contextsRu.Count} stories | sweep: a bigger model lower | free fit's E (floor {F(data.Floor, "F3")}) | RMSE, E at the entropy ÷ free | α: free → E at the entropy | largest model falls at every evaluation |
        |---|---|---|---|---|---|---|---|---|---|
        {string.Join("\n", rows)}

        The generator's truth: P(wand) = {F(truthEn[0].Probability, "F2")} in English. The notebook's checks, against these seeds: validation
        loss < 2.0; |train − validation| < 0.3; wand the most likely and within 0.12 of 0.78; «волшебную палочку» the most
        likely; at most one exception to "bigger is lower"; free E < half the floor; RMSE ratio < 1.5; α steeper with E
        fixed; the largest model's loss falls at every evaluation.
        """;
    }
}
