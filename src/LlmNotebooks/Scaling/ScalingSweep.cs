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
public sealed record ScalingRun(GptConfig Config, long Parameters, long NonEmbeddingParameters, double ValidationLoss,
                                double TrainSeconds, IReadOnlyList<(long Tokens, double Loss)> Curve);

/// <summary>
/// Trains several model sizes with identical data, options and seed, and reports each one's final validation loss:
/// the raw material of a scaling law L(N). Each validation point along the way also gives L at a smaller data size D.
/// Each model is initialised from <see cref="TrainerOptions.Seed"/> inside <see cref="TorchRandom.Seeded"/>, so the
/// sweep leaves torch's global generator where the caller left it.
/// </summary>
public static class ScalingSweep
{
    public static IReadOnlyList<ScalingRun> Run(IEnumerable<GptConfig> configs, TokenBatches train, TokenBatches validation, TrainerOptions options)
    {
        var runs = new List<ScalingRun>();
        foreach (var config in configs)
        {
            Gpt model;
            using (TorchRandom.Seeded(options.Seed)) model = new Gpt(config);   // every size starts from the same seed; the caller's generator is left as it was
            using var _ = model;
            using var trainer = new Trainer(model, train, validation, options with { Title = $"N = {config.NonEmbeddingParameterCount():N0}", CheckpointPath = null });
            var history = trainer.Run();
            long tokensPerStep = (long)options.BatchSize * train.BlockSize;
            runs.Add(new ScalingRun(config, config.ParameterCount(), config.NonEmbeddingParameterCount(), history.LastValidationLoss, history.TrainSeconds,
                                    history.Validation.Select(v => (v.Step * tokensPerStep, v.Loss)).ToList()));
        }
        return runs;
    }
}
