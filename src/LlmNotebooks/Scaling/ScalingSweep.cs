using LlmNotebooks.Tensors;
using LlmNotebooks.Training;
using LlmNotebooks.Transformer;

namespace LlmNotebooks.Scaling;

/// <summary>One model of a scaling sweep: its size, its validation loss after the shared budget, and its whole validation curve.</summary>
/// <param name="Config">The model's shape.</param>
/// <param name="Parameters">All parameters.</param>
/// <param name="NonEmbeddingParameters">N in the scaling laws: parameters outside the embedding tables.</param>
/// <param name="ValidationLoss">Validation loss after the whole budget.</param>
/// <param name="TrainSeconds">Seconds spent in training steps.</param>
/// <param name="Curve">Validation loss against tokens trained on (the loss as a function of data size D for this N).</param>
/// <param name="BitsPerByte">Validation bits per byte after the whole budget, on the same windows as the loss (when the sweep was given the tokenizer's byte counts).</param>
public sealed record ScalingRun(GptConfig Config, long Parameters, long NonEmbeddingParameters, double ValidationLoss,
                                double TrainSeconds, IReadOnlyList<(long Tokens, double Loss)> Curve, double? BitsPerByte = null);

/// <summary>
/// Trains several model configurations (sizes for a scaling law L(N), or architectures at one size, chapter 7) with identical
/// data, options and seed, and reports each one's final validation loss (and bits per byte, given the tokenizer's byte counts). Each validation point along the way also gives L at a smaller data size D.
/// Each model is initialised from <see cref="TrainerOptions.Seed"/> inside <see cref="TorchRandom.Seeded"/>, so the
/// sweep leaves torch's global generator where the caller left it.
/// </summary>
public static class ScalingSweep
{
    /// <param name="configs">The models to train, one after the other.</param>
    /// <param name="train">Training text.</param>
    /// <param name="validation">Validation text.</param>
    /// <param name="options">The same options (budget, schedule, seed) for every model.</param>
    /// <param name="tokenBytes">The UTF-8 bytes of each token id (<see cref="BitsPerByte.TokenBytes"/>): also measure bits per byte.</param>
    /// <param name="names">A name per config for its progress line (default "N = …", its non-embedding parameter count).</param>
    public static IReadOnlyList<ScalingRun> Run(IEnumerable<GptConfig> configs, TokenBatches train, TokenBatches validation, TrainerOptions options,
                                                IReadOnlyList<int>? tokenBytes = null, IReadOnlyList<string>? names = null)
    {
        var runs = new List<ScalingRun>();
        foreach (var config in configs)
        {
            string title = names is not null && runs.Count < names.Count ? names[runs.Count] : $"N = {config.NonEmbeddingParameterCount():N0}";
            Gpt model;
            using (TorchRandom.Seeded(options.Seed)) model = new Gpt(config);   // every size starts from the same seed; the caller's generator is left as it was
            using var _ = model;
            using var trainer = new Trainer(model, train, validation, options with { Title = title, CheckpointPath = null });
            var history = trainer.Run();
            long tokensPerStep = (long)options.BatchSize * train.BlockSize;
            double? bitsPerByte = tokenBytes is null ? null : BitsPerByte.Evaluate(model, validation, tokenBytes, options.BatchSize, options.EvalBatches);
            runs.Add(new ScalingRun(config, config.ParameterCount(), config.NonEmbeddingParameterCount(), history.LastValidationLoss, history.TrainSeconds,
                                    history.Validation.Select(v => (v.Step * tokensPerStep, v.Loss)).ToList(), bitsPerByte));
        }
        return runs;
    }
}
