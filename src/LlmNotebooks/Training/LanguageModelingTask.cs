using LlmNotebooks.Transformer;
using TorchSharp;
using static TorchSharp.torch;

namespace LlmNotebooks.Training;

/// <summary>
/// Next-token prediction on a token stream (pretraining, or continued pretraining on a new domain): every position of
/// every window predicts the token after it, and every prediction is scored. The model is a <see cref="Gpt"/>, or any
/// module that maps token ids (B, T) to logits (B, T, V).
/// </summary>
public sealed class LanguageModelingTask(TokenBatches train, TokenBatches? validation = null) : ITrainingTask
{
    public TokenBatches Train { get; } = train ?? throw new ArgumentNullException(nameof(train));
    public TokenBatches? Validation { get; } = validation;

    public string TrainFingerprint => Train.Fingerprint;
    public string? ValidationFingerprint => Validation?.Fingerprint;

    /// <summary>Windows in the training text (each start position is one example).</summary>
    public long TrainExamples => Train.WindowCount;

    public void Check(nn.Module model)
    {
        if (model is not nn.Module<Tensor, Tensor>)
            throw new ArgumentException($"Language modelling needs a module that maps token ids (B, T) to logits (B, T, V), such as a Gpt; got a {model.GetType().Name}.");
        if (model is not Gpt gpt) return;       // other modules: libtorch reports a mismatch at the first step
        foreach (var (data, name) in new[] { (Train, "training"), (Validation, "validation") })
        {
            if (data is null) continue;
            if (data.BlockSize > gpt.Config.BlockSize)
                throw new ArgumentException($"The {name} windows hold {data.BlockSize} tokens but the model's context window (BlockSize) is {gpt.Config.BlockSize}. " +
                                            $"Make the TokenBatches with blockSize ≤ {gpt.Config.BlockSize}.");
            data.RequireVocabulary(gpt.Config.VocabSize, $"{name} text");    // once here, not in every step's loss
        }
    }

    /// <summary>
    /// The step's batch is <c>parts × batchSize</c> windows drawn from (seed, step), exactly the batch one step of that
    /// size draws; micro-batch <paramref name="part"/> is its slice.
    /// </summary>
    public LossSum TrainLoss(nn.Module model, int step, int part, int parts, int batchSize, long seed)
    {
        var (x, y) = Train.Random(batchSize * parts, seed, step);
        if (parts > 1) (x, y) = (x.narrow(0, (long)part * batchSize, batchSize), y.narrow(0, (long)part * batchSize, batchSize));
        return Score(model, x, y);
    }

    public LossSum ValidationLoss(nn.Module model, int index, int batches, int batchSize)
    {
        var data = Validation ?? throw new InvalidOperationException("This task has no validation data.");
        var (x, y) = data.Evenly(batchSize, index, batches);
        return Score(model, x, y);
    }

    static LossSum Score(nn.Module model, Tensor x, Tensor y)
    {
        var logits = ((nn.Module<Tensor, Tensor>)model).forward(x);
        var sum = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), y.reshape(-1), reduction: nn.Reduction.Sum);
        return new LossSum(sum, y.numel());
    }
}
